SELECT assignment_id, image_id, count(*) AS n
FROM main.votes
WHERE assignment_id IS NOT NULL
GROUP BY ALL
HAVING count(*) > 1
