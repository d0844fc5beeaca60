-- One vote per (assignment, image): the image's slot was ticked or not. Long-format votes loaded
-- with `crowdaudit load votes` join in with no assignment or HIT, except where a results file
-- already holds the same worker's vote on the same image: a batch exported again in long format
-- would otherwise count every vote twice, and the results file is the source it came from.
SELECT
    a.assignment_id,
    a.hit_id,
    a.worker_id,
    h.image_id,
    h.slot,
    list_contains(a.selected_slots, h.slot) AS selected,
    a.assignment_status
FROM staging.stg_assignments AS a
JOIN staging.stg_hit_items AS h USING (hit_id)
UNION ALL
SELECT
    NULL AS assignment_id,
    NULL AS hit_id,
    worker_id,
    image_id,
    NULL AS slot,
    selected,
    'External' AS assignment_status
FROM raw.external_votes AS e
WHERE NOT EXISTS (
    SELECT 1
    FROM staging.stg_assignments AS a
    JOIN staging.stg_hit_items AS h USING (hit_id)
    WHERE a.worker_id = e.worker_id AND h.image_id = e.image_id
)
