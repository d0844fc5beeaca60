-- Each worker's Dawid-Skene confusion matrix: one M-step of Dawid & Skene (1979) on the converged
-- posteriors, i.e. the posterior-weighted share of the worker's answers that are right, with the
-- half right and half wrong answer on each side that the fit adds (etl/truth/model.py's
-- PSEUDO_COUNT), so these are the rates the labels were inferred with.
SELECT
    v.worker_id,
    (coalesce(sum(d.p_yes::DOUBLE) FILTER (WHERE v.selected), 0) + 0.5) / (sum(d.p_yes) + 1) AS sensitivity,
    (coalesce(sum(1 - d.p_yes) FILTER (WHERE NOT v.selected), 0) + 0.5) / (sum(1 - d.p_yes) + 1) AS specificity
FROM main.votes AS v
JOIN intermediate.int_truth_dawid_skene AS d USING (image_id)
GROUP BY v.worker_id
