"""The command line as a user meets it: help, ad-hoc SQL, the demo and the report."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import duckdb
import pytest
from click.testing import CliRunner

from etl.cli import cli
from etl.demo import DEMO_WRITES


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


@pytest.mark.parametrize("command", list(all_commands(cli)), ids=" ".join)
def test_every_command_explains_itself_with_help(command):
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and len(result.output) > 100


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    result = CliRunner().invoke(cli, ["demo", "--out", str(out), "--seed", "3"], catch_exceptions=False)
    return out, result


def test_the_demo_ends_with_the_path_of_a_report_that_exists(demo_run):
    out, result = demo_run
    assert result.exit_code == 0, result.output
    last_line = result.stdout.strip().splitlines()[-1]
    assert Path(last_line) == (out / "report.html").resolve()
    assert Path(last_line).stat().st_size > 5_000


def test_the_report_is_self_contained(demo_run):
    out, _ = demo_run
    html = (out / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script" not in html.lower() or "src=" not in html.lower()
    assert "non-Western" in html and "Western" in html and "data:image/jpeg;base64," in html


def test_the_demo_shows_the_gap_between_regions(demo_run):
    out, _ = demo_run
    result = CliRunner().invoke(cli, [
        "--warehouse", str(out / "crowdaudit.duckdb"), "sql",
        "SELECT grp, recall FROM classifier_metrics WHERE truth_source = 'majority' AND grouping = 'region'",
        "--format", "json"])
    recall = {row["grp"]: row["recall"] for row in json.loads(result.output)}
    assert recall["Western"] > recall["non-Western"] + 0.2


def test_the_demo_buys_what_the_archive_lacks_through_the_local_endpoint(demo_run):
    out, _ = demo_run
    con = duckdb.connect(str(out / "crowdaudit.duckdb"), read_only=True)
    try:
        published = con.execute("SELECT count(*) FROM raw.hits WHERE batch_id = 'crowdaudit-1' "
                                "AND status = 'published'").fetchall()[0][0]
        answered = con.execute("SELECT count(*) FROM raw.assignments a JOIN raw.hits h USING (hit_id) "
                               "WHERE h.batch_id = 'crowdaudit-1'").fetchall()[0][0]
        unasked = con.execute("SELECT count(*) FROM raw.images ANTI JOIN raw.hit_items USING (image_id) "
                              "ANTI JOIN raw.gold USING (image_id)").fetchall()[0][0]
    finally:
        con.close()
    assert published > 0 and answered == 3 * published
    assert unasked == 0  # every image but unused gold was asked, in the archive or the new batch
    assert (out / "Batch_crowdaudit-1_results.csv").exists()


def test_the_demo_is_deterministic_for_a_seed(demo_run, tmp_path):
    out, _ = demo_run
    again = tmp_path / "again"
    CliRunner().invoke(cli, ["demo", "--out", str(again), "--seed", "3"], catch_exceptions=False)
    for name in ("Batch_1000001_batch_results.csv", "image_paths_and_predictions.csv", "gold.csv"):
        assert (again / name).read_bytes() == (out / name).read_bytes()


def test_sql_prints_table_csv_and_json(demo_run):
    out, _ = demo_run
    base = ["--warehouse", str(out / "crowdaudit.duckdb"), "sql", "SELECT region, count(*) AS n FROM images GROUP BY 1 ORDER BY 1"]
    table = CliRunner().invoke(cli, base)
    assert "non-Western" in table.output and "│" in table.output
    csv = CliRunner().invoke(cli, [*base, "--format", "csv"])
    assert csv.output.splitlines() == ["region,n", "Western,100", "non-Western,200"]
    rows = json.loads(CliRunner().invoke(cli, [*base, "--format", "json"]).output)
    assert rows == [{"region": "Western", "n": 100}, {"region": "non-Western", "n": 200}]


def test_sql_opens_the_warehouse_read_only(demo_run):
    out, _ = demo_run
    result = CliRunner().invoke(cli, ["--warehouse", str(out / "crowdaudit.duckdb"), "sql",
                                      "INSERT INTO raw.gold VALUES ('x', true, 1)"])
    assert result.exit_code == 1
    assert "read-only" in result.output.lower()


def test_a_bad_query_is_one_line_not_a_traceback(demo_run):
    out, _ = demo_run
    result = CliRunner().invoke(cli, ["--warehouse", str(out / "crowdaudit.duckdb"), "sql", "SELECT * FROM nope"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "nope" in result.output


def test_the_console_script_runs(tmp_path):
    script = Path(sys.executable).parent / "crowdaudit"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
    assert "crowdaudit" in result.stdout


def test_the_demo_writes_only_names_a_later_demo_may_delete(demo_run):
    out, _ = demo_run
    assert {entry.name for entry in out.iterdir()} <= DEMO_WRITES


def test_the_demo_refuses_a_folder_holding_anything_it_did_not_write(tmp_path):
    (tmp_path / "project" / "notes").mkdir(parents=True)
    (tmp_path / "project" / "report.html").write_text("an earlier demo's report")
    result = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path / "project")])
    assert result.exit_code == 1 and "holds notes, which the demo did not write" in result.output
    assert sorted(p.name for p in (tmp_path / "project").iterdir()) == ["notes", "report.html"]


def test_the_demo_never_replaces_a_warehouse_and_ignores_the_environment_variable(tmp_path, monkeypatch):
    real = tmp_path / "real.duckdb"
    con = duckdb.connect(str(real))
    con.execute("CREATE TABLE mywork AS SELECT 42 AS answer")
    con.close()
    refused = CliRunner().invoke(cli, ["--warehouse", str(real), "demo", "--out", str(tmp_path / "d1")])
    assert refused.exit_code == 1 and "never replaces one" in refused.output
    monkeypatch.setenv("CROWDAUDIT_WAREHOUSE", str(real))
    ran = CliRunner().invoke(cli, ["--silent", "demo", "--out", str(tmp_path / "d2"), "--seed", "3"])
    assert ran.exit_code == 0, ran.output
    assert (tmp_path / "d2" / "crowdaudit.duckdb").exists()
    con = duckdb.connect(str(real), read_only=True)
    assert con.execute("SELECT * FROM mywork").fetchall() == [(42,)]
    con.close()
