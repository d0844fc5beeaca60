"""`crowdaudit validate`: every warehouse suite, and its results kept in meta.dq_results."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import duckdb
import polars as pl

from etl.quality.check import Outcome, run_suite
from etl.quality.sql_screen import screened_rows
from etl.quality.suites import WAREHOUSE_SUITES
from etl.warehouse import transaction


def _exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    schema, _, name = relation.partition(".")
    return con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, name]
    ).fetchall()[0][0] > 0


def validate_warehouse(con: duckdb.DuckDBPyConnection, *, on_suite: Callable[[list[Outcome]], None] | None = None
                       ) -> tuple[list[Outcome], list[str]]:
    """(outcomes of every suite, suites skipped because their table is not built yet);
    `on_suite(outcomes)` is called as each suite is checked (a warehouse of millions of rows takes
    seconds a suite: the user sees them come rather than nothing until the last).

    Tables are screened in DuckDB (`sql_screen`): only the rows GX must see come into Python."""
    outcomes: list[Outcome] = []
    skipped = []
    for warehouse_suite in WAREHOUSE_SUITES:
        suite = warehouse_suite.suite
        if not _exists(con, suite.name):
            skipped.append(suite.name)
            continue
        rows, count = screened_rows(con, warehouse_suite.query, suite)
        checked = run_suite(rows, suite, screen=False, element_count=count)
        outcomes += checked
        if on_suite and checked:
            on_suite(checked)
    return outcomes, skipped


def record_results(con: duckdb.DuckDBPyConnection, outcomes: list[Outcome]) -> int:
    """Append one run to meta.dq_results, all of it or none (a run cut short would be the newest,
    and its missing failures would not show in the report); return its run_id."""
    run_id = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM meta.dq_results").fetchall()[0][0]
    validated_at = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        (run_id, validated_at, o.suite, o.expectation, o.description, o.severity, o.success, o.element_count,
         o.unexpected_count, json.dumps(o.examples, default=str))
        for o in outcomes
    ]
    if rows:  # one transaction: executemany commits row by row, and the report shows the newest run
        with transaction(con):
            con.executemany("INSERT INTO meta.dq_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return run_id


def latest_results(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The newest validate run, failures first (empty when validate never ran)."""
    if not _exists(con, "meta.dq_results"):
        return pl.DataFrame()
    return con.sql(
        "SELECT * FROM meta.dq_results WHERE run_id = (SELECT max(run_id) FROM meta.dq_results) "
        "ORDER BY success, severity, suite, expectation"
    ).pl()
