"""The truth settings row (raw.truth_settings): which method `labels` holds, and thresholds."""

from __future__ import annotations

import duckdb

from etl.errors import CrowdauditError

METHODS = ("auto", "dawid_skene", "weighted_vote", "majority")


def update_truth_settings(
    con: duckdb.DuckDBPyConnection, *, method: str | None = None, target_posterior: float | None = None
) -> None:
    """Change the settings the truth marts read at the next build; None leaves a value as it is."""
    if method is not None and method not in METHODS:
        raise CrowdauditError(f"method {method!r} is not one of {', '.join(METHODS)}")
    if target_posterior is not None and not 0.5 <= target_posterior <= 0.95:
        raise CrowdauditError(f"target posterior {target_posterior} must be between 0.5 and 0.95")
    con.execute(
        "UPDATE raw.truth_settings SET method = coalesce(?, method), "
        "target_posterior = coalesce(?, target_posterior)",
        [method, target_posterior],
    )


def labels_summary(con: duckdb.DuckDBPyConnection) -> dict:
    """What `labels` holds after a build: method, why, how many, how DS converged, accuracy on gold."""
    row = con.sql(
        """
        SELECT
            c.method,
            c.reason,
            (SELECT count(*) FROM main.labels) AS n_labels,
            (SELECT count(*) FILTER (WHERE label) FROM main.labels) AS n_yes,
            (SELECT any_value(iterations) FROM intermediate.int_truth_dawid_skene) AS ds_iterations,
            (SELECT any_value(converged) FROM intermediate.int_truth_dawid_skene) AS ds_converged,
            (SELECT count(*) FROM main.label_confidence WHERE posterior < s.target_posterior AND NOT is_gold)
                AS n_unsure,
            s.target_posterior
        FROM intermediate.int_truth_choice AS c
        CROSS JOIN raw.truth_settings AS s
        """
    ).fetchall()[0]
    names = ("method", "reason", "n_labels", "n_yes", "ds_iterations", "ds_converged", "n_unsure",
             "target_posterior")
    return dict(zip(names, row, strict=True))
