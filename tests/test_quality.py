"""Data quality: the expectation suites, the gate on every load, quarantine and `crowdaudit validate`."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from conftest import copy_of, query, table_fingerprints
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.quality import results
from etl.quality.check import SAMPLE_ROWS, Outcome, applicable, rules_with_suspects, run_suite
from etl.quality.gate import QualityGateFailed, check_batch
from etl.quality.sql_screen import screened_rows
from etl.quality.suites import (
    BATCH_SUITES,
    FAST_WORK_SECONDS,
    HIT_ITEM_RULES,
    WAREHOUSE_SUITES,
    Rule,
    Suite,
    at_least,
    between,
    is_url,
    key,
    not_null,
    probability,
    unique_together,
)
from etl.warehouse import open_warehouse

URLS = [f"https://img.example/weddings-indian-languages/hindi/30{k}/01.jpg" for k in range(1, 5)]
# Unicode spaces are not \S to Python's re (so GX fails them) but are to DuckDB's RE2; the last two
# pass GX ($ matches before a final newline; \S matches an accented letter), a screen may flag them.
TRICKY_URLS = ["https://img.example/a\u00a0b.jpg", "https://img.example/\u2003.jpg", "javascript:alert(1)",
               "https://img.example/a b.jpg", "HTTPS://IMG.EXAMPLE/\u00c9.JPG", "https://img.example/a.jpg\n"]
ANSWERS = [
    {"AssignmentId": "3Q1", "HITId": "3QHIT", "WorkerId": "W1", "selected": "image1|image2"},
    {"AssignmentId": "3Q2", "HITId": "3QHIT", "WorkerId": "W2", "selected": "image2"},
]


@pytest.fixture
def demo_copy(demo_warehouse_template: Path, warehouse: Path) -> Path:
    return copy_of(demo_warehouse_template, warehouse)


def quarantined(warehouse: Path) -> list[Path]:
    folder = warehouse.parent / "quarantine"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_validate_passes_on_the_demo_warehouse_and_records_dq_results(demo_copy, run_cli):
    result = run_cli("validate")
    assert "0 failed" in result.output
    for suite in ("raw.assignments", "raw.hit_items", "raw.images", "raw.gold", "main.vote_counts",
                  "main.labels", "main.label_confidence"):
        assert f"{suite}:" in result.output
    rows = query(demo_copy, "SELECT count(*), bool_and(success), max(run_id) FROM dq_results")
    assert rows[0][0] > 40 and rows[0][1] is True and rows[0][2] == 1


def test_validate_says_when_loads_since_the_last_build_are_not_in_the_marts(demo_copy, run_cli, tmp_path):
    assert "not in the marts" not in run_cli("validate").output
    image = query(demo_copy, "SELECT min(image_id) FROM raw.images ANTI JOIN raw.gold USING (image_id)")[0][0]
    gold = tmp_path / "more_gold.csv"
    gold.write_text(f"url,truth\n{image},true\n")
    run_cli("load", "gold", str(gold))
    assert "1 load(s) since the last build are in the raw tables but not in the marts" in run_cli("validate").output


def test_validate_fails_naming_the_expectation_and_the_row_after_one_row_is_corrupted(demo_copy, run_cli):
    con = duckdb.connect(str(demo_copy))
    bad_id = con.execute("SELECT min(assignment_id) FROM raw.assignments").fetchall()[0][0]
    con.execute("UPDATE raw.assignments SET assignment_status = 'Lost' WHERE assignment_id = ?", [bad_id])
    con.close()
    result = run_cli("validate", expect=1)
    assert "ExpectColumnValuesToBeInSet(assignment_status)" in result.output
    assert f"assignment_id {bad_id}" in result.output and "Lost" in result.output
    assert "1 of " in result.output
    failed = query(demo_copy, "SELECT suite, unexpected_count, examples FROM dq_results WHERE NOT success")
    assert [(suite, count) for suite, count, _ in failed] == [("raw.assignments", 1)]
    assert json.loads(failed[0][2])[0]["assignment_id"] == bad_id


def test_validate_catches_a_mart_where_n_yes_exceeds_n_votes(demo_copy, run_cli):
    con = duckdb.connect(str(demo_copy))
    con.execute("UPDATE main.vote_counts SET n_yes = n_votes + 1 WHERE image_id = "
                "(SELECT min(image_id) FROM main.vote_counts)")
    con.close()
    result = run_cli("validate", expect=1)
    assert "n_yes ≤ n_votes" in result.output and "main.vote_counts" in result.output


def verdict(outcome: Outcome) -> tuple:
    """What validate reports of a rule; examples as JSON, where NaN equals NaN, and numbers as
    floats: pandas holds an integer column with a missing value as floats, so GX's examples from a
    whole frame say 0.0 where those from the screened rows (without the missing value) say 0."""
    examples = [{name: float(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
                 for name, value in example.items()} for example in outcome.examples]
    return (outcome.expectation, outcome.success, outcome.element_count, outcome.unexpected_count,
            json.dumps(examples, default=str))


# A break of each kind in the demo warehouse, raw tables and marts (a NaN probability passes: GX
# takes NaN for missing, and missing is not out of range).
CORRUPTIONS = """
    UPDATE raw.images SET image_id = image_id || chr(160) WHERE image_id = (SELECT max(image_id) FROM raw.images);
    UPDATE raw.hit_items SET image_id = replace(image_id, '://', '://x' || chr(8195)) WHERE slot = 2;
    INSERT INTO raw.hit_items SELECT * FROM raw.hit_items WHERE slot = 1 LIMIT 2;
    UPDATE raw.assignments SET submit_time = accept_time - INTERVAL 1 HOUR, work_time_in_seconds = 1
        WHERE assignment_id = (SELECT max(assignment_id) FROM raw.assignments);
    UPDATE raw.gold SET image_id = 'https://img.example/never-registered.jpg'
        WHERE image_id = (SELECT min(image_id) FROM raw.gold);
    UPDATE raw.prediction_labels SET score = CASE rank WHEN 2 THEN 1.5 ELSE 'nan'::DOUBLE END WHERE rank > 1;
    INSERT INTO main.vote_counts SELECT * FROM main.vote_counts LIMIT 1;
    UPDATE main.labels SET label = NULL WHERE image_id = (SELECT min(image_id) FROM main.labels);
    UPDATE main.label_confidence SET posterior = 'nan', p_yes_dawid_skene = -0.5
        WHERE image_id = (SELECT max(image_id) FROM main.label_confidence);
    INSERT INTO main.majority_labels (image_id) VALUES (NULL), (NULL);
