SELECT * FROM main.vote_counts WHERE n_yes > n_votes OR n_votes = 0
