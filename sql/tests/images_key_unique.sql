SELECT image_id FROM main.images GROUP BY image_id HAVING count(*) > 1
