-- materialized: table
-- Gold-weighted voting: the seed note's posterior P(F | Y1..Yn), generalised to votes that
-- disagree and to workers of different accuracy. Each vote adds its log-likelihood ratio
-- log(se/(1-sp)) for a yes, log((1-se)/sp) for a no, with the voter's gold-measured (shrunk)
-- sensitivity se and specificity sp, to the prior log-odds (naive Bayes; the single-coin case is
-- Nitzan & Paroush 1982's optimal weighted majority). Gold images are clamped to their answer in
-- p_yes; in p_yes_votes a gold image's own answer is left out of its voters' se and sp
-- (leave-one-out), so comparing p_yes_votes with gold measures the method honestly.
--
-- What a worker's se and sp shrink towards, and the prior share of yes images, are fitted by EM
-- to every vote, anchored by the gold answers (a two-class mixture with one sensitivity and one
-- specificity for the whole crowd; Dawid & Skene 1979 with a single shared confusion matrix).
-- The images enter only through (n_votes, n_yes), so each step is a pass over a few dozen groups.
-- Gold alone is too little when it is sparse: 36 gold votes, a third of them from spammers who
-- never tick, once put the crowd's sensitivity at 0.6 and (Rogan-Gladen) the prior at 0.97,
-- and three unanimous "no"s were labelled "yes".
WITH RECURSIVE vote_patterns AS MATERIALIZED (
    -- computed once: without MATERIALIZED DuckDB re-reads the counts at each EM step
    SELECT c.n_votes, c.n_yes, count(*) AS images
    FROM main.vote_counts AS c
    ANTI JOIN staging.stg_gold AS g USING (image_id)
    GROUP BY c.n_votes, c.n_yes
),
em (step, se, sp, prior, moved) AS (
    SELECT 0, sensitivity::DOUBLE, specificity::DOUBLE, least(greatest(prior_yes, 0.05), 0.95)::DOUBLE, 1.0::DOUBLE
    FROM intermediate.int_truth_gold_rates
    UNION ALL
    SELECT
        step + 1, se, sp, prior,
        -- how far this step moved se, sp and the prior (the loop stops under 1e-7)
        greatest(abs(se - was_se), abs(sp - was_sp), abs(prior - was_prior))
    FROM (
        SELECT
            step,
            any_value(was_se) AS was_se,
            any_value(was_sp) AS was_sp,
            any_value(was_prior) AS was_prior,
            -- gold votes count as votes of known truth; Beta(3, 1) as in int_truth_gold_rates
            (sum(images * post * n_yes) + any_value(r.gold_pos_yes) + 3)
                / (sum(images * post * n_votes) + any_value(r.gold_pos_votes) + 4) AS se,
            (sum(images * (1 - post) * (n_votes - n_yes)) + any_value(r.gold_neg_no) + 3)
                / (sum(images * (1 - post) * n_votes) + any_value(r.gold_neg_votes) + 4) AS sp,
            least(greatest(sum(images * post) / sum(images), 0.01), 0.99) AS prior
        FROM (
            SELECT
                e.step, e.se AS was_se, e.sp AS was_sp, e.prior AS was_prior, p.images, p.n_votes, p.n_yes,
                1 / (1 + exp(-(ln(e.prior / (1 - e.prior))
                               + p.n_yes * ln(e.se / (1 - e.sp))
                               + (p.n_votes - p.n_yes) * ln((1 - e.se) / e.sp)))) AS post
            FROM em AS e CROSS JOIN vote_patterns AS p
            WHERE e.step < 200 AND e.moved >= 1e-7
        ) AS expected
        CROSS JOIN intermediate.int_truth_gold_rates AS r
        GROUP BY step
    ) AS maximised
),
crowd_rates AS (
    -- A fit where a yes vote is no evidence of a yes image (se + sp <= 1) is no fit: fall back to the
    -- gold rates and an even prior.
    SELECT
        CASE WHEN e.se + e.sp - 1 >= 0.05 THEN e.se ELSE r.sensitivity END AS sensitivity,
        CASE WHEN e.se + e.sp - 1 >= 0.05 THEN e.sp ELSE r.specificity END AS specificity,
        CASE WHEN e.se + e.sp - 1 >= 0.05 THEN e.prior ELSE 0.5 END AS prior_yes
    FROM (SELECT * FROM em ORDER BY step DESC LIMIT 1) AS e
    CROSS JOIN intermediate.int_truth_gold_rates AS r
),
weighed AS (
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
    CROSS JOIN crowd_rates AS r
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
        r.prior_yes,
        1 / (1 + exp(-(ln(r.prior_yes / (1 - r.prior_yes)) + s.vote_log_odds))) AS p_yes_votes
    FROM scored AS s
    CROSS JOIN crowd_rates AS r
)
SELECT
    p.image_id,
    p.n_votes,
    p.n_yes,
    p.all_wrong_if_unanimous,
    p.prior_yes,
    p.p_yes_votes,
    CASE WHEN g.truth IS NULL THEN p.p_yes_votes WHEN g.truth THEN 1.0 ELSE 0.0 END AS p_yes
FROM posterior AS p
LEFT JOIN staging.stg_gold AS g USING (image_id)
