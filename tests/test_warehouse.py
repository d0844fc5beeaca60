"""The warehouse file: versioned schema, upgrades in place, read-only unless loading."""

from __future__ import annotations

import os

import duckdb
import pytest

from etl import warehouse as wh
from etl.errors import CrowdauditError
from etl.warehouse import open_warehouse


def test_first_use_creates_the_schema_and_records_every_migration(warehouse):
    with wh.open_warehouse(warehouse, read_only=False) as con:
        versions = [v for (v,) in con.execute("SELECT version FROM meta.schema_version ORDER BY 1").fetchall()]
    assert versions == [v for v, _, _ in wh.migrations()]
    assert versions[0] == 1


def test_an_older_warehouse_upgrades_in_place_keeping_its_data(warehouse, monkeypatch):
    all_migrations = wh.migrations()
    monkeypatch.setattr(wh, "migrations", lambda: all_migrations[:1])
    with wh.open_warehouse(warehouse, read_only=False) as con:
        con.execute("INSERT INTO raw.gold VALUES ('https://x.example/a.jpg', true, 1)")
    monkeypatch.setattr(wh, "migrations", lambda: all_migrations + [(999, "test_extra", "CREATE TABLE raw.extra (x INT);")])
    with pytest.raises(CrowdauditError, match="older schema"), wh.open_warehouse(warehouse, read_only=True):
        pass
    with wh.open_warehouse(warehouse, read_only=False) as con:
        assert con.execute("SELECT max(version) FROM meta.schema_version").fetchall() == [(999,)]
        assert con.execute("SELECT count(*) FROM raw.gold").fetchall() == [(1,)]
        assert con.execute("SELECT count(*) FROM raw.extra").fetchall() == [(0,)]


def test_a_migration_numbered_below_the_newest_still_applies(warehouse, monkeypatch):
    all_migrations = wh.migrations()
    monkeypatch.setattr(wh, "migrations", lambda: [*all_migrations, (999, "later", "CREATE TABLE raw.later (x INT);")])
    with wh.open_warehouse(warehouse, read_only=False):
        pass
    # A release ships a migration numbered between those a warehouse already took.
    monkeypatch.setattr(wh, "migrations", lambda: sorted(
        [*all_migrations, (500, "gap", "CREATE TABLE raw.gap (x INT);"), (999, "later", "CREATE TABLE raw.later (x INT);")]))
    with pytest.raises(CrowdauditError, match="1 migration"), wh.open_warehouse(warehouse, read_only=True):
        pass
    with wh.open_warehouse(warehouse, read_only=False) as con:
        assert con.execute("SELECT count(*) FROM raw.gap").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM meta.schema_version WHERE version = 500").fetchall() == [(1,)]


def test_a_failing_migration_leaves_the_previous_version(warehouse, monkeypatch):
    all_migrations = wh.migrations()
    with wh.open_warehouse(warehouse, read_only=False):
        pass
    monkeypatch.setattr(wh, "migrations", lambda: all_migrations + [(999, "broken", "CREATE TABLE raw.y (x INT); SELEC;")])
    with pytest.raises(duckdb.Error), wh.open_warehouse(warehouse, read_only=False):
        pass
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("SELECT max(version) FROM meta.schema_version").fetchall()[0][0] == all_migrations[-1][0]
        assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'y'").fetchall() == [(0,)]
    finally:
        con.close()


@pytest.mark.parametrize("read_only", [False, True])
def test_a_warehouse_upgraded_by_a_newer_crowdaudit_is_refused_not_used_as_if_current(warehouse, monkeypatch,
                                                                                       read_only):
    all_migrations = wh.migrations()
    monkeypatch.setattr(wh, "migrations", lambda: [*all_migrations, (999, "future", "CREATE TABLE raw.future (x INT);")])
    with wh.open_warehouse(warehouse, read_only=False):
        pass
    monkeypatch.setattr(wh, "migrations", lambda: all_migrations)
    with pytest.raises(CrowdauditError, match=r"upgraded by a newer crowdaudit \(schema migration\(s\) 999, .*"
                       "upgrade crowdaudit"), wh.open_warehouse(warehouse, read_only=read_only):
        pass


