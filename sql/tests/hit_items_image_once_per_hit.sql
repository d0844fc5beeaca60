-- An image shown twice in one HIT would give one assignment two votes on it.
SELECT hit_id, image_id FROM raw.hit_items GROUP BY ALL HAVING count(*) > 1
