"""Shared fixtures: a fresh warehouse per test, the CLI runner, and results files in the site's format."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import settings

from etl.cli import cli
from etl.simulate import RESULT_HEADER, write_results_csv
from etl.warehouse import open_warehouse

# The same examples on every run and machine: a property test that fails in CI fails again on a
# laptop, and a green run is not a lucky draw. HYPOTHESIS_PROFILE=explore draws new examples
# (and remembers failing ones in .hypothesis/) when hunting for bugs.
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def demo_warehouse_template(tmp_path_factory) -> Path:
    """The demo's warehouse, built once per session; tests copy it (see `copy_of`), never change it."""
    out = tmp_path_factory.mktemp("demo-template")
    result = CliRunner().invoke(cli, ["--warehouse", str(out / "demo.duckdb"), "--silent", "demo", "--out",
                                      str(out / "files")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out / "demo.duckdb"


@pytest.fixture
def browser():
    """A fresh headless Chromium for one test (tests/chromium.py), killed afterwards."""
    from chromium import PipeBrowser

    running = PipeBrowser()
    yield running
    running.close()


def copy_of(warehouse: Path, target: Path) -> Path:
    import shutil

    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(warehouse, target)
    return target


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "wh" / "crowdaudit.duckdb"


@pytest.fixture
def run_cli(warehouse: Path):
    """Invoke the CLI against the test's warehouse; returns the click Result."""
    runner = CliRunner()

    def invoke(*args: str, expect: int | None = 0):
        result = runner.invoke(cli, ["--warehouse", str(warehouse), "--silent", *args], catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, result.output
        return result

    return invoke


def results_rows(hits: dict[str, list[str]], answers: list[dict]) -> pl.DataFrame:
    """A results file frame: `hits` maps HITId -> image URLs by slot; each answer dict gives
    AssignmentId, HITId, WorkerId, selected (e.g. 'image2|image7') and optionally status."""
    n_slots = max(len(urls) for urls in hits.values())
    rows = []
    for answer in answers:
        urls = hits[answer["HITId"]]
        row = {name: "" for name in RESULT_HEADER}
        row.update({
            "HITId": answer["HITId"], "HITTypeId": "3TYPE", "Title": "Weddings", "Description": "d",
            "Keywords": "image, wedding", "Reward": "$0.01", "CreationTime": "Wed Feb 20 11:04:42 PST 2019",
            "MaxAssignments": "3", "AssignmentDurationInSeconds": "3600", "AutoApprovalDelayInSeconds": "259200",
            "Expiration": "Wed Feb 27 11:04:42 PST 2019", "AssignmentId": answer["AssignmentId"],
            "WorkerId": answer["WorkerId"], "AssignmentStatus": answer.get("status", "Submitted"),
            "AcceptTime": "Wed Feb 20 12:00:00 PST 2019", "SubmitTime": "Wed Feb 20 12:01:40 PST 2019",
            "AutoApprovalTime": "Sat Feb 23 12:01:40 PST 2019", "WorkTimeInSeconds": "100",
            "LifetimeApprovalRate": "100% (94/94)", "Last30DaysApprovalRate": "100% (94/94)",
            "Last7DaysApprovalRate": "100% (4/4)",
        })
        if answer.get("status") == "Approved":
            row["ApprovalTime"] = "Thu Feb 21 09:00:00 PST 2019"
        if answer.get("status") == "Rejected":
            row["RejectionTime"] = "Thu Feb 21 09:00:00 PST 2019"
        for slot in range(1, n_slots + 1):
            row[f"Input.image{slot}"] = urls[slot - 1] if slot <= len(urls) else ""
        row["Answer.selected"] = answer["selected"]
        rows.append(row)
    return pl.DataFrame(rows, schema={name: pl.String for name in rows[0]})


@pytest.fixture
def write_results(tmp_path: Path):
    def write(name: str, hits: dict[str, list[str]], answers: list[dict]) -> Path:
        return write_results_csv(results_rows(hits, answers), tmp_path / name)

    return write


def table_fingerprints(path: Path) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent checksum of every table in the warehouse."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        ).fetchall()
        prints = {}
        for schema, table in tables:
            rows = con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
            digest = hashlib.sha256("\n".join(sorted(map(repr, rows))).encode()).hexdigest()
            prints[f"{schema}.{table}"] = (len(rows), digest)
        return prints
    finally:
        con.close()


def query(path: Path, sql: str) -> list[tuple]:
    with open_warehouse(path, read_only=True) as con:
        return con.execute(sql).fetchall()
