SELECT image_id, truth
FROM raw.gold
