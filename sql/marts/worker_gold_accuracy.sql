-- How often each worker agrees with the known answer on gold images.
SELECT
    v.worker_id,
    count(*) AS gold_answered,
    count(*) FILTER (WHERE v.selected = g.truth) AS gold_correct,
    count(*) FILTER (WHERE v.selected = g.truth) / count(*) AS accuracy
FROM main.votes AS v
JOIN staging.stg_gold AS g USING (image_id)
GROUP BY v.worker_id
