SELECT image_id FROM main.majority_labels GROUP BY image_id HAVING count(*) > 1
UNION ALL
SELECT image_id FROM main.majority_labels WHERE image_id IS NULL
