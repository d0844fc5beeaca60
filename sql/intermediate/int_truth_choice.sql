-- Which method `labels` holds, and why. `crowdaudit labels --method` sets raw.truth_settings;
-- 'auto' takes the best the data supports: Dawid-Skene when the median worker has enough votes
-- to estimate a confusion matrix, else gold-weighted voting when there is gold, else majority.
WITH per_worker AS (
    SELECT worker_id, count(*) AS n_votes
    FROM main.votes
    GROUP BY worker_id
),
facts AS (
    SELECT
        (SELECT coalesce(median(n_votes), 0) FROM per_worker) AS median_votes_per_worker,
        (SELECT count(*) FROM per_worker) AS n_workers,
        (SELECT gold_pos_votes + gold_neg_votes FROM intermediate.int_truth_gold_rates) AS gold_votes,
        s.method AS requested,
        s.min_median_votes_per_worker
    FROM raw.truth_settings AS s
),
-- Counts as people write them: 12 and 4.5, not 12.0.
said AS (
    SELECT
        *,
        regexp_replace(round(median_votes_per_worker, 1)::VARCHAR, '\.0$', '')
            || CASE WHEN median_votes_per_worker = 1 THEN ' vote' ELSE ' votes' END AS median_said,
        regexp_replace(round(min_median_votes_per_worker, 1)::VARCHAR, '\.0$', '') AS minimum_said
    FROM facts
)
SELECT
    * EXCLUDE (median_said, minimum_said),
    CASE
        WHEN requested <> 'auto' THEN requested
        WHEN median_votes_per_worker >= min_median_votes_per_worker THEN 'dawid_skene'
        WHEN gold_votes > 0 THEN 'weighted_vote'
        ELSE 'majority'
    END AS method,
    CASE
        WHEN requested <> 'auto' THEN 'chosen with crowdaudit labels --method ' || requested
        WHEN n_workers = 0 THEN 'no votes yet: majority until there are some'
        WHEN median_votes_per_worker >= min_median_votes_per_worker THEN
            'median worker has ' || median_said || ', at least the ' || minimum_said || ' Dawid-Skene needs'
        WHEN gold_votes > 0 THEN
            'fallback: median worker has only ' || median_said || ', fewer than the '
            || minimum_said || ' Dawid-Skene needs; using gold-weighted voting'
        ELSE
            'fallback: median worker has only ' || median_said || ', fewer than the '
            || minimum_said || ' Dawid-Skene needs, and there is no gold to weigh workers by; using majority'
    END AS reason
FROM said
