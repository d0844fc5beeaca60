-- How often the chosen method's labels are right, measured on gold: the sensitivity and
-- specificity of labels inferred from the votes alone (gold not clamped) against the known answer.
SELECT
    count(*) FILTER (WHERE g.truth) AS gold_pos,
    count(*) FILTER (WHERE g.truth AND c.label_from_votes) AS gold_pos_labelled_yes,
    count(*) FILTER (WHERE NOT g.truth) AS gold_neg,
    count(*) FILTER (WHERE NOT g.truth AND NOT c.label_from_votes) AS gold_neg_labelled_no
FROM intermediate.int_truth_candidates AS c
JOIN intermediate.int_truth_choice AS m USING (method)
JOIN staging.stg_gold AS g USING (image_id)
