SELECT image_id FROM main.predictions GROUP BY image_id HAVING count(DISTINCT target_in_top_k) > 1