"""


def test_validate_gives_what_great_expectations_says_of_the_whole_tables_of_a_corrupted_warehouse(demo_copy):
    with open_warehouse(demo_copy, read_only=False) as con:
        con.execute(CORRUPTIONS)
        outcomes, skipped = results.validate_warehouse(con)
        tables = [(ws.suite, con.sql(ws.query).pl()) for ws in WAREHOUSE_SUITES if ws.suite.name not in skipped]
    before = [o for suite, table in tables for o in run_suite(table, suite)]  # validate read whole tables
    whole = [o for suite, table in tables for o in run_suite(table, suite, screen=False)]
    assert [verdict(o) for o in outcomes] == [verdict(o) for o in before] == [verdict(o) for o in whole]
    failed = {o.suite for o in outcomes if not o.success}
    assert failed == {ws.suite.name for ws in WAREHOUSE_SUITES} - {"raw.hits", "raw.image_predictions",
                                                                   "raw.external_votes"}


def test_validate_hands_great_expectations_the_sample_and_the_suspect_rows_not_the_whole_table(
        demo_copy, monkeypatch):
    seen = {}

    def recording(rows: pl.DataFrame, suite: Suite, **options) -> list[Outcome]:
        seen[suite.name] = rows.height
        return run_suite(rows, suite, **options)

    monkeypatch.setattr(results, "run_suite", recording)
    with open_warehouse(demo_copy, read_only=False) as con:
        con.execute(f"INSERT INTO raw.images (image_id, load_id) "
                    f"SELECT 'https://img.example/more/' || i || '.jpg', 1 FROM range({5 * SAMPLE_ROWS}) AS t(i)")
        n_images, n_hits = con.execute("SELECT (SELECT count(*) FROM raw.images), (SELECT count(*) FROM raw.hits)"
                                       ).fetchall()[0]
        clean = [o for o in results.validate_warehouse(con)[0] if o.suite == "raw.images"]
        assert seen["raw.images"] == SAMPLE_ROWS and seen["raw.hits"] == n_hits < SAMPLE_ROWS
        assert all(o.success and o.element_count == n_images for o in clean)

        con.execute("UPDATE raw.images SET image_id = image_id || chr(8195) WHERE image_id LIKE '%/more/4321.jpg'")
        broken = {o.expectation: o for o in results.validate_warehouse(con)[0] if o.suite == "raw.images"}
    assert seen["raw.images"] == SAMPLE_ROWS + 1
    url = broken["ExpectColumnValuesToMatchRegex(image_id)"]
    assert (url.success, url.unexpected_count, url.element_count) == (False, 1, n_images)
    assert url.examples[0]["image_id"].endswith("/more/4321.jpg\u2003")


def test_validate_gives_each_suites_verdict_as_soon_as_it_is_checked_not_after_the_last(demo_copy, monkeypatch):
    """On a warehouse of millions of rows each suite takes seconds: its line comes before the next
    suite is screened, and the lines are the ones printed at the end before."""
    events = []
    screen = results.screened_rows

    def recording(con, query, suite, **options):
        events.append(("screened", suite.name))
        return screen(con, query, suite, **options)

    monkeypatch.setattr(results, "screened_rows", recording)
    with open_warehouse(demo_copy, read_only=False) as con:
        outcomes, _ = results.validate_warehouse(
            con, on_suite=lambda checked: events.append(("told", checked[0].suite, len(checked))))
    told = [event for event in events if event[0] == "told"]
    assert events == [event for (_, name, n) in told for event in (("screened", name), ("told", name, n))]
    assert [(name, n) for _, name, n in told] == [(s, sum(o.suite == s for o in outcomes))
                                                  for s in dict.fromkeys(o.suite for o in outcomes)]


def test_an_unusually_fast_worker_is_a_warning_that_refuses_the_batch_unless_allowed(
        write_results, run_cli, warehouse):
    path = write_results("Batch_9_batch_results.csv", {"3QHIT": URLS}, ANSWERS)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"100"', '"1"', 1), encoding="utf-8")
    assert text != path.read_text(encoding="utf-8")
    run_cli("build")  # creates the warehouse
    before = table_fingerprints(warehouse)
    result = run_cli("ingest", str(path), expect=1)
    assert "Batch_9_batch_results.csv" in result.output and "row 2" in result.output
    # The column as the file's header names it, so the user can find it in the file.
    assert "row 2, column WorkTimeInSeconds" in result.output and "--allow-warnings" in result.output
    assert table_fingerprints(warehouse) == before
    kept = [p.name for p in quarantined(warehouse)]
    assert any(name.endswith("Batch_9_batch_results.csv") for name in kept)
    report = json.loads(next(p for p in quarantined(warehouse) if p.suffix == ".json").read_text())
    assert report["failed_expectations"][0]["severity"] == "warning"
    assert report["failed_expectations"][0]["examples"][0]["source_row"] == 2
    summary = next(p for p in quarantined(warehouse) if p.suffix == ".txt").read_text()
    assert f"WorkTimeInSeconds ≥ {FAST_WORK_SECONDS}" in summary

    result = run_cli("ingest", "--allow-warnings", str(path))
    assert "warning (allowed)" in result.output
    assert query(warehouse, "SELECT count(*) FROM raw.assignments") == [(2,)]


def test_allow_warnings_never_lets_an_error_through():
    assignments = pl.DataFrame({
        "source_row": [2, 3], "assignment_id": ["A1", "A2"], "hit_id": ["H", "H"], "worker_id": ["W", "V"],
        "assignment_status": ["Submitted", "Submitted"], "work_time_in_seconds": [1, -5],
        "accept_time": [datetime(2020, 1, 1)] * 2, "submit_time": [datetime(2020, 1, 2)] * 2,
    })
    with pytest.raises(QualityGateFailed) as refused:
        check_batch("results", Path("x.csv"), {"assignments": assignments}, allow_warnings=True)
    assert refused.value.row == 3 and refused.value.column == "work_time_in_seconds"
    assert "WorkTimeInSeconds ≥ 0" in str(refused.value)


def test_a_batch_refused_for_an_error_names_the_error_row_not_an_earlier_warning():
    # Row 2 is an unusually fast worker (a warning), row 3 was submitted before it was accepted (an
    # error): the refusal must point at row 3, which --allow-warnings would not get past.
    assignments = pl.DataFrame({
        "source_row": [2, 3], "assignment_id": ["A1", "A2"], "hit_id": ["H", "H"], "worker_id": ["W", "V"],
        "assignment_status": ["Submitted", "Submitted"], "work_time_in_seconds": [1, 100],
        "accept_time": [datetime(2020, 1, 1)] * 2, "submit_time": [datetime(2020, 1, 2), datetime(2019, 12, 31)],
    })
    with pytest.raises(QualityGateFailed) as refused:
        check_batch("results", Path("x.csv"), {"assignments": assignments},
                    file_columns={"submit_time": "SubmitTime", "accept_time": "AcceptTime"})
    assert refused.value.row == 3 and refused.value.column == "SubmitTime, AcceptTime"
    assert "SubmitTime ≥ AcceptTime" in refused.value.problem and "1 more failed" in refused.value.problem
    assert "--allow-warnings" not in str(refused.value)


def test_a_file_refused_by_the_reader_is_quarantined_with_its_row(tmp_path, run_cli, warehouse):
    bad = tmp_path / "Batch_5_batch_results.csv"
    bad.write_text('HITId,AssignmentId,WorkerId,AssignmentStatus,Input.image1,Answer.selected\n'
                   'H,A,W,Bogus,https://x.example/1.jpg,image1\n', encoding="utf-8")
    result = run_cli("ingest", str(bad), expect=1)
    assert "row 2" in result.output and "AssignmentStatus" in result.output
    report = json.loads(next(p for p in quarantined(warehouse) if p.suffix == ".json").read_text())
    assert report["row"] == 2 and report["column"] == "AssignmentStatus"
    assert any(p.name.endswith("Batch_5_batch_results.csv") for p in quarantined(warehouse))



def test_a_file_refused_again_keeps_one_copy_in_quarantine_and_a_changed_one_gets_its_own(tmp_path, run_cli,
                                                                                          warehouse):
    # A nightly job retries a refused file every night: quarantine/ must not fill with copies of it.
    bad = tmp_path / "Batch_5_batch_results.csv"
    header = "HITId,AssignmentId,WorkerId,AssignmentStatus,Input.image1,Answer.selected\n"
    bad.write_text(header + "H,A,W,Bogus,https://x.example/1.jpg,image1\n", encoding="utf-8")
    first = run_cli("ingest", str(bad), expect=1)
    again = run_cli("ingest", str(bad), expect=1)
    copies = [p for p in quarantined(warehouse) if p.name.endswith(".csv")]
    assert len(copies) == 1
    assert "already kept" in again.output and copies[0].name in again.output
    assert copies[0].name in first.output
    bad.write_text(header + "H,A,W,Bogus2,https://x.example/1.jpg,image1\n", encoding="utf-8")
    run_cli("ingest", str(bad), expect=1)
    copies = [p for p in quarantined(warehouse) if p.name.endswith(".csv")]
    assert len(copies) == 2
    assert sorted(p.read_text(encoding="utf-8").split(",")[-3] for p in copies) == ["Bogus", "Bogus2"]


def test_a_quarantine_copy_that_fails_half_way_leaves_no_partial_copy_and_the_reason_stands(
        tmp_path, run_cli, warehouse, monkeypatch):
    import etl.atomic_file

    def disk_full(source, target):
        Path(target).write_bytes(Path(source).read_bytes()[:10])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(etl.atomic_file.shutil, "copyfile", disk_full)
    bad = tmp_path / "Batch_5_batch_results.csv"
    bad.write_text("HITId,AssignmentId,WorkerId,AssignmentStatus,Input.image1,Answer.selected\n"
                   "H,A,W,Bogus,https://x.example/1.jpg,image1\n", encoding="utf-8")
    result = run_cli("ingest", str(bad), expect=1)
    assert "row 2" in result.output and "AssignmentStatus" in result.output
    assert "could not keep a copy in quarantine (No space left on device)" in result.output
    assert [p for p in quarantined(warehouse) if p.name.endswith(".csv")] == []

def test_load_votes_is_gated_too_a_reader_slip_is_refused_and_quarantined(tmp_path, run_cli, warehouse,
                                                                           monkeypatch):
    from etl.load import votes

    source = tmp_path / "votes.csv"
    source.write_text("task,worker,label\nt1,w1,1\nt2,w1,0\n", encoding="utf-8")
    read = votes.votes_frame

    def read_with_a_slip(*args, **kwargs):
        # As if the reader let a repeated (task, worker) through: the gate must still stop it.
        staged_votes, repeats = read(*args, **kwargs)
        return pl.concat([staged_votes] * 2), repeats

    monkeypatch.setattr(votes, "votes_frame", read_with_a_slip)
    result = run_cli("load", "votes", str(source), expect=1)
    assert "(image_id, worker_id) is unique" in result.output
    assert any(p.name.endswith("votes.csv") for p in quarantined(warehouse))
    assert query(warehouse, "SELECT count(*) FROM raw.external_votes") == [(0,)]

    monkeypatch.setattr(votes, "votes_frame", read)
    run_cli("load", "votes", str(source))
    assert query(warehouse, "SELECT image_id, selected FROM raw.external_votes ORDER BY 1") == [
        ("t1", True), ("t2", False)]


def test_an_expectation_great_expectations_cannot_evaluate_fails_saying_why():
    # GX 1.x reports an expectation that raised under the metric's id, not at the top of
    # exception_info: the failure read as "0 of 2 row(s) fail" with no reason.
    frame = pl.DataFrame({"image_id": ["a", "b"], "score": ["0.5", "high"]})
    [outcome] = run_suite(frame, Suite("t", (probability("score"),), ("image_id",)), screen=False)
    assert not outcome.success and outcome.is_error
    assert outcome.examples == [{"exception": "Column values, min_value, and max_value must either be None or of "
                                              "the same type."}]
    assert outcome.sentence() == ("t: error: could not check score is a probability in [0, 1] "
                                  "[ExpectColumnValuesToBeBetween(score)]: " + outcome.examples[0]["exception"])


def test_a_missing_value_in_an_example_row_is_null_so_the_examples_are_strict_json():
    # pandas hands GX a missing string as NaN: it reached quarantine's .json and dq_results as NaN,
    # which strict JSON readers (and DuckDB's ::JSON) refuse.
    votes = pl.DataFrame({"source_row": [2, 3], "image_id": ["a", "b"], "worker_id": ["w", None],
                          "selected": [True, False]})
    outcomes = {o.expectation: o for o in run_suite(votes, BATCH_SUITES["votes"]["votes"])}
    missing = outcomes["ExpectColumnValuesToNotBeNull(worker_id)"]
    assert missing.examples == [{"image_id": "b", "source_row": 3, "worker_id": None}]
    assert json.loads(json.dumps(missing.examples, allow_nan=False)) == missing.examples


def test_a_validation_run_that_cannot_be_recorded_whole_records_none_of_it(warehouse):
    # executemany commits row by row: a run cut short stayed as the newest run, its later outcomes
    # (here a failure the report should show) missing.
    passed = Outcome("raw.gold", "ExpectColumnValuesToNotBeNull(truth)", ["truth"], "truth is never empty",
                     "critical", True, 3, 0)
    unrecordable = Outcome("raw.gold", "ExpectColumnValuesToBeUnique(image_id)", ["image_id"], "image_id is unique",
                           "critical", False, 2**70, 2)  # no BIGINT holds this count
    with open_warehouse(warehouse, read_only=False) as con:
        with pytest.raises(duckdb.Error):
            results.record_results(con, [passed, passed, unrecordable])
        assert con.execute("SELECT count(*) FROM meta.dq_results").fetchall() == [(0,)]
        assert results.latest_results(con).is_empty()


def test_the_gate_counts_every_bad_row_not_just_a_sample():
    n = SAMPLE_ROWS * 5
    frame = pl.DataFrame({
        "source_row": range(2, n + 2),
        "hit_id": [f"H{i}" for i in range(n)],
        "slot": [1] * n,
        "image_id": [f"https://x.example/{i}.jpg" if i % 1000 else f"javascript:alert({i})" for i in range(n)],
    })
    suite = Suite("hit_items", HIT_ITEM_RULES, ("hit_id", "slot"))
    outcomes = {o.expectation: o for o in run_suite(frame, suite)}
    url = outcomes["ExpectColumnValuesToMatchRegex(image_id)"]
    assert not url.success and url.unexpected_count == n // 1000 and url.element_count == n
    assert outcomes["ExpectCompoundColumnsToBeUnique(hit_id, slot)"].success


def test_great_expectations_is_not_imported_by_the_cli_until_it_validates():
    code = "import sys, etl.cli, etl.load.batch_results; print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_report_shows_the_latest_validation(demo_copy, run_cli, tmp_path):
    report = tmp_path / "report.html"
    run_cli("report", "-o", str(report))
    assert "No validation run yet" in report.read_text(encoding="utf-8")
    con = duckdb.connect(str(demo_copy))
    con.execute("UPDATE main.labels SET p_yes = 1.5 WHERE image_id = (SELECT min(image_id) FROM main.labels)")
    con.close()
    run_cli("validate", expect=1)
    run_cli("report", "-o", str(report))
    html = report.read_text(encoding="utf-8")
    assert 'id="data-quality"' in html and "p_yes is a probability in [0, 1]" in html and "1 of " in html


value = st.one_of(st.none(), st.integers(-3, 3))


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["A", "B", "C", None]), value, value,
                               st.sampled_from(["Submitted", "Lost", None]),
                               st.sampled_from(["https://x.example/a.jpg", "javascript:x", "ftp://y", None,
                                                *TRICKY_URLS[:2]]),
                               st.sampled_from([0.5, 1.5, float("nan"), None])),
                     min_size=1, max_size=30))
def test_the_polars_and_sql_screens_agree_with_great_expectations_on_whole_frames(rows):
    frame = pl.DataFrame(rows, schema={"key": pl.String, "a": pl.Int64, "b": pl.Int64, "status": pl.String,
                                       "url": pl.String, "p": pl.Float64}, orient="row")
    suite = Suite("generated", (
        *key("key"), unique_together("key", "status"), between("a", 0, 2), at_least("a", "b", "a ≥ b"),
        Rule("ExpectColumnValuesToBeInSet", {"column": "status", "value_set": ["Submitted"]}), is_url("url"),
        not_null("p"), probability("p"),
    ), ("key",))
    screened = run_suite(frame, suite, gx_when_clean=False)
    whole = run_suite(frame, suite, screen=False)
    assert [(o.success, o.unexpected_count) for o in screened] == [(o.success, o.unexpected_count) for o in whole]
    assert [verdict(o) for o in screened_in_duckdb(frame, suite)[0]] == [verdict(o) for o in whole]


@settings(max_examples=50, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["H1", "H2", None]), st.sampled_from([1, 2, None]),
                               st.sampled_from(["a", "b", None])), max_size=12))
def test_the_key_screen_finds_a_repeat_exactly_when_a_row_mask_would(rows):
    frame = pl.DataFrame(rows, schema={"hit_id": pl.String, "slot": pl.Int64, "image_id": pl.String}, orient="row")
    rules = [*key("hit_id"), unique_together("hit_id", "slot"), unique_together("hit_id", "slot", "image_id")]
    found = {rule.label for rule in rules_with_suspects(frame, rules)}
    by_mask = {rule.label for rule in rules if frame.select(rule.suspect().any()).item()}
    assert found == by_mask
    con = duckdb.connect()
    con.register("generated", frame)
    keys = [rule for rule in rules if rule.is_key]
    assert ({rule.label for rule in keys if con.execute(f"SELECT {rule.repeats_sql()} FROM generated").fetchone()[0]}
            == by_mask & {rule.label for rule in keys})
    for rule in rules:
        in_sql = [flag for (flag,) in con.execute(f"SELECT {rule.suspect_sql('generated')} FROM generated").fetchall()]
        assert in_sql == frame.select(rule.suspect()).to_series().to_list(), rule.label


def screened_in_duckdb(frame: pl.DataFrame, suite: Suite) -> tuple[list[Outcome], int]:
    """Validate's path with no sample: the frame as a DuckDB table, GX on only the rows it screens in.
    Returns the outcomes and how many rows GX saw."""
    con = duckdb.connect()
    con.register("frame", frame)
    rows, count = screened_rows(con, "SELECT * FROM frame", suite, sample=0)
    return run_suite(rows, suite, screen=False, element_count=count), rows.height


def test_great_expectations_takes_nan_for_missing_so_the_sql_screen_hands_it_a_nan_where_none_may_be():
    frame = pl.DataFrame({"image_id": URLS, "score": [0.5, float("nan"), None, 2.0]})
    suite = Suite("scores", (not_null("score"),), ("image_id",))
    screened, rows_seen = screened_in_duckdb(frame, suite)
    assert [verdict(o) for o in screened] == [verdict(o) for o in run_suite(frame, suite, screen=False)]
    assert screened[0].unexpected_count == 2 and rows_seen == 2


def rows_breaking(rule: Rule, frame: pl.DataFrame) -> list[dict]:
    """Copies of `frame`'s first rows, changed so that they break `rule` (or look as if they might)."""
    first, second, third = (frame.row(i % frame.height, named=True) for i in range(3))
    k = rule.kwargs
    column = k.get("column")
    nan = [float("nan")] if column and frame.schema[column].is_float() else []
    if rule.expectation == "ExpectColumnValuesToNotBeNull":
        return [{**first, column: value} for value in [None, *nan]]
    if rule.expectation == "ExpectColumnValuesToBeUnique":
        return [second, {**third, column: None}, {**third, column: None}]
    if rule.expectation == "ExpectCompoundColumnsToBeUnique":
        return [second, *[{**third, k["column_list"][0]: None}] * 2]
    if rule.expectation == "ExpectColumnValuesToBeInSet":
        return [{**first, column: False if k["value_set"] == [True] else "Lost"}]
    if rule.expectation == "ExpectColumnValuesToBeBetween":
        bad = [k["min_value"] - 1, *([k["max_value"] + 1] if k["max_value"] is not None else []), *nan]
        return [{**first, column: value} for value in bad]
    if rule.expectation == "ExpectColumnValuesToMatchRegex":
        return [{**first, column: url} for url in TRICKY_URLS]
    assert rule.expectation == "ExpectColumnPairValuesAToBeGreaterThanB", rule.expectation
    b = first[k["column_B"]]
    return [{**first, k["column_A"]: b - (timedelta(hours=1) if isinstance(b, datetime) else 1)}]


