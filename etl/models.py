"""Run the SQL models under sql/ in dependency order, then the SQL tests.

A model is one SELECT in one file; its file name is the table name and its folder the layer:
staging/ and intermediate/ become views in schemas of those names, marts/ become tables in the
main schema (so ad-hoc SQL sees `votes`, not `marts.votes`). Dependencies are read from the SQL
itself with DuckDB's json_serialize_sql, so nobody maintains a DAG by hand.

Python steps that SQL cannot express well (e.g. an EM loop) register here as `PythonModel`s: a
function that writes one table, with the models it reads declared, run in the same order.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import duckdb

from etl.errors import CrowdauditError, is_interrupt
from etl.hits.pricing import fee_macro_sql
from etl.paths import SQL_DIR
from etl.warehouse import sql_identifier, transaction

LAYER_SCHEMAS = {"staging": "staging", "intermediate": "intermediate", "marts": "main"}
MATERIALIZATION = {"staging": "VIEW", "intermediate": "VIEW", "marts": "TABLE"}
# A model may override its layer's default with a comment line `-- materialized: table` (an
# intermediate step that several marts read over millions of votes is worth computing once).
MATERIALIZED_HINT = re.compile(r"^--\s*materialized:\s*(table|view)\s*$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class SqlModel:
    name: str
    layer: str
    path: Path
    sql: str
    depends_on: frozenset[str] = field(default_factory=frozenset)

    @property
    def relation(self) -> str:
        return f"{LAYER_SCHEMAS[self.layer]}.{self.name}"

    @property
    def materialization(self) -> str:
        hint = MATERIALIZED_HINT.search(self.sql)
        return hint.group(1).upper() if hint else MATERIALIZATION[self.layer]


@dataclass(frozen=True)
class PythonModel:
    """A table written by Python, e.g. Dawid-Skene's EM, placed in the DAG like a SQL model."""

    name: str
    relation: str
    depends_on: frozenset[str]
    build: Callable[[duckdb.DuckDBPyConnection], None]


PYTHON_MODELS: list[PythonModel] = []


def register_python_model(model: PythonModel) -> None:
    PYTHON_MODELS[:] = [m for m in PYTHON_MODELS if m.name != model.name] + [model]


class BuildFailed(CrowdauditError):
    """A model did not build, or a SQL test returned rows."""


def _table_refs(node: object) -> Iterator[tuple[str, str]]:
    """Yield (schema, table) of every BASE_TABLE in a json_serialize_sql tree."""
    if isinstance(node, dict):
        if node.get("type") == "BASE_TABLE" and "table_name" in node:
            yield node.get("schema_name", ""), node["table_name"]
        for value in node.values():
            yield from _table_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _table_refs(value)


def table_references(con: duckdb.DuckDBPyConnection, sql: str) -> set[tuple[str, str]]:
    serialized = con.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0][0]
    tree = json.loads(serialized)
    if tree.get("error"):
        raise BuildFailed(f"cannot parse SQL: {tree.get('error_message')}")
    # A table is declared from what DESCRIBE says of the file, which describes its last statement
    # only, then filled from its first: with two SELECTs the build would fail with a traceback.
    if len(tree["statements"]) != 1:
        raise BuildFailed(f"a model is one SELECT statement; this file holds {len(tree['statements'])}")
    return set(_table_refs(tree))


def python_models(sql_dir: Path) -> list[PythonModel]:
    """Python models belong to the project's own sql/; another models folder builds without them."""
    return list(PYTHON_MODELS) if Path(sql_dir).resolve() == SQL_DIR.resolve() else []


def discover(con: duckdb.DuckDBPyConnection, sql_dir: Path = SQL_DIR) -> list[SqlModel]:
    """Every model under sql_dir with the models it depends on."""
    files = [
        (layer, path)
        for layer in LAYER_SCHEMAS
        for path in sorted((sql_dir / layer).glob("*.sql"))
    ]
    if not files:  # an install that left sql/ out must not "build" nothing and call it a success
        raise BuildFailed(f"no SQL models in {sql_dir} ({', '.join(LAYER_SCHEMAS)}); is the installation complete?")
    by_relation = {f"{LAYER_SCHEMAS[layer]}.{path.stem}": path.stem for layer, path in files}
    by_relation.update({m.relation: m.name for m in python_models(sql_dir)})
    by_bare_name = {name: name for name in by_relation.values()}
    models = []
    for layer, path in files:
        sql = path.read_text(encoding="utf-8").strip().rstrip(";")
        try:
            refs = table_references(con, sql)
        except BuildFailed as error:
            raise BuildFailed(f"{path}: {error}") from None
        depends = set()
        for schema, table in refs:
            key = f"{schema}.{table}" if schema else None
            if key in by_relation:
                depends.add(by_relation[key])
            elif not schema and table in by_bare_name:
                depends.add(table)
        depends.discard(path.stem)
        models.append(SqlModel(path.stem, layer, path, sql, frozenset(depends)))
    return models


def build_order(models: list[SqlModel], sql_dir: Path = SQL_DIR) -> list[SqlModel | PythonModel]:
    nodes: dict[str, SqlModel | PythonModel] = {m.name: m for m in models}
    nodes.update({m.name: m for m in python_models(sql_dir)})
    graph = {name: {d for d in node.depends_on if d in nodes} for name, node in nodes.items()}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as error:
        raise BuildFailed(f"models depend on each other in a cycle: {error.args[1]}") from None
    return [nodes[name] for name in order]


