-- The Wilson bounds are 0 at k = 0 and 1 at k = n exactly (the formula gives them only up to
-- rounding: 0.9999999999999998 at 12 of 12, 4.4e-17 at 0 of 11), so an interval always holds its
-- estimate and a query comparing the two, ad hoc or a SQL test, needs no tolerance.
CREATE OR REPLACE MACRO main.wilson_lo(k, n) AS CASE WHEN n > 0 THEN
    CASE WHEN k = 0 THEN 0.0 ELSE
    ((k / n) + 1.96 ^ 2 / (2 * n) - 1.96 * sqrt((k / n) * (1 - k / n) / n + 1.96 ^ 2 / (4 * n ^ 2)))
    / (1 + 1.96 ^ 2 / n) END END;
CREATE OR REPLACE MACRO main.wilson_hi(k, n) AS CASE WHEN n > 0 THEN
    CASE WHEN k = n THEN 1.0 ELSE
    ((k / n) + 1.96 ^ 2 / (2 * n) + 1.96 * sqrt((k / n) * (1 - k / n) / n + 1.96 ^ 2 / (4 * n ^ 2)))
    / (1 + 1.96 ^ 2 / n) END END;
