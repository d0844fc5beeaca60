-- Every method's label for every voted image, side by side in long form; `labels` keeps one.
-- label_from_votes is the label the votes alone give (gold not clamped, and for gold images fitted
-- without their own answer: cross-fitted for Dawid-Skene, leave-one-out for weighted voting); comparing it with gold
-- measures how often a method's labels are right, which classifier_metrics' noise correction uses.
-- Majority: more yes than no votes; a tie goes to no (as crowd-kit's MajorityVote does for 0/1).
-- Its p_yes is Laplace's rule of succession, (yes + 1) / (votes + 2): the chance that one more
-- worker says yes, knowing nothing of how good the workers are. The raw vote share called one yes
-- vote certain (p_yes 1), so needs_more_votes never listed an image with a single vote.
SELECT
    image_id,
    'majority' AS method,
    n_yes * 2 > n_votes AS label,
    n_yes * 2 > n_votes AS label_from_votes,
    (n_yes + 1) / (n_votes + 2) AS p_yes,
    n_votes
FROM intermediate.int_truth_weighted_vote
UNION ALL
SELECT image_id, 'weighted_vote' AS method, p_yes > 0.5 AS label, p_yes_votes > 0.5 AS label_from_votes, p_yes,
       n_votes
FROM intermediate.int_truth_weighted_vote
UNION ALL
SELECT d.image_id, 'dawid_skene' AS method, d.p_yes > 0.5 AS label,
       coalesce(d.p_yes_held_out, d.p_yes_votes) > 0.5 AS label_from_votes,
       d.p_yes, w.n_votes
FROM intermediate.int_truth_dawid_skene AS d
JOIN intermediate.int_truth_weighted_vote AS w USING (image_id)
