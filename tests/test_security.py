"""Security basics: `sql` cannot write or reach files and the network; no command prints AWS credentials."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import copy_of, query, table_fingerprints

from etl.cli import cli

ACCESS_KEY = "AKIAQUALITYTEST00042"
SECRET_KEY = "qualityTestSecret/0123456789abcdefGHIJKLMNOPqrstuv"
SESSION_TOKEN = "qualityTestSessionToken0123456789"


@pytest.fixture(scope="module")
def demo_warehouse(demo_warehouse_template, tmp_path_factory) -> Path:
    return copy_of(demo_warehouse_template, tmp_path_factory.mktemp("security") / "demo.duckdb")


@pytest.mark.parametrize("statement", [
    "INSERT INTO raw.gold VALUES ('https://x.example/1.jpg', true, 1)",
    "DELETE FROM raw.assignments",
    "CREATE TABLE main.evil AS SELECT 1",
    "ATTACH '{tmp}/other.duckdb' AS other",
    "ATTACH ':memory:' AS scratch",
    "COPY (SELECT * FROM raw.assignments) TO '{tmp}/leak.csv'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SET enable_external_access = true",
])
def test_sql_cannot_write_or_reach_outside_the_warehouse(statement, demo_warehouse, tmp_path):
    before = table_fingerprints(demo_warehouse)
    (tmp_path / "other.duckdb").touch()
    result = CliRunner().invoke(cli, ["--warehouse", str(demo_warehouse), "sql", statement.format(tmp=tmp_path)])
    assert result.exit_code == 1, result.output
    assert "query failed" in result.output
    assert not (tmp_path / "leak.csv").exists()
    assert table_fingerprints(demo_warehouse) == before


def test_sql_still_reads_the_marts(demo_warehouse):
    result = CliRunner().invoke(cli, ["--warehouse", str(demo_warehouse), "sql", "SELECT count(*) AS n FROM labels"])
    assert result.exit_code == 0, result.output
    assert str(query(demo_warehouse, "SELECT count(*) FROM labels")[0][0]) in result.output


def test_no_command_prints_aws_credentials_even_verbose(demo_warehouse, tmp_path, monkeypatch, capfd):
    from etl.crowd.local_server import LocalTurkServer, local_turk

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    server = LocalTurkServer(local_turk({}, seed=0), verbose=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    runner = CliRunner()
    outputs = []
    try:
        for args in (
            ["--help"],
            ["--warehouse", str(tmp_path / "fresh.duckdb"), "demo", "--out", str(tmp_path / "demo")],
            ["--warehouse", str(demo_warehouse), "hits", "status", "--endpoint-url", server.url],
            ["--warehouse", str(demo_warehouse), "hits", "expire", "--endpoint-url", server.url],
            ["--warehouse", str(demo_warehouse), "sql", "SELECT getenv('AWS_SECRET_ACCESS_KEY')"],
            ["--warehouse", str(demo_warehouse), "validate"],
        ):
            outputs.append(runner.invoke(cli, args).output)
    finally:
        server.shutdown()
        server.server_close()
    captured = capfd.readouterr()
    everything = "\n".join([*outputs, captured.out, captured.err])
    assert "mturk-local" in everything or "report" in everything  # the commands did run
    for secret in (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN):
        assert secret not in everything
