"""The load log: which files the warehouse has taken, so loading the same file twice is a no-op."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import duckdb


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def size_seen_before(con: duckdb.DuckDBPyConnection, kind: str, size_bytes: int) -> bool:
    """Whether an earlier load of `kind` may have had this size (loads logged without one may)."""
    found = con.execute(
        "SELECT count(*) FROM raw.load_log WHERE kind = ? AND (size_bytes = ? OR size_bytes IS NULL)",
        [kind, size_bytes],
    ).fetchall()[0][0]
    return found > 0


def already_loaded(con: duckdb.DuckDBPyConnection, kind: str, sha256: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM raw.load_log WHERE kind = ? AND sha256 = ?", [kind, sha256]
    ).fetchall()[0][0]
    return found > 0


def next_load_id(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM raw.load_log").fetchall()[0][0]


def record_load(
    con: duckdb.DuckDBPyConnection,
    *,
    load_id: int,
    kind: str,
    source_file: Path,
    sha256: str,
    rows_in_file: int,
    rows_inserted: int,
    rows_updated: int,
    started_at: datetime,
    size_bytes: int | None = None,
) -> None:
    """Write the log row inside the load's own transaction, so it exists exactly when the data does."""
    outcome = "loaded" if rows_inserted else "updated"
    con.execute(
        "INSERT INTO raw.load_log (load_id, kind, source_file, sha256, rows_in_file, rows_inserted, "
        "rows_updated, started_at, finished_at, outcome, size_bytes) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, timezone('UTC', now()), ?, ?)",
        [
            load_id,
            kind,
            str(source_file),
            sha256,
            rows_in_file,
            rows_inserted,
            rows_updated,
            started_at,
            outcome,
            size_bytes,
        ],
    )
