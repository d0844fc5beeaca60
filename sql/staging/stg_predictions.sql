-- Every prediction of every run, one row per image and rank; images a run gave no labels still
-- appear once (rank NULL) so their target flag is kept.
SELECT
    p.image_id,
    r.model,
    r.run_id,
    r.started_at AS run_started_at,
    r.finished_at AS run_finished_at,
    r.is_current,
    l.rank,
    l.label,
    l.score,
    p.target_in_top_k
FROM raw.image_predictions AS p
JOIN raw.prediction_runs AS r USING (run_id)
LEFT JOIN raw.prediction_labels AS l USING (run_id, image_id)