@pytest.mark.parametrize("read_only", [False, True])
def test_another_duckdb_database_is_refused_not_called_an_older_warehouse_and_filled(tmp_path, read_only):
    other = tmp_path / "sales.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE orders AS SELECT 1 AS id")
    con.close()
    with pytest.raises(CrowdauditError, match=r"sales.duckdb is a DuckDB database but not a crowdaudit warehouse "
                       r"\(it holds tables such as main.orders"), wh.open_warehouse(other, read_only=read_only):
        pass
    con = duckdb.connect(str(other), read_only=True)
    try:
        assert con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall() == [
            ("main", "orders")]
    finally:
        con.close()


def test_reading_a_missing_warehouse_says_how_to_make_one(tmp_path):
    with pytest.raises(CrowdauditError, match="no warehouse at"), wh.open_warehouse(tmp_path / "nope.duckdb", read_only=True):
        pass


def test_the_warehouse_path_comes_from_the_environment_when_not_given(monkeypatch, tmp_path):
    monkeypatch.setenv(wh.WAREHOUSE_ENV, str(tmp_path / "env.duckdb"))
    assert wh.warehouse_path(None) == tmp_path / "env.duckdb"
    assert wh.warehouse_path(tmp_path / "x.duckdb") == tmp_path / "x.duckdb"
    monkeypatch.delenv(wh.WAREHOUSE_ENV)
    assert wh.warehouse_path(None) == wh.DEFAULT_WAREHOUSE


def test_connections_never_draw_duckdbs_progress_bar_into_stdout(tmp_path):
    for read_only in (False, True):
        with open_warehouse(tmp_path / "wh.duckdb", read_only=read_only) as con:
            assert con.sql("SELECT current_setting('enable_progress_bar')").fetchall() == [(False,)]


def test_upgrading_gives_every_published_batch_its_hit_type_row(warehouse, monkeypatch):
    # Before migration 11 a HIT type had one row, for the first batch that used it: the second
    # batch of the same design had none (so its target and its Masters fee were unknown).
    all_migrations = wh.migrations()
    monkeypatch.setattr(wh, "migrations", lambda: [m for m in all_migrations if m[0] < 11])
    with wh.open_warehouse(warehouse, read_only=False) as con:
        con.execute("INSERT INTO raw.hit_types VALUES ('3TYPE', 'sandbox', 'crowdaudit-1', '[masters]', "
                    "TIMESTAMP '2026-01-01 10:00')")
        con.executemany("INSERT INTO raw.publish_log VALUES (?, ?, ?, '3TYPE', 'sandbox', ?, 'created', 0.06, ?)", [
            ["local-1-1", "3H1", "crowdaudit-1", "t1", "2026-01-01 10:01"],
            ["local-2-1", "3H2", "crowdaudit-2", "t2", "2026-02-01 09:00"],
            ["local-2-2", "3H3", "crowdaudit-2", "t3", "2026-02-01 09:01"]])
    monkeypatch.setattr(wh, "migrations", lambda: all_migrations)
    with wh.open_warehouse(warehouse, read_only=False) as con:
        rows = con.execute("SELECT batch_id, qualification_requirements, created_at::VARCHAR FROM raw.hit_types "
                           "ORDER BY 1").fetchall()
    assert rows == [("crowdaudit-1", "[masters]", "2026-01-01 10:00:00"),
                    ("crowdaudit-2", "[masters]", "2026-02-01 09:00:00")]


@pytest.mark.parametrize("read_only", [False, True])
def test_a_data_file_given_as_the_warehouse_is_refused_not_loaded_into_memory(tmp_path, read_only):
    # DuckDB 2.0 opens a CSV as an in-memory database with a view of it: every write was lost.
    data = tmp_path / "Batch_1_batch_results.csv"
    data.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(CrowdauditError, match="is a data file .* not a DuckDB database"), \
            open_warehouse(data, read_only=read_only):
        pass
    assert data.read_text(encoding="utf-8") == "a,b\n1,2\n"


@pytest.mark.parametrize("read_only", [False, True])
def test_a_sqlite_database_given_as_the_warehouse_is_refused_and_left_untouched(tmp_path, read_only):
    # DuckDB opens it through its sqlite extension (a download, when online) and would write into it.
    import sqlite3

    other = tmp_path / "labels.db"
    with sqlite3.connect(other) as sqlite:
        sqlite.execute("CREATE TABLE answers (worker TEXT)")
    before = other.read_bytes()
    with pytest.raises(CrowdauditError, match="it is a SQLite database, not a DuckDB one"), \
            open_warehouse(other, read_only=read_only):
        pass
    assert other.read_bytes() == before


