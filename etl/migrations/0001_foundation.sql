-- The foundation schema: raw tables written only by loaders, never by SQL models.
-- Raw tables live in schema `raw`; SQL models build `staging` and `intermediate` views and
-- the marts in `main`, so ad-hoc SQL sees marts by their bare names.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS intermediate;

-- One row per successful load that changed the warehouse. Failed or no-op loads leave no trace
-- here, so a refused file leaves every table exactly as it was.
CREATE TABLE raw.load_log (
    load_id       INTEGER PRIMARY KEY,
    kind          VARCHAR NOT NULL,      -- results | images | predictions | gold | votes | ...
    source_file   VARCHAR NOT NULL,
    sha256        VARCHAR NOT NULL,
    rows_in_file  BIGINT NOT NULL,
    rows_inserted BIGINT NOT NULL,
    rows_updated  BIGINT NOT NULL,
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP NOT NULL,
    outcome       VARCHAR NOT NULL       -- loaded | updated
);

-- Language -> region lookup, seeded from etl/data/language_regions.csv and replaceable with
-- `crowdaudit load regions` (migration 0008). Staging reads it at build time, so changing it re-labels old images.
CREATE TABLE raw.language_regions (
    language VARCHAR PRIMARY KEY,        -- lower case
    region   VARCHAR NOT NULL
);

-- Big raw tables carry no PRIMARY KEY: DuckDB's index would dominate load time at millions of
-- rows. Loaders insert with anti-joins and sql/tests check the keys on every build instead.
CREATE TABLE raw.images (
    image_id VARCHAR NOT NULL,           -- the URL workers saw
    path     VARCHAR,                    -- local file, when known
    language VARCHAR,                    -- lower case
    word     VARCHAR,                    -- MMID word id or the word itself
    region   VARCHAR,                    -- only when a manifest says so; else from language_regions
    load_id  INTEGER NOT NULL
);

-- A classifier run (or one imported predictions file). Marts use, per image, the newest run
-- with is_current that covers it.
CREATE TABLE raw.prediction_runs (
    run_id      VARCHAR PRIMARY KEY,
    model       VARCHAR NOT NULL,
    weights     VARCHAR,
    top_k       INTEGER,
    target      VARCHAR,
    source      VARCHAR NOT NULL,        -- csv | classify
    started_at  TIMESTAMP NOT NULL,
    is_current  BOOLEAN NOT NULL DEFAULT true,
    load_id     INTEGER
);

CREATE TABLE raw.image_predictions (
    run_id          VARCHAR NOT NULL,
    image_id        VARCHAR NOT NULL,
    target_in_top_k BOOLEAN NOT NULL
);

CREATE TABLE raw.prediction_labels (
    run_id   VARCHAR NOT NULL,
    image_id VARCHAR NOT NULL,
    rank     INTEGER NOT NULL,           -- 1 = most likely
    label    VARCHAR NOT NULL,
    score    DOUBLE                      -- NULL for predictions imported from CSV
);

-- HIT-level columns of the results CSV (or of a HIT crowdaudit planned/published).
CREATE TABLE raw.hits (
    hit_id                         VARCHAR NOT NULL,
    hit_type_id                    VARCHAR,
    batch_id                       VARCHAR,
    title                          VARCHAR,
    description                    VARCHAR,
    keywords                       VARCHAR,
    reward                         DECIMAL(12, 4),
    creation_time                  TIMESTAMP,   -- UTC
    max_assignments                INTEGER,
    requester_annotation           VARCHAR,
    assignment_duration_in_seconds BIGINT,
    auto_approval_delay_in_seconds BIGINT,
    expiration                     TIMESTAMP,   -- UTC
    number_of_similar_hits         INTEGER,
    lifetime_in_seconds            BIGINT,
    n_slots                        INTEGER,     -- image columns in the design (12 in the seed)
    status                         VARCHAR,
    load_id                        INTEGER
);

-- Which image sits in which slot of a HIT (Input.image<slot>).
CREATE TABLE raw.hit_items (
    hit_id   VARCHAR NOT NULL,
    slot     INTEGER NOT NULL,
    image_id VARCHAR NOT NULL,
    is_gold  BOOLEAN                    -- known when crowdaudit planned the HIT; else NULL
);

-- One row per assignment: every fixed column of the results CSV, timestamps in UTC.
-- Votes are not stored twice: staging explodes selected_slots against hit_items.
CREATE TABLE raw.assignments (
    assignment_id              VARCHAR NOT NULL,
    hit_id                     VARCHAR NOT NULL,
    worker_id                  VARCHAR NOT NULL,
    assignment_status          VARCHAR NOT NULL,
    accept_time                TIMESTAMP,
    submit_time                TIMESTAMP,
    auto_approval_time         TIMESTAMP,
    approval_time              TIMESTAMP,
    rejection_time             TIMESTAMP,
    requester_feedback         VARCHAR,
    work_time_in_seconds       BIGINT,
    lifetime_approval_rate     VARCHAR,     -- as the site writes it: '100% (94/94)'
    last30_days_approval_rate  VARCHAR,
    last7_days_approval_rate   VARCHAR,
    answer_selected            VARCHAR,     -- as submitted: 'image2|image7', '' when none ticked
    selected_slots             INTEGER[] NOT NULL,  -- parsed answer_selected; none_of_the_above = []
    extra                      VARCHAR,     -- JSON of any other Input.*/Answer.* columns
    source_row                 BIGINT,      -- row in the file it came from (header = row 1)
    load_id                    INTEGER NOT NULL
);

-- Votes in long format from elsewhere (`crowdaudit load votes`): task = image_id.
CREATE TABLE raw.external_votes (
    image_id  VARCHAR NOT NULL,
    worker_id VARCHAR NOT NULL,
    selected  BOOLEAN NOT NULL,
    load_id   INTEGER NOT NULL
);

CREATE TABLE raw.gold (
    image_id VARCHAR NOT NULL,        -- URL, or task id for long-format votes
    truth    BOOLEAN NOT NULL,
    load_id  INTEGER NOT NULL
);

-- 95% Wilson score interval for k successes in n trials (Wilson 1927); NULL when n = 0.
-- Kept in the warehouse so ad-hoc SQL in the DuckDB shell can use them too.
CREATE MACRO main.wilson_lo(k, n) AS CASE WHEN n > 0 THEN
    ((k / n) + 1.96 ^ 2 / (2 * n) - 1.96 * sqrt((k / n) * (1 - k / n) / n + 1.96 ^ 2 / (4 * n ^ 2)))
    / (1 + 1.96 ^ 2 / n) END;
CREATE MACRO main.wilson_hi(k, n) AS CASE WHEN n > 0 THEN
    ((k / n) + 1.96 ^ 2 / (2 * n) + 1.96 * sqrt((k / n) * (1 - k / n) / n + 1.96 ^ 2 / (4 * n ^ 2)))
    / (1 + 1.96 ^ 2 / n) END;
