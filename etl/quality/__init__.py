"""Data quality: Great Expectations suites over staged batches and the warehouse.

`suites` declares the expectations (versioned here, in code); `check` runs them on pandas frames;
`gate` refuses a staged batch that fails and `quarantine` keeps it aside with the reasons;
`results` runs `crowdaudit validate` (with `sql_screen` picking, in DuckDB, the rows of each
table GX must see) and stores its outcome in the warehouse for the report.
Great Expectations itself is imported only inside `check.run_suite`, so other commands stay fast.
"""