def test_an_empty_file_or_a_named_pipe_as_the_warehouse_is_one_line_that_says_what_it_is(tmp_path):
    empty = tmp_path / "crowdaudit.duckdb"
    empty.touch()
    with pytest.raises(CrowdauditError, match=r"the file is empty \(0 bytes\).*remove it"), \
            open_warehouse(empty, read_only=False):
        pass
    pipe = tmp_path / "pipe.duckdb"
    os.mkfifo(pipe)  # DuckDB waited on it forever
    with pytest.raises(CrowdauditError, match="it is a pipe, socket or device"), open_warehouse(pipe, read_only=True):
        pass


def test_ingest_into_a_csv_named_as_the_warehouse_says_so_instead_of_reporting_rows_inserted(
        tmp_path, write_results):
    from click.testing import CliRunner

    from etl.cli import cli

    batch = write_results("Batch_1_batch_results.csv", {"H": ["https://x.example/1.jpg"]},
                          [{"AssignmentId": "A", "HITId": "H", "WorkerId": "W", "selected": "image1"}])
    mistaken = tmp_path / "gold.csv"
    mistaken.write_text("url,truth\nhttps://x.example/1.jpg,1\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--warehouse", str(mistaken), "ingest", str(batch)])
    assert result.exit_code == 1, result.output
    assert "inserted" not in result.output and "not a DuckDB database" in result.output
    result = CliRunner().invoke(cli, ["--warehouse", str(mistaken), "sql", "SELECT 1"])
    assert result.exit_code == 1 and "not a DuckDB database" in result.output


# Migration 0009 as it first shipped (commit e6cf6c0), before `outcome` was written into it.
HIT_EXTENSIONS_AS_FIRST_SHIPPED = """
CREATE TABLE raw.hit_extensions (
    batch_id VARCHAR NOT NULL, hit_id VARCHAR NOT NULL, from_assignments INTEGER NOT NULL,
    extra INTEGER NOT NULL, reward DECIMAL(12, 4) NOT NULL, unique_request_token VARCHAR NOT NULL,
    target VARCHAR NOT NULL, planned_at TIMESTAMP NOT NULL, done_at TIMESTAMP,
    PRIMARY KEY (unique_request_token)
);
"""


def test_a_warehouse_that_took_migration_9_before_it_was_edited_gets_the_outcome_column(warehouse, monkeypatch):
    all_migrations = wh.migrations()
    first_shipped = [(v, n, HIT_EXTENSIONS_AS_FIRST_SHIPPED if v == 9 else sql) for v, n, sql in all_migrations
                     if v <= 9]
    monkeypatch.setattr(wh, "migrations", lambda: first_shipped)
    with wh.open_warehouse(warehouse, read_only=False) as con:
        con.executemany("INSERT INTO raw.hit_extensions VALUES ('b', ?, 3, 2, 0.05, ?, 'sandbox', "
                        "TIMESTAMP '2026-11-23 17:10', ?)",
                        [["3H1", "t1", "2026-11-23 17:11"], ["3H2", "t2", None]])
    monkeypatch.setattr(wh, "migrations", lambda: all_migrations)
    with wh.open_warehouse(warehouse, read_only=False) as con:
        assert con.execute("SELECT hit_id, done_at IS NOT NULL, outcome FROM raw.hit_extensions ORDER BY 1"
                           ).fetchall() == [("3H1", True, "added"), ("3H2", False, None)]
        # As `hits extend` writes its plan (etl/hits/manage.py: _write_plan).
        con.execute("INSERT INTO raw.hit_extensions VALUES ('b', '3H3', 3, 2, 0.05, 't3', 'sandbox', "
                    "TIMESTAMP '2026-11-24 09:00', NULL, NULL)")


