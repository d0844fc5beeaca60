SELECT assignment_id FROM raw.assignments GROUP BY assignment_id HAVING count(*) > 1
