-- classifier_metrics: the counts add up to n, rates are in [0, 1], and each Wilson interval holds
-- its estimate (exactly: the bounds are 0 and 1 at the ends, migration 12)
SELECT * FROM main.classifier_metrics
WHERE tp + fp + fn + tn <> n
   OR precision NOT BETWEEN 0 AND 1 OR recall NOT BETWEEN 0 AND 1
   OR precision_lo > precision OR precision_hi < precision
