-- The seed's rule: a label is true when more than half the votes say so; a tie has no label.
SELECT
    image_id,
    n_votes,
    n_yes,
    CASE
        WHEN n_yes * 2 > n_votes THEN true
        WHEN n_yes * 2 < n_votes THEN false
    END AS majority
FROM main.vote_counts
