-- The raw tables' keys, which carry no index (see 0001_foundation.sql).
SELECT 'raw.images' AS tbl, image_id AS key FROM raw.images GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'raw.hits', hit_id FROM raw.hits GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'raw.hit_items', hit_id || ' slot ' || slot FROM raw.hit_items GROUP BY hit_id, slot HAVING count(*) > 1
UNION ALL
SELECT 'raw.gold', image_id FROM raw.gold GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'raw.image_predictions', run_id || ' ' || image_id FROM raw.image_predictions
GROUP BY run_id, image_id HAVING count(*) > 1
UNION ALL
SELECT 'raw.assignments', assignment_id FROM raw.assignments GROUP BY ALL HAVING count(*) > 1
