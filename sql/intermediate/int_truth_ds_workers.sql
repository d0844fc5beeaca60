-- Each worker's Dawid-Skene confusion matrix: one M-step of Dawid & Skene (1979) on the converged
-- posteriors, i.e. the posterior-weighted share of the worker's answers that are right.
SELECT
    v.worker_id,
    sum(d.p_yes::DOUBLE) FILTER (WHERE v.selected) / nullif(sum(d.p_yes), 0) AS sensitivity,
    sum(1 - d.p_yes) FILTER (WHERE NOT v.selected) / nullif(sum(1 - d.p_yes), 0) AS specificity
FROM main.votes AS v
JOIN intermediate.int_truth_dawid_skene AS d USING (image_id)
GROUP BY v.worker_id
