-- needs_more_votes: unsure, non-gold images only, each once, at least one extra assignment
SELECT image_id FROM main.needs_more_votes GROUP BY image_id HAVING count(*) > 1
UNION ALL
SELECT image_id FROM main.needs_more_votes
WHERE posterior >= target_posterior OR extra_assignments < 1
   OR image_id IN (SELECT image_id FROM staging.stg_gold)
