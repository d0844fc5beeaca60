"""The gate on every load: a staged batch is validated before it touches the warehouse.

A batch with a failing error expectation is refused (and quarantined, see `quarantine`); one whose
only failures are warnings (an unusually fast worker) is refused too unless the user passed
`--allow-warnings`, and then loads with the warnings in its summary.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from etl.errors import InputFileError
from etl.quality.check import Outcome, run_suite
from etl.quality.quarantine import quarantine
from etl.quality.suites import BATCH_SUITES


class QualityGateFailed(InputFileError):
    """A staged batch that fails its expectation suite; `outcomes` holds every rule's verdict."""

    def __init__(self, path: Path, outcomes: list[Outcome], *, allow_warnings: bool,
                 file_columns: dict[str, str] | None = None):
        self.outcomes = outcomes
        # Errors first: a batch with a fast worker in row 2 and a broken row 9 is refused for row 9
        # even with --allow-warnings, so the message must not send the user to row 2.
        failed = sorted((o for o in outcomes if o.is_error or (o.is_warning and not allow_warnings)),
                        key=lambda o: not o.is_error)
        first = failed[0]
        example = first.examples[0] if first.examples else {}
        row = example.get("source_row")
        others = f" (and {len(failed) - 1} more failed expectation(s))" if len(failed) > 1 else ""
        hint = (" Only warnings failed: pass --allow-warnings to load it anyway."
                if not any(o.is_error for o in failed) else "")
        super().__init__(str(path), f"refused by the quality gate: {first.sentence()}{others}.{hint}",
                         row=row if isinstance(row, int) else None,
                         column=", ".join((file_columns or {}).get(c, c) for c in first.columns))


def check_batch(kind: str, path: Path, frames: dict[str, pl.DataFrame], *, allow_warnings: bool = False,
                file_columns: dict[str, str] | None = None) -> list[str]:
    """Validate a loader's staged frames with the suites for `kind`; return warnings that were allowed.

    Raises QualityGateFailed when an error (or, without allow_warnings, a warning) expectation fails.
    `file_columns` names a staged column as the file's header does, so the message points at a
    column the user can find in the file (WorkTimeInSeconds, not work_time_in_seconds)."""
    outcomes = [outcome for name, suite in BATCH_SUITES[kind].items() if name in frames
                for outcome in run_suite(frames[name], suite, gx_when_clean=False)]
    if any(o.is_error or (o.is_warning and not allow_warnings) for o in outcomes):
        raise QualityGateFailed(Path(path), outcomes, allow_warnings=allow_warnings, file_columns=file_columns)
    return [f"warning (allowed): {o.sentence()}" for o in outcomes if o.is_warning]


def warehouse_file(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The file behind a connection, or None for an in-memory database."""
    found = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    return Path(found[0][0]) if found and found[0][0] else None


@contextmanager
def quarantine_on_refusal(con: duckdb.DuckDBPyConnection, path: Path) -> Iterator[None]:
    """Keep a refused file in quarantine/ beside the warehouse, with why it was refused. An empty
    file is not kept: it holds nothing to inspect, and the refusal ("the file is empty") says all
    there is to say about it."""
    try:
        yield
    except InputFileError as error:
        database = warehouse_file(con)
        if database is not None and Path(path).exists() and not _is_empty_file(Path(path)):
            try:
                kept, is_new = quarantine(database.parent / "quarantine", Path(path), error)
            except OSError as failed:  # a full disk must not hide why the file was refused
                reason = failed.strerror or failed
                error.args = (f"{error.args[0]}\n  (could not keep a copy in quarantine ({reason}))",)
                raise error from None
            where = (f"the file is kept in {kept.parent}" if is_new
                     else f"the same file is already kept in {kept.parent} as {kept.name}")
            error.args = (f"{error.args[0]}\n  ({where}, reasons in {kept.name}.txt)",)
        raise


def _is_empty_file(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size == 0
    except OSError:
        return False