def _materialize(con: duckdb.DuckDBPyConnection, model: SqlModel | PythonModel) -> None:
    if isinstance(model, PythonModel):
        model.build(con)
        return
    kind = model.materialization
    schema = LAYER_SCHEMAS[model.layer]
    existing = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, model.name],
    ).fetchall()
    if existing and (existing[0][0] == "VIEW") != (kind == "VIEW"):
        con.execute(f"DROP {existing[0][0].replace('BASE ', '')} {model.relation}")
    if kind == "VIEW":
        con.execute(f"CREATE OR REPLACE VIEW {model.relation} AS\n{model.sql}")
    else:
        create_table_as(con, model.relation, model.sql)


# Columns holding image URLs are stored with ZSTD, as raw.images' are (migration 14): DuckDB would
# pick DICT_FSST for them, which writes 4M URLs 0.25 s slower into each 4M-row mart and takes four
# to five times the space (vote_counts: 52 MB -> 10 MB). Other columns keep DuckDB's choice:
# ZSTD on the votes' assignment and HIT ids made the marts that read them slower.
ZSTD_COLUMNS = frozenset({"image_id"})


def create_table_as(con: duckdb.DuckDBPyConnection, relation: str, sql: str, parameters: list | None = None) -> None:
    """CREATE OR REPLACE TABLE relation AS sql, with the ZSTD_COLUMNS stored as ZSTD.

    DuckDB has no way to name a column's compression in CREATE TABLE AS nor to alter it later, so
    the table is declared from the query's own column names and types, then filled."""
    columns = con.execute(f"DESCRIBE {sql}", parameters).fetchall()
    names = _unique_names(con, [name for name, *_ in columns])
    declared = ", ".join(
        "{} {}{}".format(sql_identifier(name), type_,
                         " USING COMPRESSION zstd" if name in ZSTD_COLUMNS and type_ == "VARCHAR" else "")
        for name, (_, type_, *_) in zip(names, columns, strict=True)
    )
    con.execute(f"CREATE OR REPLACE TABLE {relation} ({declared})")
    con.execute(f"INSERT INTO {relation}\n{sql}", parameters)


def _unique_names(con: duckdb.DuckDBPyConnection, names: list[str]) -> list[str]:
    """The column names CREATE TABLE AS gives a query's columns: a repeated name (`SELECT *` over a
    join, `1 AS a, 2 AS A`) becomes `a_1`, `a_2`, ..., as DuckDB renames it in a subquery. Declared
    as DESCRIBE prints them, the table would have one column twice and the build would fail."""
    as_subquery = ", ".join(f"NULL AS {sql_identifier(name)}" for name in names)
    return [name for name, *_ in con.execute(f"DESCRIBE SELECT * FROM (SELECT {as_subquery})").fetchall()]


@dataclass
class BuildReport:
    built: list[tuple[str, float]]
    tests_run: int


def run_sql_tests(con: duckdb.DuckDBPyConnection, sql_dir: Path = SQL_DIR, *,
                  on_test: Callable[[str, float], None] | None = None) -> int:
    """Run every sql/tests/*.sql; each must return zero rows. Raise naming the ones that did not.
    `on_test(name, seconds)` after each (over millions of rows they take seconds, as models do)."""
    failures = []
    tests = sorted((sql_dir / "tests").glob("*.sql"))
    for path in tests:
        sql = path.read_text(encoding="utf-8").strip().rstrip(";")
        started = time.perf_counter()
        rows = con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]
        if on_test:
            on_test(path.stem, time.perf_counter() - started)
        if rows:
            example = con.execute(f"SELECT * FROM ({sql}) LIMIT 3").fetchall()
            failures.append(f"{path.stem}: {rows} row(s), e.g. {example}")
    if failures:
        raise BuildFailed("SQL tests failed:\n  " + "\n  ".join(failures))
    return len(tests)


def build(
    con: duckdb.DuckDBPyConnection,
    *,
    sql_dir: Path = SQL_DIR,
    on_model: Callable[[str, float], None] | None = None,
    first: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    on_test: Callable[[str, float], None] | None = None,
) -> BuildReport:
    """Build every model in one transaction, then run the SQL tests; any failure rolls all back.
    `on_model` and `on_test` are called with a name and its seconds as each model or test finishes.

    First runs `first` in that transaction (a change of the settings the models read: it lands
    with the marts it makes or not at all, also when the process is killed), then (re)creates the
    macros the models call whose rule lives in Python (MTurk's fee)."""
    import etl.models_python  # noqa: F401  (registers Python-computed models)

    order = build_order(discover(con, sql_dir), sql_dir)
    built = []
    with transaction(con):
        if first:
            first(con)
        con.execute(fee_macro_sql())
        for model in order:
            started = time.perf_counter()
            try:
                _materialize(con, model)
            except duckdb.Error as error:
                if is_interrupt(error):  # a Ctrl-C, not a fault of the model: said as one (exit 130)
                    raise
                where = getattr(model, "path", model.name)
                raise BuildFailed(f"model {model.name} ({where}) failed: {error}") from None
            seconds = time.perf_counter() - started
            built.append((model.name, seconds))
            if on_model:
                on_model(model.name, seconds)
        tests_run = run_sql_tests(con, sql_dir, on_test=on_test)
    return BuildReport(built=built, tests_run=tests_run)
