"""The command line as a user meets it: help, ad-hoc SQL, the demo and the report."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import duckdb
import pytest
from click.testing import CliRunner

from etl.cli import cli
from etl.demo import DEMO_WRITES
from etl.errors import INTERRUPTED


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


def test_sql_json_gives_sums_as_exact_numbers(demo_run):
    # DuckDB's sum() of integers is a HUGEINT: JSON must hold a number, every digit of it.
    out, _ = demo_run
    rows = json.loads(CliRunner().invoke(cli, [
        "--warehouse", str(out / "crowdaudit.duckdb"), "sql",
        ("SELECT sum(n_yes) AS yes, count(*) AS n, 170141183460469231731687303715884105727::HUGEINT AS biggest, "
         "NULL::HUGEINT AS nothing, [sum(n_yes)] AS listed FROM vote_counts"), "--format", "json"]).output)
    counted = duckdb.connect(str(out / "crowdaudit.duckdb"), read_only=True)
    try:
        yes = counted.execute("SELECT sum(n_yes)::BIGINT FROM vote_counts").fetchall()[0][0]
    finally:
        counted.close()
    assert rows == [{"yes": yes, "n": rows[0]["n"], "biggest": 170141183460469231731687303715884105727,
                     "nothing": None, "listed": [yes]}]
    assert isinstance(rows[0]["yes"], int)



def test_sql_json_keeps_every_repeated_column_and_its_type(demo_run):
    # A join of two marts repeats column names; each must still come out typed (a sum as a number).
    out, _ = demo_run
    rows = json.loads(CliRunner().invoke(cli, [
        "--warehouse", str(out / "crowdaudit.duckdb"), "sql",
        "SELECT sum(n_yes) AS n, sum(n_votes) AS n, 'nan'::DOUBLE AS n_1, 1.25::DECIMAL(5,2) AS d FROM vote_counts",
        "--format", "json"]).output)
    counted = duckdb.connect(str(out / "crowdaudit.duckdb"), read_only=True)
    try:
        yes, votes = counted.execute("SELECT sum(n_yes)::BIGINT, sum(n_votes)::BIGINT FROM vote_counts").fetchall()[0]
    finally:
        counted.close()
    assert rows == [{"n": yes, "n_2": votes, "n_1": None, "d": 1.25}]

ODD_VALUES = ("SELECT INTERVAL 3 DAY AS span, 'infinity'::TIMESTAMP AS never, "
              "TIMESTAMP_NS '2020-01-01 00:00:00.123456789' AS ns, 'nan'::DOUBLE AS nan, 1/0 AS inf, "
              "[1.5, 'nan'::DOUBLE] AS list, {'a': 1} AS obj, union_value(k := 1) AS u, '\\xFF'::BLOB AS b, "
              "1.25::DECIMAL(5,2) AS dec")


def test_sql_prints_every_duckdb_type_in_every_format(demo_run):
    out, _ = demo_run
    base = ["--warehouse", str(out / "crowdaudit.duckdb"), "sql", ODD_VALUES, "--format"]
    rows = json.loads(CliRunner().invoke(cli, [*base, "json"]).output, parse_constant=pytest.fail)
    assert rows == [{"span": "3 days", "never": "infinity", "ns": "2020-01-01 00:00:00.123456789", "nan": None,
                     "inf": None, "list": [1.5, None], "obj": {"a": 1}, "u": "1", "b": "\\xFF", "dec": 1.25}]
    csv = CliRunner().invoke(cli, [*base, "csv"])
    assert csv.exit_code == 0 and csv.output.splitlines()[1].startswith("3 days,infinity,2020-01-01 00:00:00.123456789")
    assert '"{""a"":1}"' in csv.output
    table = CliRunner().invoke(cli, [*base, "table"])
    assert table.exit_code == 0 and "3 days" in table.output


@pytest.fixture(scope="module")
def empty_warehouse(tmp_path_factory) -> Path:
    """A migrated warehouse with nothing loaded: enough for queries of literals."""
    from etl.warehouse import open_warehouse

    path = tmp_path_factory.mktemp("empty") / "crowdaudit.duckdb"
    with open_warehouse(path, read_only=False):
        pass
    return path


ZONED_AND_INFINITE = ("SELECT 'infinity'::TIMESTAMPTZ AS never_tz, TIMETZ '10:00:00+02' AS at, "
                      "['infinity'::TIMESTAMP] AS nevers, {'d': '-infinity'::DATE} AS since, "
                      "[TIMETZ '11:30:00-05'] AS ats")


def test_sql_prints_zoned_and_infinite_times_in_every_format(empty_warehouse):
    # DuckDB names the zoned types 'timestamp with time zone' and 'time with time zone': they went
    # to polars, which panicked on infinity (a traceback) and dropped a TIMETZ's offset.
    base = ["--warehouse", str(empty_warehouse), "sql", ZONED_AND_INFINITE, "--format"]
    as_json = CliRunner().invoke(cli, [*base, "json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output) == [{"never_tz": "infinity", "at": "10:00:00+02", "nevers": ["infinity"],
                                           "since": {"d": "-infinity"}, "ats": ["11:30:00-05"]}]
    csv = CliRunner().invoke(cli, [*base, "csv"])
    assert csv.exit_code == 0, csv.output
    assert csv.output.splitlines()[1] == ('infinity,10:00:00+02,"[""infinity""]","{""d"":""-infinity""}",'
                                          '"[""11:30:00-05""]"')
    table = CliRunner().invoke(cli, [*base, "table"])
    assert table.exit_code == 0, table.output
    assert "10:00:00+02" in table.output and '["infinity"]' in table.output and "-infinity" in table.output


def test_sql_json_gives_values_inside_lists_and_structs_their_json_types(empty_warehouse):
    # A decimal column is a JSON number; inside a list (list(reward)) it was a string, and a list
    # of intervals was the text of a JSON array rather than an array.
    rows = json.loads(CliRunner().invoke(cli, [
        "--warehouse", str(empty_warehouse), "sql", "--format", "json",
        ("SELECT 0.05::DECIMAL(12,4) AS reward, [0.05::DECIMAL(12,4), 1.5::DECIMAL(5,2)] AS rewards, "
         "{'r': 0.25::DECIMAL(12,4), 'n': 2} AS hit, [INTERVAL 1 DAY] AS spans, MAP {'k': 1.5::DECIMAL(3,1)} AS m")
    ]).output, parse_constant=pytest.fail)
    assert rows == [{"reward": 0.05, "rewards": [0.05, 1.5], "hit": {"r": 0.25, "n": 2}, "spans": ["1 day"],
                     "m": {"k": 1.5}}]


def test_sql_prints_a_variant_as_its_value_in_every_format(empty_warehouse):
    # DuckDB 2.0's VARIANT (duckdb_settings().typed_value) reached polars as its binary encoding:
    # bytes in the table and JSON, a polars traceback for CSV.
    base = ["--warehouse", str(empty_warehouse), "sql",
            "SELECT 7::VARIANT AS n, 'x'::VARIANT AS s, {'a': [1, 2.5]}::VARIANT AS obj, [2::VARIANT] AS l",
            "--format"]
    as_json = CliRunner().invoke(cli, [*base, "json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output) == [{"n": 7, "s": "x", "obj": {"a": [1, 2.5]}, "l": [2]}]
    csv = CliRunner().invoke(cli, [*base, "csv"])
    assert csv.exit_code == 0, csv.output
    assert csv.output.splitlines()[1].startswith("7,x,")
    table = CliRunner().invoke(cli, [*base, "table"])
    assert table.exit_code == 0 and '\\x' not in table.output and "2.5" in table.output


@pytest.mark.parametrize("output_format", ["table", "csv", "json"])
def test_sql_prints_every_type_duckdb_has(empty_warehouse, output_format):
    # test_all_types(): a row of minimums, one of maximums, one of NULLs of every DuckDB type. Its
    # TIMESTAMPTZ_NS, GEOMETRY and TUPLE columns were a polars traceback in CSV.
    result = CliRunner().invoke(cli, ["--warehouse", str(empty_warehouse), "sql", "--format", output_format,
                                      "SELECT * FROM test_all_types()"])
    assert result.exit_code == 0, result.output
    if output_format == "json":
        assert len(json.loads(result.output, parse_constant=pytest.fail)) == 3


def test_sql_prints_duckdb_2_types_as_duckdb_writes_them(empty_warehouse):
    # A TIMESTAMPTZ_NS of infinity came out of JSON as 2262-04-11 23:47:16.854775+00:00. DuckDB
    # writes a zoned time in the machine's time zone (as its shell does), so the expected text is
    # DuckDB's own: a literal '+00' failed the suite on a machine in India.
    ns = "TIMESTAMPTZ_NS '2020-01-01 00:00:00.123456789+00'"
    rows = json.loads(CliRunner().invoke(cli, [
        "--warehouse", str(empty_warehouse), "sql", "--format", "json",
        (f"SELECT 'infinity'::TIMESTAMPTZ_NS AS never, {ns} AS ns, "
         "'POINT (1 2)'::GEOMETRY AS point, (SELECT tuple FROM test_all_types() LIMIT 1 OFFSET 1) AS pair")
    ]).output)
    [(ns_as_duckdb_writes_it,)] = duckdb.connect().sql(f"SELECT {ns}::VARCHAR").fetchall()
    assert ".123456789" in ns_as_duckdb_writes_it  # the nanoseconds kept
    assert rows == [{"never": "infinity", "ns": ns_as_duckdb_writes_it, "point": "POINT (1 2)",
                     "pair": [42, "🦆🦆🦆🦆🦆🦆"]}]


def test_sql_says_what_it_leaves_out_and_refuses_what_it_would_drop(demo_run):
    out, _ = demo_run
    base = ["--warehouse", str(out / "crowdaudit.duckdb"), "sql"]
    long = CliRunner().invoke(cli, [*base, "SELECT * FROM range(500)"])
    assert "500 rows, 200 shown" in long.output
    two = CliRunner().invoke(cli, [*base, "SELECT 1; SELECT 2"])
    assert two.exit_code == 1 and "2 statements" in two.output
    empty = CliRunner().invoke(cli, [*base, "  "])
    assert empty.exit_code == 1 and "empty" in empty.output


MIXED_ROWS = ("SELECT i, 'row ' || i AS label, i / 7 AS ratio, [i, i + 1] AS pair, {'n': i} AS obj, "
              "CASE WHEN i % 50 = 0 THEN 'nan'::DOUBLE END AS sometimes_nan FROM range({n}) t(i) ORDER BY i")


@pytest.mark.parametrize("rows", [0, 1, 150, 200, 201, 500])
@pytest.mark.parametrize("output_format", ["table", "csv", "json"])
def test_sql_output_does_not_depend_on_how_rows_are_batched(demo_run, monkeypatch, rows, output_format):
    out, _ = demo_run
    args = ["--warehouse", str(out / "crowdaudit.duckdb"), "sql", MIXED_ROWS.replace("{n}", str(rows)),
            "--format", output_format]
    whole = CliRunner().invoke(cli, args)
    monkeypatch.setattr("etl.query.BATCH_ROWS", 7)
    batched = CliRunner().invoke(cli, args)
    assert whole.exit_code == batched.exit_code == 0, batched.output
    assert batched.output == whole.output
    if output_format == "json":
        assert batched.output == json.dumps(json.loads(batched.output), indent=2) + "\n"
        assert len(json.loads(batched.output)) == rows
    elif output_format == "csv":
        assert len(batched.output.splitlines()) == rows + 1
    else:
        assert f"shape: ({rows}, 6)" in batched.output
        assert ("…" in batched.output) == (rows > 200)
        assert (f"{rows:,} rows, 200 shown" in batched.output) == (rows > 200)


def test_sql_writes_rows_as_they_come_and_names_a_failure_part_way(demo_run, monkeypatch):
    out, _ = demo_run
    monkeypatch.setattr("etl.query.BATCH_ROWS", 1_000)
    bad_after_two_million = ("SELECT CAST(CASE WHEN i < 2000000 THEN '1' ELSE 'x' END AS INTEGER) AS n "
                             "FROM range(3000000) t(i)")
    result = CliRunner().invoke(cli, ["--warehouse", str(out / "crowdaudit.duckdb"), "sql", "--format", "csv",
                                      bad_after_two_million])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    # The rows before the bad value were written before it was met; then the error says why.
    assert lines[0] == "n" and lines[1:1001] == ["1"] * 1000
    error = next(line for line in lines if line.startswith("Error: "))
    assert error.startswith("Error: query failed: Conversion Error") and "'x'" in error
    assert "Traceback" not in result.output


def test_sql_piped_into_a_reader_that_stops_early_exits_without_a_traceback(demo_run):
    out, _ = demo_run
    script = Path(sys.executable).parent / "crowdaudit"
    sql = subprocess.Popen([str(script), "--warehouse", str(out / "crowdaudit.duckdb"), "sql", "--format", "csv",
                            "SELECT i FROM range(5000000) t(i)"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert sql.stdout.readline() == b"i\n"
    sql.stdout.close()  # as `| head -1` does
    stderr = sql.stderr.read().decode()
    assert sql.wait(timeout=60) == 1
    assert stderr == ""


def test_sql_before_any_build_says_to_build(tmp_path, write_results):
    batch = write_results("Batch_1_batch_results.csv", {"H": ["https://x.example/1.jpg"]},
                          [{"AssignmentId": "A", "HITId": "H", "WorkerId": "W", "selected": "image1"}])
    warehouse = ["--warehouse", str(tmp_path / "wh.duckdb")]
    assert CliRunner().invoke(cli, [*warehouse, "ingest", str(batch)]).exit_code == 0
    result = CliRunner().invoke(cli, [*warehouse, "sql", "SELECT * FROM votes"])
    assert result.exit_code == 1 and f"`crowdaudit --warehouse {tmp_path / 'wh.duckdb'} build`" in result.output


def test_a_suggested_command_carries_the_warehouse_typed_and_not_one_from_the_environment(tmp_path, monkeypatch):
    """A message's follow-up command left out --warehouse: copied, it acted on the default warehouse.
    CROWDAUDIT_WAREHOUSE is not written in: the suggestion runs where the variable is set too."""
    monkeypatch.chdir(tmp_path)
    named = tmp_path / "my audit.duckdb"
    (tmp_path / "regions.csv").write_text("language,region\nodia,non-Western\n")
    typed = CliRunner().invoke(cli, ["--warehouse", str(named), "load", "regions", "regions.csv"])
    assert f"run `crowdaudit --warehouse '{named}' build` to re-label" in typed.output
    assert CliRunner().invoke(cli, ["--warehouse", str(named), "report"]).output.endswith(
        f"run `crowdaudit --warehouse '{named}' build` first\n")
    from_environment = CliRunner(env={"CROWDAUDIT_WAREHOUSE": str(named)}).invoke(cli, ["report"])
    assert from_environment.output.endswith("the warehouse has no marts yet: run `crowdaudit build` first\n")
    default = CliRunner(env={"CROWDAUDIT_WAREHOUSE": None}).invoke(
        cli, ["--warehouse", "warehouse/crowdaudit.duckdb", "load", "regions", "regions.csv"])
    assert "run `crowdaudit build` to re-label" in default.output


@pytest.mark.parametrize("wait", ["nan", "-5"])
def test_a_wait_that_is_not_a_number_of_seconds_is_a_usage_error_naming_wait(tmp_path, wait):
    # --wait nan never ran out: a nightly job behind a reader hung instead of saying the warehouse was in use
    result = CliRunner().invoke(cli, ["--warehouse", str(tmp_path / "wh.duckdb"), "--wait", wait, "build"])
    assert result.exit_code == 2 and "'--wait'" in result.output
    assert not (tmp_path / "wh.duckdb").exists()


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


def test_the_demo_never_deletes_a_warehouse_of_its_name_that_holds_loads_it_did_not_make(tmp_path):
    team = tmp_path / "audit"
    team.mkdir()
    (tmp_path / "votes.csv").write_text("task,worker,label\nt1,w1,1\nt2,w1,0\n")
    warehouse = str(team / "crowdaudit.duckdb")
    loaded = CliRunner().invoke(cli, ["--warehouse", warehouse, "load", "votes", str(tmp_path / "votes.csv")])
    assert loaded.exit_code == 0, loaded.output
    refused = CliRunner().invoke(cli, ["--silent", "demo", "--out", str(team)])
    assert refused.exit_code == 1 and "votes.csv" in refused.output and "did not make" in refused.output
    con = duckdb.connect(warehouse, read_only=True)
    assert con.execute("SELECT count(*) FROM raw.external_votes").fetchall() == [(2,)]
    con.close()


def test_a_demo_seed_the_random_generators_cannot_take_is_refused_as_a_usage_error(tmp_path):
    for seed in ("-1", str(2**63)):
        refused = CliRunner().invoke(cli, ["--silent", "demo", "--out", str(tmp_path / "out"), "--seed", seed])
        assert refused.exit_code == 2 and "--seed" in refused.output, refused.output
    assert not (tmp_path / "out").exists()
    ran = CliRunner().invoke(cli, ["--silent", "demo", "--out", str(tmp_path / "out"), "--seed", str(2**63 - 1)])
    assert ran.exit_code == 0, ran.output


def test_the_demo_run_again_into_its_folder_replaces_what_it_wrote(tmp_path):
    out = tmp_path / "out"
    for _ in range(2):
        ran = CliRunner().invoke(cli, ["--silent", "demo", "--out", str(out), "--seed", "3"])
        assert ran.exit_code == 0, ran.output
    con = duckdb.connect(str(out / "crowdaudit.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM raw.load_log").fetchall() == [(6,)]
    con.close()


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


def test_a_report_after_loads_without_a_build_says_its_figures_lag(demo_warehouse_template, tmp_path, write_results):
    from conftest import copy_of

    warehouse = copy_of(demo_warehouse_template, tmp_path / "wh.duckdb")
    base = ["--warehouse", str(warehouse), "report", "-o"]
    fresh = CliRunner().invoke(cli, [*base, str(tmp_path / "fresh.html")])
    assert fresh.exit_code == 0 and "warning" not in fresh.output
    assert 'id="stale"' not in (tmp_path / "fresh.html").read_text()
    batch = write_results("Batch_9_batch_results.csv", {"HNEW": ["https://x.example/new.jpg"]},
                          [{"AssignmentId": "ANEW", "HITId": "HNEW", "WorkerId": "WNEW", "selected": "image1"}])
    assert CliRunner().invoke(cli, ["--warehouse", str(warehouse), "ingest", str(batch)]).exit_code == 0
    stale = CliRunner().invoke(cli, [*base, "-"])
    assert stale.exit_code == 0 and 'id="stale"' in stale.stdout and stale.stdout.lstrip().startswith("<!")
    assert "1 load(s) since the last build" in stale.stderr


def test_the_report_says_when_its_marts_were_built_in_utc(demo_warehouse_template, tmp_path, monkeypatch):
    # A nightly report is read the next morning: it must say how fresh its figures are, whatever
    # the time zone of the machine that built them.
    from conftest import copy_of

    warehouse = copy_of(demo_warehouse_template, tmp_path / "wh.duckdb")
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    assert CliRunner().invoke(cli, ["--warehouse", str(warehouse), "--silent", "build"]).exit_code == 0
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        built_at, utc_now = con.execute("SELECT built_at, timezone('UTC', now()) FROM build_info").fetchall()[0]
    finally:
        con.close()
    assert abs((utc_now - built_at).total_seconds()) < 3600  # UTC, not Kolkata's +5:30
    page = CliRunner().invoke(cli, ["--warehouse", str(warehouse), "report", "-o", "-"]).stdout
    assert f"Figures as built {built_at:%Y-%m-%d %H:%M} UTC" in page


# A Ctrl-C (a real SIGINT) the moment the command starts importing DuckDB, then the command line
# run exactly as `python -m etl.cli` runs it.
CTRL_C_WHILE_LOADING = """
import os, runpy, signal, sys

