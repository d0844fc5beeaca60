SELECT * FROM main.classifier_metrics
WHERE tp + fp + fn + tn <> n
   OR precision NOT BETWEEN 0 AND 1 OR recall NOT BETWEEN 0 AND 1
   OR precision_lo > precision OR precision_hi < precision
