-- Truth inference settings (issue 3): which method `labels` holds and the thresholds the truth
-- marts use. One row; `crowdaudit labels --method ...` and `crowdaudit labels --target ...` change it.
CREATE TABLE raw.truth_settings (
    id                          INTEGER PRIMARY KEY CHECK (id = 1),
    -- auto | dawid_skene | weighted_vote | majority; auto = the best the data supports
    method                      VARCHAR NOT NULL DEFAULT 'auto'
        CHECK (method IN ('auto', 'dawid_skene', 'weighted_vote', 'majority')),
    -- below this median of votes per worker, Dawid-Skene cannot estimate confusion matrices
    min_median_votes_per_worker DOUBLE NOT NULL DEFAULT 10,
    -- needs_more_votes: images whose label posterior is under this
    target_posterior            DOUBLE NOT NULL DEFAULT 0.8 CHECK (target_posterior BETWEEN 0.5 AND 0.95),
    -- worker_quality flags
    low_gold_accuracy           DOUBLE NOT NULL DEFAULT 0.70,
    min_gold_for_flag           INTEGER NOT NULL DEFAULT 3,
    min_seconds_per_image       DOUBLE NOT NULL DEFAULT 1.0,
    -- reward per assignment for images with no HIT (long-format votes); NULL = cost unknown
    default_reward              DECIMAL(12, 4)
);
INSERT INTO raw.truth_settings (id) VALUES (1);
