-- The votes people count: rejected assignments' votes are left out.
SELECT
    v.assignment_id,
    v.hit_id,
    v.worker_id,
    v.image_id,
    v.slot,
    v.selected,
    g.image_id IS NOT NULL AS is_gold
FROM intermediate.int_votes AS v
LEFT JOIN staging.stg_gold AS g USING (image_id)
WHERE v.assignment_status <> 'Rejected'