class CtrlCWhileLoading:
    def find_spec(self, name, path=None, target=None):
        if name == "duckdb":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, CtrlCWhileLoading())
sys.argv = ["crowdaudit", "--warehouse", sys.argv[1], "sql", "SELECT 1"]
runpy.run_module("etl.cli", run_name="__main__", alter_sys=True)
"""


def test_ctrl_c_while_the_libraries_load_prints_one_line_not_a_traceback(tmp_path):
    """The command modules import click, DuckDB and polars (half a second): a Ctrl-C then printed a
    Python traceback and died by the signal, where a Ctrl-C a moment later prints one line, exit 130."""
    done = subprocess.run([sys.executable, "-c", CTRL_C_WHILE_LOADING, str(tmp_path / "wh.duckdb")], check=False,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert (done.returncode, done.stderr) == (130, f"Error: {INTERRUPTED}\n")
    assert done.stdout == ""


# A Ctrl-C (a real SIGINT, raised in the main thread) while click parses the options, before the
# command starts; after the command has done its work, as click tidies up; or as Python exits. Then
# the command line run as `python -m etl.cli` runs it.
CTRL_C_OUTSIDE_THE_COMMAND = """
import atexit, runpy, signal, sys
import click

when, warehouse = sys.argv[1:]
patched = click.Group.parse_args if when == "before" else click.Context.exit

