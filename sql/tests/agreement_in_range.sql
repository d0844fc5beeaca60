-- agreement: one row per grouping and group; kappa and alpha at most 1
SELECT grouping, grp FROM main.agreement GROUP BY grouping, grp HAVING count(*) > 1
UNION ALL
SELECT grouping, grp FROM main.agreement WHERE fleiss_kappa > 1 + 1e-9 OR krippendorff_alpha > 1 + 1e-9
