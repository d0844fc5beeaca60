-- When a run was whole. A classify run commits batch by batch and is finished with its last one;
-- one killed or stopped half-way keeps NULL until the next run with the same model, weights,
-- top k, target and --not-current finishes it, and the marts leave it out until then (they would
-- mix half of one model's predictions with another's). A CSV load is whole when it is written.
-- Runs recorded before this column are taken as whole.
ALTER TABLE raw.prediction_runs ADD COLUMN finished_at TIMESTAMP;
UPDATE raw.prediction_runs SET finished_at = started_at;
