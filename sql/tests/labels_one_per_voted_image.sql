-- labels: one row per voted image, a probability in [0, 1], one method throughout
SELECT 'duplicate' AS problem, image_id FROM main.labels GROUP BY image_id HAVING count(*) > 1
UNION ALL
-- vote_counts holds each voted image once (a DISTINCT over every vote would cost 0.8 s at 12M votes)
SELECT 'missing', image_id FROM main.vote_counts ANTI JOIN main.labels USING (image_id)
UNION ALL
SELECT 'p_yes out of range', image_id FROM main.labels WHERE NOT (p_yes BETWEEN 0 AND 1) OR p_yes IS NULL
UNION ALL
SELECT 'several methods', any_value(image_id) FROM main.labels HAVING count(DISTINCT method) > 1