def with_ctrl_c(*args, **kwargs):
    signal.raise_signal(signal.SIGINT)
    return patched(*args, **kwargs)

if when == "exiting":
    atexit.register(signal.raise_signal, signal.SIGINT)
else:
    setattr(click.Group if when == "before" else click.Context, patched.__name__, with_ctrl_c)
sys.argv = ["crowdaudit", "--warehouse", warehouse, "sql", "SELECT 41 + 1 AS answer"]
runpy.run_module("etl.cli", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize("when", ["before", "after", "exiting"])
def test_ctrl_c_outside_the_command_is_one_line_before_it_and_ignored_once_its_work_is_done(when, tmp_path):
    """Click owns the first two moments: a Ctrl-C in them printed click's "Aborted!" and exited 1,
    which said nothing useful before the command, and called work already committed a failure
    after it; as Python exits it printed a traceback or ended the process by the signal."""
    warehouse = tmp_path / "wh.duckdb"
    assert subprocess.run([sys.executable, "-m", "etl.cli", "--warehouse", str(warehouse), "build"], check=False,
                          capture_output=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
                          timeout=120).returncode == 0
    done = subprocess.run([sys.executable, "-c", CTRL_C_OUTSIDE_THE_COMMAND, when, str(warehouse)], check=False,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    if when == "before":
        assert (done.returncode, done.stderr, done.stdout) == (130, f"Error: {INTERRUPTED}\n", "")
    else:
        assert (done.returncode, done.stderr) == (0, "")
        assert "42" in done.stdout


def _cpu_seconds(pid: int) -> float:
    """CPU time a process has used (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize(("query", "output_starts"), [
    ("SELECT count(*) FROM range(1000000000000) AS t(x) WHERE x % 7 = 3", ""),  # one row, hours away
    ("SELECT x FROM range(1000000000000) AS t(x) WHERE x % 1000 = 0", "x\n0\n1000\n"),  # rows, for hours
], ids=["one row", "rows streaming"])
def test_ctrl_c_stops_a_query_that_would_run_for_hours(query, output_starts, tmp_path):
    """DuckDB runs a query without the main thread looking at Python's signals (an Arrow stream, as
    `sql` reads, and every query under DuckDB 2.0.0): a Ctrl-C did nothing until the query ended."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    warehouse = tmp_path / "wh.duckdb"
    assert subprocess.run([sys.executable, "-m", "etl.cli", "--warehouse", str(warehouse), "build"], check=False,
                          capture_output=True, env=env, timeout=120).returncode == 0
    with (tmp_path / "out.csv").open("w") as out:  # a file, never full: the command is querying, not writing
        endless = subprocess.Popen([sys.executable, "-m", "etl.cli", "--warehouse", str(warehouse), "sql", query,
                                    "--format", "csv"], stdout=out, stderr=subprocess.PIPE, text=True, env=env)
        try:
            while _cpu_seconds(endless.pid) < 4:  # past loading its libraries (about 1 CPU-second): querying
                assert endless.poll() is None, endless.communicate()
                time.sleep(0.1)
            endless.send_signal(signal.SIGINT)
            _, stderr = endless.communicate(timeout=60)
        finally:
            endless.kill()
    assert (endless.returncode, stderr) == (130, f"Error: {INTERRUPTED}\n")
    assert (tmp_path / "out.csv").read_text().startswith(output_starts)


def test_a_ctrl_c_whose_query_interrupt_is_already_on_its_way_up_raises_nothing_more(monkeypatch):
    """One Ctrl-C reaches a query twice: DuckDB's interrupt error, and Python's handler a moment
    later. Raised again while the first unwound (in a `with` block's exit, before its rollback), it
    skipped the rollback, and the load's next statement failed with a traceback on the aborted
    transaction: 4 of 500 Ctrl-Cs at random moments of a load."""
    from etl import interrupts

    monkeypatch.setattr(interrupts._CtrlC, "running", True)
    try:
        raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")
    except duckdb.InterruptException:
        try:
            interrupts._on_ctrl_c(signal.SIGINT, None)
        except KeyboardInterrupt:  # caught here: pytest would take it as the suite's own Ctrl-C
            pytest.fail("a second exception was raised while DuckDB's interrupt error unwound")
    try:
        raise ValueError("a fault being handled")
    except ValueError:
        with pytest.raises(KeyboardInterrupt):
            interrupts._on_ctrl_c(signal.SIGINT, None)
    with pytest.raises(KeyboardInterrupt):
        interrupts._on_ctrl_c(signal.SIGINT, None)
