"""Ad-hoc SQL over a read-only connection, formatted as a table, CSV or JSON.

Whatever DuckDB can return must come out, in a form the next tool reads: temporal values as
DuckDB writes them (an interval, `infinity`, nanoseconds survive), nested values as JSON text in
a CSV cell, and JSON without the NaN/Infinity that strict parsers reject.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator

import duckdb
import polars as pl
import pyarrow as pa
from duckdb.sqltypes import DuckDBPyType

from etl.errors import CrowdauditError, crowdaudit_command, is_interrupt
from etl.warehouse import sql_identifier

FORMATS = ("table", "csv", "json")
TABLE_ROWS = 200
# Rows converted and written at a time: large enough that per-batch work is negligible.
BATCH_ROWS = 100_000
# Type ids polars cannot hold exactly (or at all): shown as DuckDB's own text for them. DuckDB names
# the zoned ones in words: a TIMESTAMPTZ of `infinity` made polars panic, a TIMETZ lost its offset,
# a TIMESTAMPTZ_NS of `infinity` came out as a date in 2262; a GEOMETRY is its WKT.
AS_TEXT = {"interval", "date", "time", "time with time zone", "time_ns", "timestamp", "timestamp_s",
           "timestamp_ms", "timestamp_ns", "timestamp with time zone", "timestamptz_ns", "union", "blob", "bit",
           "varint", "bignum", "uuid", "enum", "variant", "geometry"}
NESTED = {"list", "struct", "map", "array", "tuple"}
# A VARIANT (`typed_value` of duckdb_settings()) reaches polars as its binary encoding.
AS_JSON_IN_JSON = NESTED | {"variant"}
FLOATING = {"double", "float"}
WIDE_INTEGERS = {"hugeint", "uhugeint"}


def query_output(con: duckdb.DuckDBPyConnection, query: str, output_format: str = "table") -> Iterator[str]:
    """The result of one read-only query as text, in pieces to write as they come.

    Rows reach the output a batch at a time, so `SELECT * FROM votes --format csv` of twelve
    million votes holds one batch in memory (0.4 GB) rather than all of them (6.5 GB), and the
    first rows are out before the last are read. A query that fails is refused here, before any
    text; one that fails part-way (a cast meeting a bad value) raises when its rows reach the
    failure, after the rows before it."""
    if not query.strip():
        raise CrowdauditError("the query is empty")
    try:
        statements = con.extract_statements(query)
        if len(statements) > 1:
            raise CrowdauditError(f"the query holds {len(statements)} statements; give one at a time")
        result = con.sql(query)
        if result is None:  # a statement with no rows to show
            return _formatted(pl.DataFrame(), iter(()), [], output_format)
        printable, json_text = _printable(result, output_format)
        reader = printable.to_arrow_reader(BATCH_ROWS)
    except duckdb.CatalogException as error:
        raise CrowdauditError(f"query failed: {error}{_build_hint(con)}") from None
    except duckdb.Error as error:
        if is_interrupt(error):  # a Ctrl-C: said as one (exit 130), not as a fault of the query
            raise
        raise CrowdauditError(f"query failed: {error}") from None
    empty = pl.from_arrow(reader.schema.empty_table())
    assert isinstance(empty, pl.DataFrame)
    return _formatted(empty, _frames(reader), json_text, output_format)


def _frames(reader: pa.RecordBatchReader) -> Iterator[pl.DataFrame]:
    """The reader's batches as frames; a failure part-way as a one-line error (DuckDB's message
    reaches here through Arrow, as an OSError)."""
    try:
        for batch in reader:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            yield frame
    except (duckdb.Error, OSError) as error:
        if is_interrupt(error):
            raise
        raise CrowdauditError(f"query failed: {error}") from None


def _formatted(empty: pl.DataFrame, frames: Iterator[pl.DataFrame], json_text: list[str], output_format: str
               ) -> Iterator[str]:
    """`frames` (with `empty`'s columns) written in `output_format`."""
    if output_format == "csv":
        yield empty.write_csv()  # the header, even when no row comes
        for frame in frames:
            yield frame.write_csv(include_header=False)
    elif output_format == "json":
        yield from _json_array(_parse_json_text(frame.to_dicts(), json_text) for frame in frames)
    else:
        yield _table(empty, frames)


def _json_array(batches: Iterator[list[dict]]) -> Iterator[str]:
    """The rows as one JSON array, exactly as `json.dumps(rows, indent=2)` writes it, a batch at a
    time: each batch is encoded as an array whose brackets are then dropped."""
    encoder = json.JSONEncoder(default=str, indent=2, allow_nan=False)
    first = True
    for rows in batches:
        if not rows:
            continue
        try:
            text = encoder.encode(rows)
        except ValueError:  # a NaN inside a list or struct: null, as for a NaN column
            text = encoder.encode(_finite(rows))
        yield ("[\n" if first else ",\n") + text[2:-2]
        first = False
    yield "[]\n" if first else "\n]\n"


def _table(empty: pl.DataFrame, frames: Iterator[pl.DataFrame]) -> str:
    """The first and last TABLE_ROWS / 2 rows as a table, and how many there are in all: only
    those rows are kept while the rest stream past to be counted."""
    half = TABLE_ROWS // 2
    head, tail, height = empty, empty, 0
    for frame in frames:
        height += frame.height
        if head.height < half:
            taken = half - head.height
            head, frame = pl.concat([head, frame.head(taken)]), frame.slice(taken)
        tail = pl.concat([tail, frame]).tail(half)
    # Past TABLE_ROWS rows, one row stands for all those between head and tail: polars then
    # prints the head, an ellipsis row, and the tail.
    shown = pl.concat([head, tail] if height <= TABLE_ROWS else [head, empty.clear(1), tail])
    buffer = io.StringIO()
    buffer.write(f"shape: ({height:_}, {shown.width})\n")
    with pl.Config(tbl_rows=TABLE_ROWS, tbl_cols=40, fmt_str_lengths=300, tbl_width_chars=300,
                   tbl_hide_column_data_types=True, tbl_hide_dataframe_shape=True):
        print(shown, file=buffer)
    if height > TABLE_ROWS:
        buffer.write(f"{height:,} rows, {TABLE_ROWS} shown: use --format csv or json for all of them\n")
    return buffer.getvalue()


def _printable(result: duckdb.DuckDBPyRelation, output_format: str) -> tuple[duckdb.DuckDBPyRelation, list[str]]:
    """The result with each column polars or the format cannot carry turned into text (or, in
    JSON, a non-finite number into null), and the columns sent as JSON text for the JSON output to
    parse back. Columns are taken by position, so a name a join repeats is converted like any
    other; it comes out as name_2, name_3 (see `unique_names`)."""
    names = unique_names(result.columns)
    json_text: list[str] = []
    expressions, changed = [], names != result.columns
    for position, (name, kind) in enumerate(zip(names, result.types, strict=True), start=1):
        column = f"#{position}"
        quoted = sql_identifier(name)
        type_id = kind.id
        if type_id in AS_JSON_IN_JSON and output_format == "json":
            # DuckDB's JSON of a list, struct or variant, parsed back in _parse_json_text: every digit
            # of a sum, decimals as numbers like a DECIMAL column (not strings), temporal values as
            # text even when polars cannot hold them (infinity), a TIMETZ list as a list, not JSON
            # in a string.
            expression = f"to_json({column})::VARCHAR"
            json_text.append(name)
        elif type_id in AS_TEXT:
            expression = f"{column}::VARCHAR"
        elif type_id in NESTED and (output_format == "csv" or _member_ids(kind) & AS_TEXT):
            expression = f"to_json({column})::VARCHAR"
        elif type_id in FLOATING and output_format == "json":
            expression = f"CASE WHEN isfinite({column}) THEN {column} END"
        elif type_id == "decimal" and output_format == "json":
            expression = f"{column}::DOUBLE"
        elif type_id in WIDE_INTEGERS and output_format == "json":
            # sum() of integers is a HUGEINT, which reaches Python as a Decimal (a string in JSON,
            # digits lost past 38): as text here, a JSON integer in _parse_json_text.
            expression = f"{column}::VARCHAR"
            json_text.append(name)
        else:
            expressions.append(f"{column} AS {quoted}")
            continue
        expressions.append(f"{expression} AS {quoted}")
        changed = True
    return (result.project(", ".join(expressions)) if changed else result), json_text


def unique_names(columns: list[str]) -> list[str]:
    """Column names with each repeat of a name numbered from 2 (n, n -> n, n_2), skipping names
    the query itself gives, so no column is renamed that was not repeated."""
    taken = set(columns)
    seen: set[str] = set()
    names = []
    for name in columns:
        if name in seen:
            number = 2
            while f"{name}_{number}" in taken:
                number += 1
            name = f"{name}_{number}"
            taken.add(name)
        seen.add(name)
        names.append(name)
    return names


def _parse_json_text(rows: list[dict], columns: list[str]) -> list[dict]:
    """Columns sent as DuckDB's JSON text, back as JSON values (Python ints keep a HUGEINT's digits)."""
    for row in rows:
        for column in columns:
            if row[column] is not None:
                row[column] = json.loads(row[column])
    return rows


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def _member_ids(kind: DuckDBPyType) -> set[str]:
    """The type ids inside a nested type, at any depth (a struct's field names aside)."""
    ids: set[str] = set()
    for _, child in kind.children:
        if isinstance(child, DuckDBPyType):  # an ARRAY's children hold its size too
            ids |= {child.id, *(_member_ids(child) if child.id in NESTED | {"union"} else ())}
    return ids


def _build_hint(con: duckdb.DuckDBPyConnection) -> str:
    built = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                        "AND table_name = 'votes'").fetchall()
    return "" if built[0][0] else f" (the marts exist after `{crowdaudit_command('build')}`; raw tables are in schema raw)"
