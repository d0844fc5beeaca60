-- Each worker's Dawid-Skene confusion matrix: one M-step of Dawid & Skene (1979) on the converged
-- posteriors, i.e. the posterior-weighted share of the worker's answers that are right, with the
-- right and wrong answers on each side that the fit adds (pseudo_count, etl/truth/model.py's
-- PSEUDO_COUNT: a half), so these are the rates the labels were inferred with.
SELECT
    v.worker_id,
    (coalesce(sum(d.p_yes::DOUBLE) FILTER (WHERE v.selected), 0) + any_value(d.pseudo_count))
        / (sum(d.p_yes) + 2 * any_value(d.pseudo_count)) AS sensitivity,
    (coalesce(sum(1 - d.p_yes) FILTER (WHERE NOT v.selected), 0) + any_value(d.pseudo_count))
        / (sum(1 - d.p_yes) + 2 * any_value(d.pseudo_count)) AS specificity
FROM main.votes AS v
JOIN intermediate.int_truth_dawid_skene AS d USING (image_id)
GROUP BY v.worker_id
