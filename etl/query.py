"""Ad-hoc SQL over a read-only connection, formatted as a table, CSV or JSON."""

from __future__ import annotations

import io
import json

import duckdb
import polars as pl

from etl.errors import CrowdauditError

FORMATS = ("table", "csv", "json")


def run_query(con: duckdb.DuckDBPyConnection, query: str, output_format: str = "table") -> str:
    try:
        result = con.sql(query)
        frame = result.pl() if result is not None else pl.DataFrame()
    except duckdb.Error as error:
        raise CrowdauditError(f"query failed: {error}") from None
    if output_format == "csv":
        return frame.write_csv()
    if output_format == "json":
        return json.dumps(frame.to_dicts(), default=str, indent=2) + "\n"
    buffer = io.StringIO()
    with pl.Config(tbl_rows=200, tbl_cols=40, fmt_str_lengths=80, tbl_width_chars=200):
        print(frame, file=buffer)
    return buffer.getvalue()
