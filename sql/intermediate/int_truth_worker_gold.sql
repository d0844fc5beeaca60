-- materialized: table
-- (a row per worker, read by two models: as a view, each of them aggregated every vote again)
-- Each worker's answers on gold, and sensitivity/specificity shrunk towards the pooled rates by
-- four pseudo-answers (a Beta prior centred on int_truth_gold_rates), so one lucky gold answer
-- does not make a worker perfect. Every voter appears, with zero gold answers if need be.
WITH workers AS (
    SELECT worker_id, count(*) AS n_votes, count(*) FILTER (WHERE selected) AS n_yes
    FROM main.votes
    GROUP BY worker_id
),
gold_answers AS (
    SELECT
        v.worker_id,
        count(*) AS gold_answered,
        count(*) FILTER (WHERE v.selected = g.truth) AS gold_correct,
        count(*) FILTER (WHERE g.truth) AS gold_pos,
        count(*) FILTER (WHERE g.truth AND v.selected) AS gold_pos_yes,
        count(*) FILTER (WHERE NOT g.truth) AS gold_neg,
        count(*) FILTER (WHERE NOT g.truth AND NOT v.selected) AS gold_neg_no
    FROM main.votes AS v
    JOIN staging.stg_gold AS g USING (image_id)
    GROUP BY v.worker_id
)
SELECT
    w.worker_id,
    w.n_votes,
    w.n_yes,
    coalesce(a.gold_answered, 0) AS gold_answered,
    coalesce(a.gold_correct, 0) AS gold_correct,
    coalesce(a.gold_pos, 0) AS gold_pos,
    coalesce(a.gold_pos_yes, 0) AS gold_pos_yes,
    coalesce(a.gold_neg, 0) AS gold_neg,
    coalesce(a.gold_neg_no, 0) AS gold_neg_no,
    (coalesce(a.gold_pos_yes, 0) + 4 * r.sensitivity) / (coalesce(a.gold_pos, 0) + 4) AS sensitivity,
    (coalesce(a.gold_neg_no, 0) + 4 * r.specificity) / (coalesce(a.gold_neg, 0) + 4) AS specificity
FROM workers AS w
LEFT JOIN gold_answers AS a USING (worker_id)
CROSS JOIN intermediate.int_truth_gold_rates AS r
