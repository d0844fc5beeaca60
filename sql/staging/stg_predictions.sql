-- Every prediction of every run, one row per image and rank; images a run gave no labels still
-- appear once (rank NULL) so their target flag is kept.
SELECT
    p.image_id,
    p.model,
    p.run_id,
    p.run_started_at,
    p.run_finished_at,
    p.is_current,
    l.rank,
    l.label,
    l.score,
    p.target_in_top_k
FROM staging.stg_image_predictions AS p
LEFT JOIN raw.prediction_labels AS l USING (run_id, image_id)
