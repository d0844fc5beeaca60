-- The image URL columns of the other raw tables get ZSTD too, as raw.images' and raw.hit_items'
-- did in migration 14 (and the marts' image_id columns do at every build): predictions, their
-- labels (three rows per image), gold and long-format votes. DuckDB has no ALTER for a column's
-- compression, so each table is rebuilt with the same columns and rows.
CREATE TABLE raw.image_predictions_zstd (
    run_id          VARCHAR NOT NULL,
    image_id        VARCHAR NOT NULL USING COMPRESSION zstd,
    target_in_top_k BOOLEAN NOT NULL
);
INSERT INTO raw.image_predictions_zstd SELECT run_id, image_id, target_in_top_k FROM raw.image_predictions;
DROP TABLE raw.image_predictions;
ALTER TABLE raw.image_predictions_zstd RENAME TO image_predictions;

CREATE TABLE raw.prediction_labels_zstd (
    run_id   VARCHAR NOT NULL,
    image_id VARCHAR NOT NULL USING COMPRESSION zstd,
    rank     INTEGER NOT NULL,           -- 1 = most likely
    label    VARCHAR NOT NULL,
    score    DOUBLE                      -- NULL for predictions imported from CSV
);
INSERT INTO raw.prediction_labels_zstd SELECT run_id, image_id, rank, label, score FROM raw.prediction_labels;
DROP TABLE raw.prediction_labels;
ALTER TABLE raw.prediction_labels_zstd RENAME TO prediction_labels;

CREATE TABLE raw.gold_zstd (
    image_id VARCHAR NOT NULL USING COMPRESSION zstd,  -- URL, or task id for long-format votes
    truth    BOOLEAN NOT NULL,
    load_id  INTEGER NOT NULL
);
INSERT INTO raw.gold_zstd SELECT image_id, truth, load_id FROM raw.gold;
DROP TABLE raw.gold;
ALTER TABLE raw.gold_zstd RENAME TO gold;

-- Votes in long format from elsewhere (`crowdaudit load votes`): task = image_id.
CREATE TABLE raw.external_votes_zstd (
    image_id  VARCHAR NOT NULL USING COMPRESSION zstd,
    worker_id VARCHAR NOT NULL,
    selected  BOOLEAN NOT NULL,
    load_id   INTEGER NOT NULL
);
INSERT INTO raw.external_votes_zstd SELECT image_id, worker_id, selected, load_id FROM raw.external_votes;
DROP TABLE raw.external_votes;
ALTER TABLE raw.external_votes_zstd RENAME TO external_votes;
