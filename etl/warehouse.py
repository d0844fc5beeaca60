"""Open the DuckDB warehouse: read-write only while loading or building, read-only otherwise.

DuckDB lets one process write a file at a time, and a writer also keeps readers out. Rather than
let users meet DuckDB's raw lock error, opening waits a while for the other process and then says
plainly what is going on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb

from etl import __version__
from etl.errors import CrowdauditError, crowdaudit_command
from etl.interrupts import interruptible

DEFAULT_WAREHOUSE = Path("warehouse") / "crowdaudit.duckdb"
WAREHOUSE_ENV = "CROWDAUDIT_WAREHOUSE"
LOCK_WAIT_SECONDS = 30.0


class WarehouseBusy(CrowdauditError):
    """Another process holds the warehouse file."""


def sql_identifier(name: str) -> str:
    """A column or table name as a DuckDB identifier, whatever characters it holds."""
    return '"' + name.replace('"', '""') + '"'


def warehouse_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The warehouse to use: an explicit path, else $CROWDAUDIT_WAREHOUSE, else the default."""
    if path:
        return Path(path)
    return Path(os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE)


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every shipped migration, in the order they apply."""
    found = []
    for entry in resources.files("etl.migrations").iterdir():
        stem, _, suffix = entry.name.partition(".")
        if suffix != "sql":
            continue
        version, _, name = stem.partition("_")
        found.append((int(version), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'meta' AND table_name = 'schema_version'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM meta.schema_version").fetchall()[0][0]


def applied_versions(con: duckdb.DuckDBPyConnection) -> set[int]:
    """The migrations this warehouse has taken (not just the newest: one numbered below it may
    have shipped later, and must still apply)."""
    if not schema_version(con):
        return set()
    return {row[0] for row in con.execute("SELECT version FROM meta.schema_version").fetchall()}


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply the migrations this warehouse lacks, each in its own transaction; return their versions."""
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute(
        "CREATE TABLE IF NOT EXISTS meta.schema_version "
        "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    done = applied_versions(con)
    applied = []
    for version, name, sql in migrations():
        if version in done:
            continue
        with transaction(con):
            con.execute(sql)
            if version == 1:
                seed_language_regions(con)
            con.execute(
                "INSERT INTO meta.schema_version VALUES (?, ?, timezone('UTC', now()))", [version, name]
            )
        applied.append(version)
    return applied


def seed_language_regions(con: duckdb.DuckDBPyConnection) -> None:
    """Fill raw.language_regions from the shipped, editable CSV."""
    csv_path = resources.files("etl.data").joinpath("language_regions.csv")
    con.execute(
        "INSERT INTO raw.language_regions "
        "SELECT lower(trim(language)), trim(region) FROM read_csv(?, header = true, all_varchar = true)",
        [str(csv_path)],
    )


def _not_a_database(path: Path) -> CrowdauditError:
    return CrowdauditError(
        f"cannot open warehouse {path}: it is a data file (CSV, Parquet or JSON), not a DuckDB database; "
        "point --warehouse at the .duckdb file")


def _refuse_other_formats(path: Path) -> None:
    """DuckDB opens a SQLite file through its sqlite extension (downloaded when online), so every
    crowdaudit table would be written into someone's SQLite database; an empty file (a failed copy)
    only says "not a valid DuckDB database file"."""
    if path.exists() and not path.is_file() and not path.is_dir():
        # DuckDB waits forever on a named pipe
        raise CrowdauditError(f"cannot open warehouse {path}: it is a pipe, socket or device, not a file")
    if not path.is_file():
        return  # a new warehouse, or a folder, which DuckDB's own message names
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError:
        return
    if head == b"SQLite format 3\x00":
        raise CrowdauditError(f"cannot open warehouse {path}: it is a SQLite database, not a DuckDB one; "
                              "point --warehouse at the .duckdb file, or at a new file to make one")
    if not head and path.stat().st_size == 0:
        raise CrowdauditError(f"cannot open warehouse {path}: the file is empty (0 bytes), not a DuckDB database; "
                              "remove it and crowdaudit makes a new warehouse there")


def _connect_waiting(path: Path, *, read_only: bool, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    _refuse_other_formats(path)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.CatalogException as error:  # a data file opened read-only (see below)
            if "in-memory" not in str(error):
                raise CrowdauditError(f"cannot open warehouse {path}: {error}") from error
            raise _not_a_database(path) from error
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise CrowdauditError(f"cannot open warehouse {path}: {error}") from error
            if time.monotonic() >= deadline:
                holder = ("another process writes it" if read_only else
                          "another process has it open (a crowdaudit command, or a reader such as "
                          "`crowdaudit sql` or a DuckDB shell: DuckDB lets no one write while anyone reads)")
                raise WarehouseBusy(
                    f"warehouse {path} is in use: {holder}; waited {wait_seconds:g} s. Retry when it has "
                    "finished (or raise --wait)."
                ) from error
            time.sleep(0.2)
            continue
        # DuckDB 2.0 opens an existing CSV, Parquet or JSON file as an in-memory database holding a
        # view of it: `--warehouse Batch_1_batch_results.csv ingest ...` said "45 inserted" and
        # kept nothing. A warehouse is a database file, so its connection must have a path.
        in_memory = con.execute(
            "SELECT path IS NULL FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchall()[0][0]
        if in_memory:
            con.close()
            raise _not_a_database(path)
        # DuckDB's progress bar goes to stdout, into `crowdaudit sql --format json > out.json`.
        con.execute("SET enable_progress_bar = false")
        return con


def _refuse_another_database(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """A DuckDB file with tables of its own but no schema version was not made by crowdaudit: read, it
    was called 'an older schema' to upgrade with `build`, which then added the warehouse's tables to it."""
    if con.execute("SELECT count(*) FROM information_schema.tables "
                   "WHERE table_schema = 'meta' AND table_name = 'schema_version'").fetchall()[0][0]:
        return
    others = [name for (name,) in con.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables ORDER BY 1 LIMIT 3").fetchall()]
    if others:
        raise CrowdauditError(
            f"{path} is a DuckDB database but not a crowdaudit warehouse (it holds tables such as "
            f"{', '.join(others)} but no meta.schema_version); point --warehouse at a warehouse, or at a new "
            "file to make one"
        )


@contextmanager
def open_warehouse(
    path: str | os.PathLike[str] | None = None,
    *,
    read_only: bool,
    wait_seconds: float = LOCK_WAIT_SECONDS,
    must_exist: bool = False,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a connection; a read-write one brings the schema up to date first.

    `must_exist`: for a command that writes but only makes sense on data already loaded (labels,
    validate, hits ...): a mistyped --warehouse is refused rather than created empty and reported
    as a success."""
    target = warehouse_path(path)
    if read_only or must_exist:
        if not target.exists():
            raise CrowdauditError(
                f"no warehouse at {target}: load something first "
                "(crowdaudit ingest / load / demo), or point --warehouse at one"
            )
    else:
        blocking = next((parent for parent in target.parents if parent.exists()), None)
        if blocking is not None and not blocking.is_dir():
            raise CrowdauditError(f"cannot create warehouse {target}: {blocking} is a file, not a folder")
        target.parent.mkdir(parents=True, exist_ok=True)
    con = _connect_waiting(target, read_only=read_only, wait_seconds=wait_seconds)
    try:
        _refuse_another_database(con, target)
        known = {v for v, _, _ in migrations()}
        newer = sorted(applied_versions(con) - known)
        if newer:
            # An older crowdaudit would write tables it no longer knows the shape of, and read marts
            # built by rules it does not have, as if all were well.
            raise CrowdauditError(
                f"warehouse {target} was upgraded by a newer crowdaudit (schema migration(s) "
                f"{', '.join(map(str, newer))}, which crowdaudit {__version__} does not know); "
                "upgrade crowdaudit to use it"
            )
        if read_only:
            behind = len(known - applied_versions(con))
            if behind > 0:
                raise CrowdauditError(
                    f"warehouse {target} uses an older schema ({behind} migration(s) behind); "
                    f"run `{crowdaudit_command('build')}` once to upgrade it in place"
                )
        else:
            migrate(con)
        with interruptible(con):
            yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The block's writes all together or not at all (rolled back on any error, Ctrl-C included)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        rollback_if_open(con)
        raise


def rollback_if_open(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back a load's or build's transaction, unless a Ctrl-C during COMMIT already ended it (then
    DuckDB has committed all of it or none; a ROLLBACK error would hide the interruption)."""
    try:
        con.execute("ROLLBACK")
    except duckdb.TransactionException as error:
        if "no transaction is active" not in str(error):
            raise
