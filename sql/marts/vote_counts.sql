SELECT
    image_id,
    count(*) AS n_votes,
    count(*) FILTER (WHERE selected) AS n_yes
FROM main.votes
GROUP BY image_id
