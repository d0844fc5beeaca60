-- Every method's label for every voted image, side by side in long form; `labels` keeps one.
-- Majority: more yes than no votes; a tie goes to no (as crowd-kit's MajorityVote does for 0/1).
SELECT
    image_id,
    'majority' AS method,
    n_yes * 2 > n_votes AS label,
    n_yes / n_votes AS p_yes,
    n_votes
FROM intermediate.int_truth_weighted_vote
UNION ALL
SELECT image_id, 'weighted_vote' AS method, p_yes > 0.5 AS label, p_yes, n_votes
FROM intermediate.int_truth_weighted_vote
UNION ALL
SELECT d.image_id, 'dawid_skene' AS method, d.p_yes > 0.5 AS label, d.p_yes, w.n_votes
FROM intermediate.int_truth_dawid_skene AS d
JOIN intermediate.int_truth_weighted_vote AS w USING (image_id)
