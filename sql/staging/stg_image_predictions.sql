-- One row per image and prediction run, with the run's time and state: what the predictions mart
-- chooses among (a third of the rows of stg_predictions, which has one per class).
SELECT
    p.image_id,
    r.model,
    r.run_id,
    r.started_at AS run_started_at,
    r.finished_at AS run_finished_at,
    r.is_current,
    p.target_in_top_k
FROM raw.image_predictions AS p
JOIN raw.prediction_runs AS r USING (run_id)