def test_the_outcome_migration_leaves_a_current_warehouse_as_it_was(warehouse, monkeypatch):
    all_migrations = wh.migrations()
    monkeypatch.setattr(wh, "migrations", lambda: [m for m in all_migrations if m[1] != "hit_extensions_outcome"])
    with wh.open_warehouse(warehouse, read_only=False) as con:
        con.execute("INSERT INTO raw.hit_extensions VALUES ('b', '3H1', 3, 2, 0.05, 't1', 'sandbox', "
                    "TIMESTAMP '2026-11-23 17:10', TIMESTAMP '2026-11-23 17:11', 'abandoned: expired')")
    monkeypatch.setattr(wh, "migrations", lambda: all_migrations)
    with wh.open_warehouse(warehouse, read_only=False) as con:
        assert con.execute("SELECT outcome FROM raw.hit_extensions").fetchall() == [("abandoned: expired",)]
        assert [c for (c,) in con.execute("SELECT column_name FROM information_schema.columns WHERE "
                                          "table_name = 'hit_extensions' ORDER BY ordinal_position").fetchall()
                ][-2:] == ["done_at", "outcome"]


IMAGE_URL_TABLES = ("images", "hit_items")
OTHER_IMAGE_URL_TABLES = ("image_predictions", "prediction_labels", "gold", "external_votes")


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return con.execute("SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                       "WHERE table_schema = 'raw' AND table_name = ? ORDER BY ordinal_position", [table]).fetchall()


def _url_compression(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    con.execute("CHECKPOINT")
    return {c for (c,) in con.execute(f"SELECT DISTINCT compression FROM pragma_storage_info('raw.{table}') "
                                      "WHERE column_name = 'image_id' AND segment_type = 'VARCHAR'").fetchall()}


def _upgrade_keeps_rows_and_stores_urls_with_zstd(warehouse, monkeypatch, version: int, tables: tuple[str, ...],
                                                   fill) -> None:
    """Make a warehouse without migration `version`, `fill(con)` its tables, upgrade it: each of
    `tables` keeps its columns and rows, and its image_id column is ZSTD afterwards only."""
    all_migrations = wh.migrations()
    monkeypatch.setattr(wh, "migrations", lambda: [m for m in all_migrations if m[0] < version])
    with wh.open_warehouse(warehouse, read_only=False) as con:
        before = {t: _columns(con, t) for t in tables}
        fill(con)
        rows_before = {t: con.execute(f"SELECT * FROM raw.{t} ORDER BY ALL").fetchall() for t in tables}
        assert all("ZSTD" not in _url_compression(con, t) for t in tables)
    monkeypatch.setattr(wh, "migrations", lambda: all_migrations)
    with wh.open_warehouse(warehouse, read_only=False) as con:
        for table in tables:
            assert _columns(con, table) == before[table]
            assert con.execute(f"SELECT * FROM raw.{table} ORDER BY ALL").fetchall() == rows_before[table]
            assert _url_compression(con, table) == {"ZSTD"}


def test_upgrading_stores_image_urls_with_zstd_keeping_every_row_and_column(warehouse, monkeypatch):
    # Migration 14 rebuilds raw.images and raw.hit_items (DuckDB cannot alter a column's
    # compression): ad-hoc SQL and every loader must find the same columns and rows after it.
    urls = [f"https://x.example/hindi/{i}/0{i % 10}.jpg" for i in range(500)]

    def fill(con):
        con.executemany("INSERT INTO raw.images VALUES (?, ?, 'hindi', ?, NULL, 7)",
                        [[u, f"/data/{i}.jpg" if i % 2 else None, str(i)] for i, u in enumerate(urls)])
        con.executemany("INSERT INTO raw.hit_items VALUES (?, ?, ?, ?)",
                        [[f"3H{i // 12}", i % 12 + 1, u, None if i % 3 else i % 2 == 0] for i, u in enumerate(urls)])

    _upgrade_keeps_rows_and_stores_urls_with_zstd(warehouse, monkeypatch, 14, IMAGE_URL_TABLES, fill)
    with wh.open_warehouse(warehouse, read_only=True) as con:  # a new warehouse's tables are declared so too
        assert "USING COMPRESSION ZSTD" in con.execute(
            "SELECT sql FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name = 'hit_items'").fetchall()[0][0]


def test_upgrading_stores_the_other_image_urls_with_zstd_keeping_every_row_and_column(warehouse, monkeypatch):
    # Migration 15 rebuilds the tables of predictions, gold and long-format votes as 14 did images
    # and hit_items: every column and row stays, NULLs and the load each came from included.
    urls = [f"https://x.example/tamil/{i}/0{i % 10}.jpg" for i in range(300)]

    def fill(con):
        con.executemany("INSERT INTO raw.image_predictions VALUES (?, ?, ?)",
                        [[f"run{i % 2}", u, i % 3 == 0] for i, u in enumerate(urls)])
        con.executemany("INSERT INTO raw.prediction_labels VALUES (?, ?, ?, ?, ?)",
                        [[f"run{i % 2}", u, rank, f"class {rank}", None if i % 4 else rank / 10]
                         for i, u in enumerate(urls) for rank in (1, 2, 3)])
        con.executemany("INSERT INTO raw.gold VALUES (?, ?, ?)", [[u, i % 2 == 0, 3] for i, u in enumerate(urls[:90])])
        con.executemany("INSERT INTO raw.external_votes VALUES (?, ?, ?, ?)",
                        [[u, f"W{i % 7}", i % 5 == 0, 4] for i, u in enumerate(urls)])

    _upgrade_keeps_rows_and_stores_urls_with_zstd(warehouse, monkeypatch, 15, OTHER_IMAGE_URL_TABLES, fill)


def _raw_table_contract(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """What ad-hoc SQL and the loaders rely on in the rebuilt tables: columns in order with their
    types, defaults and constraints."""
    tables = list(OTHER_IMAGE_URL_TABLES)
    columns = con.execute("SELECT table_name, ordinal_position, column_name, data_type, is_nullable, column_default "
                          "FROM information_schema.columns WHERE table_schema = 'raw' AND table_name IN ? "
                          "ORDER BY ALL", [tables]).fetchall()
    constraints = con.execute("SELECT table_name, constraint_type, constraint_text FROM duckdb_constraints() "
                              "WHERE schema_name = 'raw' AND table_name IN ? ORDER BY ALL", [tables]).fetchall()
    return columns + constraints


def test_a_built_warehouse_reads_the_same_through_its_views_and_marts_after_migration_15(
        warehouse, tmp_path, run_cli, monkeypatch):
    # A nightly `load` upgrades a built warehouse: the staging views made before migration 15 name
    # the tables it drops and renames, and must answer the same before the next build, as the
    # marts must after it.
    all_migrations = wh.migrations()
    monkeypatch.setattr(wh, "migrations", lambda: [m for m in all_migrations if m[0] < 15])
    urls = [f"https://x.example/tamil/{i}/0{i % 10}.jpg" for i in range(40)]
    predictions = tmp_path / "image_paths_and_predictions.csv"
    predictions.write_text(",path,predictions,predictions_include_groom_or_bridegroom\n" + "".join(
        f"{i},{u},\"['groom', 'suit', 'class {i}']\",True\n" if i % 3 else f"{i},{u},\"['cake', 'suit', 'tie']\",False\n"
        for i, u in enumerate(urls)))
    (tmp_path / "gold.csv").write_text("url,truth\n" + "".join(f"{u},{i % 2 == 0}\n" for i, u in enumerate(urls[:10])))
    (tmp_path / "votes.csv").write_text("task,worker,label\n" + "".join(
        f"{u},W{(i + k) % 6},{(i * k) % 3 == 0:d}\n" for i, u in enumerate(urls) for k in range(3)))
    run_cli("load", "predictions", str(predictions))
    run_cli("load", "gold", str(tmp_path / "gold.csv"))
    run_cli("load", "votes", str(tmp_path / "votes.csv"))
    run_cli("build")
    views = ("staging.stg_gold", "staging.stg_image_predictions", "staging.stg_predictions", "intermediate.int_votes")
    marts = ("predictions", "votes", "vote_counts", "majority_labels", "classifier_metrics")
    with wh.open_warehouse(warehouse, read_only=True) as con:
        contract = _raw_table_contract(con)
        read = {name: con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall() for name in views + marts}
    assert all(read.values())
    monkeypatch.setattr(wh, "migrations", lambda: all_migrations)
    with wh.open_warehouse(warehouse, read_only=False):
        pass
    with wh.open_warehouse(warehouse, read_only=True) as con:
        assert 15 in wh.applied_versions(con)
        assert _raw_table_contract(con) == contract
        for name in views:
            assert con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall() == read[name], name
    run_cli("build")
    with wh.open_warehouse(warehouse, read_only=True) as con:
        for name in marts:
            assert con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall() == read[name], name
