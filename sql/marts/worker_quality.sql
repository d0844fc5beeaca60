-- Per worker: accuracy on gold (raw, smoothed, Wilson interval), sensitivity and specificity on
-- gold (the seed note's p_n and q_n: false_yes_rate is how often the worker says yes to a known
-- no), Dawid & Skene (1979)'s estimates from all their votes, time per image, and flags for
-- workers who answer faster than a floor, who always tick nothing or everything, or whose gold
-- accuracy is below the threshold (raw.truth_settings: 0.70 with >= 3 gold answers by default).
WITH seconds AS (
    -- WorkTimeInSeconds / images in the HIT, per assignment the worker's counted votes come from
    SELECT a.worker_id, median(a.work_time_in_seconds / h.n_images) AS seconds_per_image,
           count(*) AS n_assignments
    FROM staging.stg_assignments AS a
    JOIN (SELECT hit_id, count(*) AS n_images FROM staging.stg_hit_items GROUP BY hit_id) AS h USING (hit_id)
    WHERE a.assignment_id IN (SELECT assignment_id FROM main.votes)
    GROUP BY a.worker_id
),
measured AS (
    SELECT
        w.worker_id,
        w.n_votes,
        w.n_yes,
        w.n_yes / w.n_votes AS yes_rate,
        coalesce(s.n_assignments, 0) AS n_assignments,
        s.seconds_per_image,
        w.gold_answered,
        w.gold_correct,
        w.gold_correct / nullif(w.gold_answered, 0) AS gold_accuracy,
        -- shrunk towards the pooled gold accuracy by four pseudo-answers
        (w.gold_correct + 4 * (r.gold_pos_yes + r.gold_neg_no + 3.0) / (r.gold_pos_votes + r.gold_neg_votes + 4.0))
            / (w.gold_answered + 4) AS gold_accuracy_smoothed,
        wilson_lo(w.gold_correct, w.gold_answered) AS gold_accuracy_lo,
        wilson_hi(w.gold_correct, w.gold_answered) AS gold_accuracy_hi,
        w.gold_pos,
        w.gold_neg,
        w.gold_pos_yes / nullif(w.gold_pos, 0) AS gold_sensitivity,
        w.gold_neg_no / nullif(w.gold_neg, 0) AS gold_specificity,
        1 - w.gold_neg_no / nullif(w.gold_neg, 0) AS false_yes_rate,
        w.sensitivity AS sensitivity_smoothed,
        w.specificity AS specificity_smoothed,
        d.sensitivity AS ds_sensitivity,
        d.specificity AS ds_specificity,
        t.min_seconds_per_image,
        t.low_gold_accuracy,
        t.min_gold_for_flag
    FROM intermediate.int_truth_worker_gold AS w
    CROSS JOIN intermediate.int_truth_gold_rates AS r
    CROSS JOIN raw.truth_settings AS t
    LEFT JOIN seconds AS s USING (worker_id)
    LEFT JOIN intermediate.int_truth_ds_workers AS d USING (worker_id)
)
SELECT
    * EXCLUDE (min_seconds_per_image, low_gold_accuracy, min_gold_for_flag),
    coalesce(seconds_per_image < min_seconds_per_image, false) AS flag_too_fast,
    n_votes >= 10 AND n_yes = 0 AS flag_always_no,
    n_votes >= 10 AND n_yes = n_votes AS flag_always_yes,
    gold_answered >= min_gold_for_flag AND gold_accuracy < low_gold_accuracy AS flag_low_gold_accuracy,
    coalesce(seconds_per_image < min_seconds_per_image, false)
        OR (n_votes >= 10 AND (n_yes = 0 OR n_yes = n_votes))
        OR (gold_answered >= min_gold_for_flag AND gold_accuracy < low_gold_accuracy) AS flagged
FROM measured
