"""The screen of `crowdaudit validate`, in DuckDB: which rows of a warehouse query GX must see.

`check.run_suite` screens a polars frame, which for validate meant pulling every table whole into
Python first: 12M votes to check one boolean, 3.5 GB for a million assignments. Here the same
screen runs where the data is (`Rule.suspect_sql`, `Rule.repeats_sql`): one aggregate query per
suite gives the row count and the rules some row could fail, then one more fetches only the
columns the rules need, of the rows those rules suspect plus the first rows as a sample. Counts
stay exact for the same reason as in `check`: a row no rule suspects passes every rule.
"""

from __future__ import annotations

import duckdb
import polars as pl

from etl.quality.check import SAMPLE_ROWS, applicable
from etl.quality.suites import Suite
from etl.warehouse import sql_identifier

# pandas, so GX, takes a NaN of these for a missing value (see `Rule.suspect_sql`).
FLOAT_TYPES = ("float", "double")


def screened_rows(con: duckdb.DuckDBPyConnection, query: str, suite: Suite, *, sample: int = SAMPLE_ROWS
                  ) -> tuple[pl.DataFrame, int]:
    """(the rows of `query` that GX must see for `suite`, in the query's order; its row count)."""
    relation = con.sql(query)
    rules, needed = applicable(suite, relation.columns)
    floats = {name for name, kind in zip(relation.columns, relation.types, strict=True) if kind.id in FLOAT_TYPES}
    source = f"({query})"
    flags = [rule.repeats_sql() if rule.is_key else f"bool_or({rule.suspect_sql(source, floats=floats)})"
             for rule in rules]
    count, *any_suspect = con.execute(f"SELECT {', '.join(['count(*)', *flags])} FROM {source}").fetchall()[0]
    if not rules:  # run_suite skips a suite none of whose rules apply
        return pl.DataFrame(), count
    live = [rule for rule, suspected in zip(rules, any_suspect, strict=True) if suspected]
    columns = ", ".join(map(sql_identifier, needed))
    if not live:
        return con.sql(f"SELECT {columns} FROM {source} LIMIT {sample}").pl(), count
    suspects = " OR ".join(rule.suspect_sql(source, floats=floats) for rule in live)
    # Numbered before the filter, so that the rows keep the query's order (GX's examples are the
    # first failing rows) and the sample is its first rows, as when the whole table was fetched.
    return con.sql(
        f"SELECT {columns} FROM (SELECT *, row_number() OVER () AS __row FROM {source}) "
        f"WHERE __row <= {sample} OR {suspects} ORDER BY __row"
    ).pl(), count
