-- label_confidence: posteriors of the chosen label are >= 0.5 and every probability is in [0, 1]
SELECT image_id
FROM main.label_confidence
WHERE posterior < 0.5 - 1e-12 OR posterior > 1
   OR NOT coalesce(all_agree_wrong_pooled BETWEEN 0 AND 1, true)
   OR NOT coalesce(all_agree_wrong BETWEEN 0 AND 1, true)
   OR NOT (p_yes_gold_weighted BETWEEN 0 AND 1)
   OR (image_id IN (SELECT image_id FROM staging.stg_gold)
       AND label IS DISTINCT FROM (SELECT truth FROM staging.stg_gold AS g WHERE g.image_id = label_confidence.image_id)
       AND method <> 'majority')
