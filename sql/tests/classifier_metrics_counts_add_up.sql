-- classifier_metrics: the counts add up to n, rates are in [0, 1], and each Wilson interval holds
-- its estimate (to rounding: at 12 of 12 the upper bound comes out 0.9999999999999998, not 1)
SELECT * FROM main.classifier_metrics
WHERE tp + fp + fn + tn <> n
   OR precision NOT BETWEEN 0 AND 1 OR recall NOT BETWEEN 0 AND 1
   OR precision_lo > precision + 1e-12 OR precision_hi < precision - 1e-12
