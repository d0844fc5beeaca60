-- Every image of a truth source sits in exactly one region and one language group.
SELECT g.truth_source, g.grouping, sum(g.n) AS n_in_groups, any_value(a.n) AS n_all
FROM main.classifier_metrics AS g
JOIN main.classifier_metrics AS a ON a.truth_source = g.truth_source AND a.grouping = 'all'
WHERE g.grouping IN ('region', 'language')
GROUP BY ALL
HAVING sum(g.n) <> any_value(a.n)
