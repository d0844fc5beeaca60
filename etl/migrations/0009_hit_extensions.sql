-- `crowdaudit hits extend` writes its plan here before it calls the platform, and marks each HIT
-- done in the same transaction that raises the HIT's max_assignments. A run killed half-way is
-- finished by the next run (same tokens, same extra per HIT) rather than planned afresh, which
-- would add assignments a second time to the HITs already extended.
CREATE TABLE raw.hit_extensions (
    batch_id              VARCHAR NOT NULL,
    hit_id                VARCHAR NOT NULL,
    from_assignments      INTEGER NOT NULL,   -- max_assignments when the extension was planned
    extra                 INTEGER NOT NULL,
    reward                DECIMAL(12, 4) NOT NULL,
    unique_request_token  VARCHAR NOT NULL,
    target                VARCHAR NOT NULL,
    planned_at            TIMESTAMP NOT NULL,
    done_at               TIMESTAMP,          -- NULL: not settled yet (the next `hits extend` settles it)
    outcome               VARCHAR,            -- added | abandoned: <why> (the HIT expired or is gone)
    PRIMARY KEY (unique_request_token)
);
