-- How much workers agree beyond chance, overall and per region, on images with >= 2 votes.
-- Fleiss' kappa (Fleiss 1971, "Measuring nominal scale agreement among many raters", Psychol.
-- Bull. 76(5):378-382), each image's agreement taken over its own number of raters n_i:
--   P_i = (yes_i^2 + no_i^2 - n_i) / (n_i (n_i - 1)),  kappa = (mean P_i - P_e) / (1 - P_e),
--   P_e = p^2 + (1 - p)^2, p = share of yes votes.
-- Krippendorff's alpha, nominal (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability",
-- Annenberg School for Communication), from the coincidence matrix of pairable votes (n of them):
--   alpha = 1 - (n - 1) * sum_i 2 yes_i no_i / (n_i - 1) / (2 n_yes n_no).
WITH per_image AS (
    -- vote_counts already holds each image's n_i and yes_i: no second pass over every vote.
    SELECT c.image_id, coalesce(i.region, 'unknown') AS region, c.n_votes AS n_i, c.n_yes AS yes_i
    FROM main.vote_counts AS c
    LEFT JOIN main.images AS i USING (image_id)
    WHERE c.n_votes >= 2
),
sums AS (
    SELECT
        CASE WHEN grouping(region) = 0 THEN 'region' ELSE 'all' END AS grouping,
        CASE WHEN grouping(region) = 0 THEN region ELSE 'all' END AS grp,
        count(*) AS n_images,
        sum(n_i) AS n_votes,
        sum(yes_i) AS n_yes,
        avg((yes_i * yes_i + (n_i - yes_i) * (n_i - yes_i) - n_i) / (n_i * (n_i - 1.0))) AS observed_agreement,
        sum(2.0 * yes_i * (n_i - yes_i) / (n_i - 1)) AS disagreeing_pairs
    FROM per_image
    GROUP BY GROUPING SETS ((), (region))
),
worker_regions AS (
    -- each worker once per region first: counting distinct workers over every vote in each
    -- grouping set costs 40% more
    SELECT DISTINCT v.worker_id, p.region
    FROM main.votes AS v
    JOIN per_image AS p USING (image_id)
),
workers AS (
    SELECT
        CASE WHEN grouping(region) = 0 THEN region ELSE 'all' END AS grp,
        CASE WHEN grouping(region) = 0 THEN 'region' ELSE 'all' END AS grouping,
        count(DISTINCT worker_id) AS n_workers
    FROM worker_regions
    GROUP BY GROUPING SETS ((), (region))
),
chance AS (
    SELECT *, pow(n_yes / n_votes, 2) + pow(1 - n_yes / n_votes, 2) AS expected_agreement
    FROM sums
)
SELECT
    c.grouping,
    c.grp,
    c.n_images,
    c.n_votes,
    w.n_workers,
    c.n_votes / c.n_images AS votes_per_image,
    c.n_yes / c.n_votes AS yes_share,
    c.observed_agreement,
    c.expected_agreement,
    (c.observed_agreement - c.expected_agreement) / nullif(1 - c.expected_agreement, 0) AS fleiss_kappa,
    1 - (c.n_votes - 1) * c.disagreeing_pairs / nullif(2.0 * c.n_yes * (c.n_votes - c.n_yes), 0)
        AS krippendorff_alpha
FROM chance AS c
JOIN workers AS w USING (grouping, grp)
WHERE c.n_images > 0
