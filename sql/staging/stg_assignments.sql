-- Assignments with the site's approval-rate strings ('100% (94/94)') split into numbers.
SELECT
    assignment_id,
    hit_id,
    worker_id,
    assignment_status,
    accept_time,
    submit_time,
    auto_approval_time,
    approval_time,
    rejection_time,
    requester_feedback,
    work_time_in_seconds,
    selected_slots,
    -- A rate out of no HITs ('0% (0/0)': what the site writes for a worker it gives no history of,
    -- and what `hits results` writes as the API gives none) is no rate at all: NULL, not 0%.
    CASE WHEN NOT regexp_matches(lifetime_approval_rate, '/0+\)')
        THEN TRY_CAST(regexp_extract(lifetime_approval_rate, '^(\d+(?:\.\d+)?)%', 1) AS DOUBLE) / 100
    END AS lifetime_approval_rate,
    TRY_CAST(regexp_extract(lifetime_approval_rate, '\((\d+)/', 1) AS BIGINT) AS lifetime_approved,
    TRY_CAST(regexp_extract(lifetime_approval_rate, '/(\d+)\)', 1) AS BIGINT) AS lifetime_submitted,
    CASE WHEN NOT regexp_matches(last30_days_approval_rate, '/0+\)')
        THEN TRY_CAST(regexp_extract(last30_days_approval_rate, '^(\d+(?:\.\d+)?)%', 1) AS DOUBLE) / 100
    END AS last30_days_approval_rate,
    CASE WHEN NOT regexp_matches(last7_days_approval_rate, '/0+\)')
        THEN TRY_CAST(regexp_extract(last7_days_approval_rate, '^(\d+(?:\.\d+)?)%', 1) AS DOUBLE) / 100
    END AS last7_days_approval_rate,
    load_id
FROM raw.assignments
