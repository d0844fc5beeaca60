-- When the marts were built, and the newest load they include: a load logged after it is not in
-- the marts yet (`crowdaudit report` says so, and so can any query against raw.load_log).
SELECT
    (SELECT max(load_id) FROM raw.load_log) AS last_load_id,
    timezone('UTC', now()) AS built_at  -- UTC, as every time the warehouse keeps
