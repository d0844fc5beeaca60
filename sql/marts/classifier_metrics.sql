-- The classifier's precision, recall and F1 against each source of truth, overall, by region and
-- by language. Positive = the target class (groom) is in the classifier's top k. Images with no
-- truth from a source (a tied vote, no votes, no gold) are left out of that source.
WITH predicted AS (
    SELECT DISTINCT image_id, target_in_top_k AS predicted
    FROM main.predictions
),
truths AS (
    SELECT 'majority' AS truth_source, image_id, majority AS truth
    FROM main.majority_labels
    WHERE majority IS NOT NULL
    UNION ALL
    SELECT 'gold' AS truth_source, image_id, truth
    FROM staging.stg_gold
),
scored AS (
    SELECT t.truth_source, t.truth, p.predicted, i.region, i.language
    FROM truths AS t
    JOIN predicted AS p USING (image_id)
    LEFT JOIN main.images AS i USING (image_id)
),
counts AS (
    SELECT
        truth_source,
        CASE
            WHEN grouping(region) = 0 THEN 'region'
            WHEN grouping(language) = 0 THEN 'language'
            ELSE 'all'
        END AS grouping,
        coalesce(
            CASE WHEN grouping(region) = 0 THEN coalesce(region, 'unknown') END,
            CASE WHEN grouping(language) = 0 THEN coalesce(language, 'unknown') END,
            'all'
        ) AS grp,
        count(*) AS n,
        count(*) FILTER (WHERE predicted AND truth) AS tp,
        count(*) FILTER (WHERE predicted AND NOT truth) AS fp,
        count(*) FILTER (WHERE NOT predicted AND truth) AS fn,
        count(*) FILTER (WHERE NOT predicted AND NOT truth) AS tn
    FROM scored
    GROUP BY GROUPING SETS ((truth_source), (truth_source, region), (truth_source, language))
)
SELECT
    truth_source,
    grouping,
    grp,
    n,
    tp,
    fp,
    fn,
    tn,
    tp / nullif(tp + fp, 0) AS precision,
    tp / nullif(tp + fn, 0) AS recall,
    2 * tp / nullif(2 * tp + fp + fn, 0) AS f1,
    wilson_lo(tp, tp + fp) AS precision_lo,
    wilson_hi(tp, tp + fp) AS precision_hi,
    wilson_lo(tp, tp + fn) AS recall_lo,
    wilson_hi(tp, tp + fn) AS recall_hi
FROM counts
