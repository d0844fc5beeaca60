-- materialized: table
-- (one row, read by the weighted vote's EM at every step: as a view over the votes, DuckDB computed
-- it afresh at each step within a build, 4 s at twelve million votes)
-- How often a vote is right on gold, pooled over every worker: the seed note's P and Q
-- (P(no | truly no) and P(yes | truly no)) and their yes-side twins, plus the prior share of yes.
-- Smoothed with a Beta(3, 1) prior (a worker is assumed right 3 times in 4 until gold says
-- otherwise), so a warehouse without gold still gets usable, if uninformed, rates.
-- The prior P(yes) is the Rogan-Gladen correction of the share of yes votes (Rogan & Gladen
-- 1978, Am. J. Epidemiol. 107:71-76): (yes share - (1 - sp)) / (se + sp - 1).
WITH gold_votes AS (
    SELECT v.selected, g.truth
    FROM main.votes AS v
    JOIN staging.stg_gold AS g USING (image_id)
),
pooled AS (
    SELECT
        count(*) FILTER (WHERE truth) AS gold_pos_votes,
        count(*) FILTER (WHERE truth AND selected) AS gold_pos_yes,
        count(*) FILTER (WHERE NOT truth) AS gold_neg_votes,
        count(*) FILTER (WHERE NOT truth AND NOT selected) AS gold_neg_no
    FROM gold_votes
),
rates AS (
    SELECT
        *,
        (gold_pos_yes + 3.0) / (gold_pos_votes + 4.0) AS sensitivity,
        (gold_neg_no + 3.0) / (gold_neg_votes + 4.0) AS specificity,
        (SELECT avg(selected::INTEGER) FROM main.votes) AS yes_share
    FROM pooled
)
SELECT
    gold_pos_votes,
    gold_pos_yes,
    gold_neg_votes,
    gold_neg_no,
    sensitivity,
    specificity,
    1 - specificity AS false_yes_rate,
    1 - sensitivity AS false_no_rate,
    yes_share,
    CASE
        WHEN yes_share IS NULL THEN 0.5
        WHEN sensitivity + specificity - 1 < 0.05 THEN least(greatest(yes_share, 0.01), 0.99)
        ELSE least(greatest((yes_share - (1 - specificity)) / (sensitivity + specificity - 1), 0.01), 0.99)
    END AS prior_yes
FROM rates
