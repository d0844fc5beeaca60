-- How sure each label is (the seed note on gold questions, generalised):
--   all_agree_wrong_pooled  Q^n: the probability that n agreeing workers are all wrong, with Q the
--                           pooled gold-measured error rate in the direction they agreed
--                           (P(yes | truly no) when all said yes); NULL when votes disagree
--   all_agree_wrong         the same with each voter's own gold-measured error rate
--   p_yes_gold_weighted     P(yes | votes, prior, each voter's gold-measured accuracy): the seed's
--                           P(F | Y1..Yn) for any mix of votes
--   p_yes_dawid_skene       Dawid & Skene (1979)'s posterior
--   posterior               the probability that the label in `labels` is right, by its method
SELECT
    l.image_id,
    l.label,
    l.method,
    l.n_votes,
    w.n_yes,
    w.n_yes = 0 OR w.n_yes = w.n_votes AS unanimous,
    CASE
        WHEN w.n_yes = w.n_votes THEN pow(r.false_yes_rate, w.n_votes)
        WHEN w.n_yes = 0 THEN pow(r.false_no_rate, w.n_votes)
    END AS all_agree_wrong_pooled,
    CASE WHEN w.n_yes = 0 OR w.n_yes = w.n_votes THEN w.all_wrong_if_unanimous END AS all_agree_wrong,
    w.p_yes AS p_yes_gold_weighted,
    d.p_yes AS p_yes_dawid_skene,
    l.p_yes,
    CASE WHEN l.label THEN l.p_yes ELSE 1 - l.p_yes END AS posterior,
    g.truth IS NOT NULL AS is_gold
FROM main.labels AS l
JOIN intermediate.int_truth_weighted_vote AS w USING (image_id)
LEFT JOIN intermediate.int_truth_dawid_skene AS d USING (image_id)
LEFT JOIN staging.stg_gold AS g USING (image_id)
CROSS JOIN intermediate.int_truth_gold_rates AS r
