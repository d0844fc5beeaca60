-- materialized: table
-- Gold-weighted voting: the seed note's posterior P(F | Y1..Yn), generalised to votes that
-- disagree and to workers of different accuracy. Each vote adds its log-likelihood ratio
-- log(se/(1-sp)) for a yes, log((1-se)/sp) for a no, with the voter's gold-measured (shrunk)
-- sensitivity se and specificity sp, to the prior log-odds (naive Bayes; the single-coin case is
-- Nitzan & Paroush 1982's optimal weighted majority). Gold images are clamped to their answer in
-- p_yes; in p_yes_votes a gold image's own answer is left out of its voters' se and sp
-- (leave-one-out), so comparing p_yes_votes with gold measures the method honestly.
WITH weighed AS (
    SELECT
        v.image_id,
        v.selected,
        (w.gold_pos_yes - CASE WHEN g.truth AND v.selected THEN 1 ELSE 0 END + 4 * r.sensitivity)
            / (w.gold_pos - CASE WHEN g.truth THEN 1 ELSE 0 END + 4) AS se,
        (w.gold_neg_no - CASE WHEN NOT g.truth AND NOT v.selected THEN 1 ELSE 0 END + 4 * r.specificity)
            / (w.gold_neg - CASE WHEN NOT g.truth THEN 1 ELSE 0 END + 4) AS sp
    FROM main.votes AS v
    JOIN intermediate.int_truth_worker_gold AS w USING (worker_id)
    LEFT JOIN staging.stg_gold AS g USING (image_id)
    CROSS JOIN intermediate.int_truth_gold_rates AS r
),
scored AS (
    SELECT
        image_id,
        count(*) AS n_votes,
        count(*) FILTER (WHERE selected) AS n_yes,
        sum(CASE WHEN selected THEN ln(se / (1 - sp)) ELSE ln((1 - se) / sp) END) AS vote_log_odds,
        -- the probability that every voter is wrong, if the votes agree
        exp(sum(CASE WHEN selected THEN ln(1 - sp) ELSE ln(1 - se) END)) AS all_wrong_if_unanimous
    FROM weighed
    GROUP BY image_id
),
posterior AS (
    SELECT
        s.*,
        1 / (1 + exp(-(ln(r.prior_yes / (1 - r.prior_yes)) + s.vote_log_odds))) AS p_yes_votes
    FROM scored AS s
    CROSS JOIN intermediate.int_truth_gold_rates AS r
)
SELECT
    p.image_id,
    p.n_votes,
    p.n_yes,
    p.all_wrong_if_unanimous,
    p.p_yes_votes,
    CASE WHEN g.truth IS NULL THEN p.p_yes_votes WHEN g.truth THEN 1.0 ELSE 0.0 END AS p_yes
FROM posterior AS p
LEFT JOIN staging.stg_gold AS g USING (image_id)