def test_the_sql_screen_hands_great_expectations_every_row_it_fails_for_every_warehouse_rule(
        demo_copy, run_cli, tmp_path):
    votes = tmp_path / "votes.csv"
    votes.write_text("task,worker,label\nt1,w1,1\nt2,w1,0\nt1,w2,1\n", encoding="utf-8")
    run_cli("load", "votes", str(votes))  # the demo has no long-format votes
    with open_warehouse(demo_copy, read_only=True) as con:
        tables = {ws.suite: con.sql(ws.query).pl() for ws in WAREHOUSE_SUITES}
    for suite, table in tables.items():
        clean = table.select(applicable(suite, table.columns)[1])
        broken = pl.concat([clean, pl.DataFrame([row for rule in suite.rules for row in rows_breaking(rule, clean)],
                                                schema=clean.schema, strict=False)])
        whole = run_suite(broken, suite, screen=False)
        assert whole and not any(o.success for o in whole), suite.name
        screened, rows_seen = screened_in_duckdb(broken, suite)
        assert [verdict(o) for o in screened] == [verdict(o) for o in whole], suite.name
        assert rows_seen < broken.height, suite.name


@settings(max_examples=300, deadline=None)
@given(cells=st.lists(st.builds(lambda before, scheme, body, after: before + scheme + body + after,
                                st.sampled_from(["", " ", "\u00a0", "\t", "\u2003"]),
                                st.sampled_from(["https://", "HTTP://", "http:/", "ftp://", ""]),
                                st.text(alphabet=st.sampled_from(["a", "/", ".", " ", "\u00a0", "\u200b", "é", "\n"]),
                                        max_size=8),
                                st.sampled_from(["", " ", "\u3000", "\r\n"])),
                      min_size=1, max_size=20))
def test_a_results_cell_ingest_takes_for_a_url_is_one_the_gates_url_rule_takes(cells):
    """The gate leaves the URL rule out of a results file's HIT items because ingest's own check
    of each Input.image<N> cell (hit_checks) already refuses any that the rule would."""
    from etl.load.batch_results import hit_checks
    from etl.load.mturk_format import blank_to_null

    frame = pl.DataFrame({"Input.image1": cells})
    (_, refused, _), = [check for check in hit_checks({1: "Input.image1"}) if check[0] == "Input.image1"]
    taken = frame.filter(~refused).select(blank_to_null(pl.col("Input.image1")).alias("image_id")).drop_nulls()
    assert not rules_with_suspects(taken, [is_url("image_id")])
