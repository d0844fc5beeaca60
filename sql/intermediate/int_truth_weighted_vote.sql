-- Gold-weighted voting: the seed note's posterior P(F | Y1..Yn), generalised to votes that
-- disagree and to workers of different accuracy. Each vote adds its log-likelihood ratio
-- log(se/(1-sp)) for a yes, log((1-se)/sp) for a no, with the voter's gold-measured (shrunk)
-- sensitivity se and specificity sp, to the prior log-odds (naive Bayes; the single-coin case is
-- Nitzan & Paroush 1982's optimal weighted majority). Gold images are clamped to their answer.
WITH scored AS (
    SELECT
        v.image_id,
        count(*) AS n_votes,
        count(*) FILTER (WHERE v.selected) AS n_yes,
        sum(CASE WHEN v.selected THEN ln(w.sensitivity / (1 - w.specificity))
                 ELSE ln((1 - w.sensitivity) / w.specificity) END) AS vote_log_odds,
        -- the probability that every voter is wrong, if the votes agree
        exp(sum(CASE WHEN v.selected THEN ln(1 - w.specificity) ELSE ln(1 - w.sensitivity) END))
            AS all_wrong_if_unanimous
    FROM main.votes AS v
    JOIN intermediate.int_truth_worker_gold AS w USING (worker_id)
    GROUP BY v.image_id
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
