-- One row per (truth_source, grouping, grp): two rows of one group would each hold part of it.
SELECT truth_source, grouping, grp, count(*) AS n_rows
FROM main.classifier_metrics
GROUP BY ALL
HAVING count(*) > 1
