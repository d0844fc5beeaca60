-- HITs crowdaudit plans and publishes (issue 5). Planned HITs themselves live in raw.hits
-- (status 'planned', a local hit_id) and raw.hit_items (is_gold known); these tables keep what
-- the results file cannot: the design of each batch, the HIT types created, and every publish.

-- One row per `crowdaudit hits build`: the design every HIT of the batch shares.
CREATE TABLE raw.hit_batches (
    batch_id                       VARCHAR PRIMARY KEY,
    created_at                     TIMESTAMP NOT NULL,   -- UTC
    per_hit                        INTEGER NOT NULL,
    max_assignments                INTEGER NOT NULL,
    reward                         DECIMAL(12, 4) NOT NULL,
    gold_per_hit                   INTEGER NOT NULL,
    where_sql                      VARCHAR,
    seed                           BIGINT NOT NULL,
    n_hits                         INTEGER NOT NULL,
    n_images                       INTEGER NOT NULL,
    title                          VARCHAR NOT NULL,
    description                    VARCHAR NOT NULL,
    keywords                       VARCHAR NOT NULL,
    lifetime_in_seconds            BIGINT NOT NULL,
    assignment_duration_in_seconds BIGINT NOT NULL,
    auto_approval_delay_in_seconds BIGINT NOT NULL
);

-- HIT types created on a platform; qualification requirements as the API's JSON.
CREATE TABLE raw.hit_types (
    hit_type_id                 VARCHAR NOT NULL,
    target                      VARCHAR NOT NULL,    -- sandbox | live | an endpoint URL
    batch_id                    VARCHAR NOT NULL,
    qualification_requirements  VARCHAR NOT NULL,
    created_at                  TIMESTAMP NOT NULL,
    PRIMARY KEY (hit_type_id, target)
);

-- One row per HIT published: the local id it was planned under and the platform's id, so a
-- re-run (or a crash between CreateHIT and this row) can be reconciled and never pays twice.
CREATE TABLE raw.publish_log (
    local_hit_id          VARCHAR NOT NULL,
    hit_id                VARCHAR NOT NULL,
    batch_id              VARCHAR NOT NULL,
    hit_type_id           VARCHAR NOT NULL,
    target                VARCHAR NOT NULL,
    unique_request_token  VARCHAR NOT NULL,
    outcome               VARCHAR NOT NULL,   -- created | already_existed
    price                 DECIMAL(14, 4) NOT NULL,
    published_at          TIMESTAMP NOT NULL,
    PRIMARY KEY (local_hit_id, target)
);
