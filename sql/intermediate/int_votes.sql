-- One vote per (assignment, image): the image's slot was ticked or not. Long-format votes loaded
-- with `crowdaudit load votes` join in with no assignment or HIT.
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
FROM raw.external_votes
