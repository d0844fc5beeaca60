-- The classifier's precision, recall and F1 against each source of truth, overall, by region and
-- by language. Positive = the target class (groom) is in the classifier's top k. Images with no
-- truth from a source (a tied vote, no votes, no gold) are left out of that source.
-- truth_source 'labels' is the labels mart (Dawid-Skene or the method `crowdaudit labels` chose).
-- Its noise-corrected precision and recall undo the labels' own errors, measured on gold as the
-- sensitivity se and specificity sp of the labels the votes alone give: among images the
-- classifier calls positive, P(truth) = (share labelled yes + sp - 1) / (se + sp - 1) (Rogan &
-- Gladen 1978, Am. J. Epidemiol. 107:71-76), likewise among those it calls negative, and recall
-- follows by Bayes. The interval is the delta method's 95% over the four estimated shares
-- (Agresti-Coull-adjusted binomial variances). They use non-gold images only (gold labels are
-- clamped, so error-free) and assume label errors are independent of the classifier's given
-- the truth; se and sp are pooled over all gold, not per region.
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
    UNION ALL
    SELECT 'labels' AS truth_source, image_id, label AS truth
    FROM main.labels
),
scored AS (
    -- one 'unknown' group for an image of an unknown language and one the warehouse never registered
    SELECT t.truth_source, t.truth, p.predicted,
           coalesce(i.region, 'unknown') AS region, coalesce(i.language, 'unknown') AS language,
           t.image_id IN (SELECT image_id FROM staging.stg_gold) AS is_gold
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
            CASE WHEN grouping(region) = 0 THEN region END,
            CASE WHEN grouping(language) = 0 THEN language END,
            'all'
        ) AS grp,
        count(*) AS n,
        count(*) FILTER (WHERE predicted AND truth) AS tp,
        count(*) FILTER (WHERE predicted AND NOT truth) AS fp,
        count(*) FILTER (WHERE NOT predicted AND truth) AS fn,
        count(*) FILTER (WHERE NOT predicted AND NOT truth) AS tn,
        count(*) FILTER (WHERE predicted AND NOT is_gold) AS noisy_predicted,
        count(*) FILTER (WHERE predicted AND NOT is_gold AND truth) AS noisy_predicted_yes,
        count(*) FILTER (WHERE NOT predicted AND NOT is_gold) AS noisy_not_predicted,
        count(*) FILTER (WHERE NOT predicted AND NOT is_gold AND truth) AS noisy_not_predicted_yes
    FROM scored
    GROUP BY GROUPING SETS ((truth_source), (truth_source, region), (truth_source, language))
),
label_rates AS (
    -- the labels' sensitivity and specificity on gold, with Agresti-Coull variances
    SELECT
        gold_pos_labelled_yes / nullif(gold_pos, 0) AS se,
        gold_neg_labelled_no / nullif(gold_neg, 0) AS sp,
        (gold_pos_labelled_yes + 2.0) / (gold_pos + 4) * (gold_pos - gold_pos_labelled_yes + 2.0)
            / (gold_pos + 4) / (gold_pos + 4) AS var_se,
        (gold_neg_labelled_no + 2.0) / (gold_neg + 4) * (gold_neg - gold_neg_labelled_no + 2.0)
            / (gold_neg + 4) / (gold_neg + 4) AS var_sp
    FROM intermediate.int_truth_label_accuracy
),
shares AS (
    SELECT
        c.*,
        r.se,
        r.sp,
        r.var_se,
        r.var_sp,
        r.se + r.sp - 1 AS j,
        c.noisy_predicted_yes / nullif(c.noisy_predicted, 0) AS a1,
        c.noisy_not_predicted_yes / nullif(c.noisy_not_predicted, 0) AS a0,
        (c.noisy_predicted_yes + 2.0) * (c.noisy_predicted - c.noisy_predicted_yes + 2.0)
            / pow(c.noisy_predicted + 4.0, 3) AS var_a1,
        (c.noisy_not_predicted_yes + 2.0) * (c.noisy_not_predicted - c.noisy_not_predicted_yes + 2.0)
            / pow(c.noisy_not_predicted + 4.0, 3) AS var_a0
    FROM counts AS c
    CROSS JOIN label_rates AS r
),
corrected AS (
    -- A side with no image (none predicted yes, or none no) has no share to correct: its t is
    -- NULL, not the 0 that greatest() makes of a NULL share (which printed a precision of 0%, with
    -- an interval, for a group where the classifier called no image positive).
    SELECT
        *,
        CASE WHEN truth_source = 'labels' AND j > 0.05 AND noisy_predicted > 0
             THEN least(greatest((a1 + sp - 1) / j, 0), 1) END AS t1,
        CASE WHEN truth_source = 'labels' AND j > 0.05 AND noisy_not_predicted > 0
             THEN least(greatest((a0 + sp - 1) / j, 0), 1) END AS t0
    FROM shares
),
weighted AS (
    -- For recall an empty side weighs nothing: with no image predicted yes the recall is 0, with
    -- none predicted no it is 1 (NULL when no image is truly positive, or the labels say nothing).
    SELECT *, coalesce(t1, 0) AS w1, coalesce(t0, 0) AS w0
    FROM corrected
),
gradients AS (
    SELECT
        *,
        w1 * noisy_predicted / nullif(w1 * noisy_predicted + w0 * noisy_not_predicted, 0) AS recall_c,
        (var_a1 + t1 * t1 * var_se + (1 - t1) * (1 - t1) * var_sp) / (j * j) AS var_precision_c,
        -- d recall / d t1 and d recall / d t0
        noisy_predicted * noisy_not_predicted * w0
            / nullif(pow(w1 * noisy_predicted + w0 * noisy_not_predicted, 2), 0) AS dr_dt1,
        -noisy_predicted * noisy_not_predicted * w1
            / nullif(pow(w1 * noisy_predicted + w0 * noisy_not_predicted, 2), 0) AS dr_dt0
    FROM weighted
),
intervals AS (
    SELECT
        *,
        (pow(dr_dt1, 2) * var_a1 + pow(dr_dt0, 2) * var_a0
            + pow(dr_dt1 * w1 + dr_dt0 * w0, 2) * var_se
            + pow(dr_dt1 * (1 - w1) + dr_dt0 * (1 - w0), 2) * var_sp) / (j * j) AS var_recall_c
    FROM gradients
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
    wilson_hi(tp, tp + fn) AS recall_hi,
    CASE WHEN t1 IS NOT NULL OR t0 IS NOT NULL THEN se END AS labels_sensitivity,
    CASE WHEN t1 IS NOT NULL OR t0 IS NOT NULL THEN sp END AS labels_specificity,
    t1 AS precision_corrected,
    -- greatest/least skip NULLs: without the CASE a missing estimate would get the interval [0, 1]
    CASE WHEN t1 IS NOT NULL THEN greatest(t1 - 1.96 * sqrt(var_precision_c), 0) END AS precision_corrected_lo,
    CASE WHEN t1 IS NOT NULL THEN least(t1 + 1.96 * sqrt(var_precision_c), 1) END AS precision_corrected_hi,
    recall_c AS recall_corrected,
    CASE WHEN recall_c IS NOT NULL THEN greatest(recall_c - 1.96 * sqrt(var_recall_c), 0) END AS recall_corrected_lo,
    CASE WHEN recall_c IS NOT NULL THEN least(recall_c + 1.96 * sqrt(var_recall_c), 1) END AS recall_corrected_hi
FROM intervals
