"""Truth inference and worker quality (issue 3): Dawid-Skene, gold-weighted voting, agreement.

The SQL side lives in sql/intermediate/int_truth_*.sql and sql/marts/{worker_quality,
label_confidence,labels,agreement,needs_more_votes}.sql; this package holds what SQL cannot
express well (the EM loop) and the simulated crowds the tests and bench use.
"""
