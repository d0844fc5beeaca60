-- The labels people use: one per voted image, from the method int_truth_choice picked
-- (see `crowdaudit labels`). p_yes is that method's probability that the image shows the target.
SELECT c.image_id, c.label, c.p_yes, c.method, c.n_votes
FROM intermediate.int_truth_candidates AS c
JOIN intermediate.int_truth_choice AS m USING (method)
