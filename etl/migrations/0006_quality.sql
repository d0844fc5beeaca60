-- Data quality (issue 6): every run of `crowdaudit validate`, one row per expectation.
-- Written by `validate`, never by loaders or SQL models; `main.dq_results` shows it beside the marts.
CREATE TABLE meta.dq_results (
    run_id           INTEGER NOT NULL,
    validated_at     TIMESTAMP NOT NULL,    -- UTC
    suite            VARCHAR NOT NULL,      -- the table or mart validated, e.g. raw.assignments
    expectation      VARCHAR NOT NULL,      -- GX expectation and its columns
    description      VARCHAR NOT NULL,
    severity         VARCHAR NOT NULL,      -- critical | warning
    success          BOOLEAN NOT NULL,
    element_count    BIGINT NOT NULL,
    unexpected_count BIGINT NOT NULL,
    examples         VARCHAR                -- JSON list of failing rows, by their key columns
);

CREATE VIEW main.dq_results AS SELECT * FROM meta.dq_results;
