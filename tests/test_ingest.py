"""`crowdaudit ingest`: the results CSV's quirks, votes, idempotence and atomicity."""

from __future__ import annotations

import math
import os
import shlex
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from click.testing import CliRunner
from conftest import query, results_rows, table_fingerprints
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.cli import cli
from etl.simulate import write_results_csv

WESTERN = [f"https://img.example/weddings-european-language/spanish/10{k}/01.jpg" for k in range(1, 7)]
INDIAN = [f"https://img.example/weddings-indian-languages/hindi/20{k}/01.jpg" for k in range(7, 13)]
URLS = WESTERN + INDIAN
HIT = {"3HIT1": URLS}
PREDICTED = [True, True, False, True, False, True, True, False, False, False, True, False]


def slots(*numbers: int) -> str:
    return "|".join(f"image{n}" for n in numbers)


# W3's assignment is rejected, so each image has 2 votes; image4 is the one tie.
ANSWERS = [
    {"AssignmentId": "3A1", "HITId": "3HIT1", "WorkerId": "W1", "selected": slots(9, 1, 2, 3, 4, 7, 8),
     "status": "Approved"},
    {"AssignmentId": "3A2", "HITId": "3HIT1", "WorkerId": "W2", "selected": slots(1, 2, 3, 7, 8, 9),
     "status": "Approved"},
    {"AssignmentId": "3A3", "HITId": "3HIT1", "WorkerId": "W3", "selected": slots(*range(1, 13)),
     "status": "Rejected"},
]


@pytest.fixture
def hand_batch(tmp_path: Path, write_results, run_cli) -> Path:
    predictions = pd.DataFrame({
        "path": URLS,
        "predictions": [str(["groom", "suit", "gown"] if p else ["vestment", "abaya", "cloak"]) for p in PREDICTED],
        "predictions_include_groom_or_bridegroom": PREDICTED,
    })
    predictions.to_csv(tmp_path / "image_paths_and_predictions.csv")
    (tmp_path / "gold.csv").write_text(f"url,truth\n{URLS[0]},true\n{URLS[3]},yes\n{URLS[4]},0\n")
    results = write_results("Batch_42_batch_results.csv", HIT, ANSWERS)
    run_cli("ingest", str(results))
    run_cli("load", "predictions", str(tmp_path / "image_paths_and_predictions.csv"))
    run_cli("load", "gold", str(tmp_path / "gold.csv"))
    run_cli("build")
    return results


def wilson(k: int, n: int, sign: int) -> float:
    z = 1.96
    p = k / n
    return (p + z * z / (2 * n) + sign * z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)


def test_hand_computed_batch_gives_the_expected_majority_labels(hand_batch, warehouse):
    labels = dict(query(warehouse, "SELECT image_id, majority FROM majority_labels"))
    expected = {url: truth for url, truth in zip(URLS, [True, True, True, None, False, False,
                                                          True, True, True, False, False, False])}
    assert labels == expected
    counts = query(warehouse, "SELECT DISTINCT n_votes FROM majority_labels")
    assert counts == [(2,)]  # the rejected assignment's votes are left out


def test_hand_computed_batch_gives_the_expected_classifier_metrics(hand_batch, warehouse):
    rows = query(warehouse, """
        SELECT grouping, grp, n, tp, fp, fn, tn, precision, recall, f1, precision_lo, precision_hi,
               recall_lo, recall_hi
        FROM classifier_metrics WHERE truth_source = 'majority' ORDER BY grouping, grp""")
    by_group = {(r[0], r[1]): r[2:] for r in rows}
    assert by_group[("region", "Western")][:5] == (5, 2, 1, 1, 1)
    assert by_group[("region", "non-Western")][:5] == (6, 1, 1, 2, 2)
    assert by_group[("all", "all")][:5] == (11, 3, 2, 3, 3)
    assert by_group[("language", "spanish")][:5] == (5, 2, 1, 1, 1)
    assert by_group[("language", "hindi")][:5] == (6, 1, 1, 2, 2)
    _n, _tp, _fp, _fn, _tn, precision, recall, f1, p_lo, p_hi, r_lo, r_hi = by_group[("all", "all")]
    assert precision == pytest.approx(0.6)
    assert recall == pytest.approx(0.5)
    assert f1 == pytest.approx(6 / 11)
    assert p_lo == pytest.approx(wilson(3, 5, -1)) and p_hi == pytest.approx(wilson(3, 5, +1))
    assert r_lo == pytest.approx(wilson(3, 6, -1)) and r_hi == pytest.approx(wilson(3, 6, +1))
    western = by_group[("region", "non-Western")]
    assert western[5:8] == pytest.approx((0.5, 1 / 3, 0.4))


def test_gold_metrics_and_worker_gold_accuracy_use_known_answers(hand_batch, warehouse):
    gold = query(warehouse, "SELECT n, tp, fp, fn, tn FROM classifier_metrics "
                            "WHERE truth_source = 'gold' AND grouping = 'all'")
    # gold: image1 true (predicted), image4 true (predicted), image5 false (not predicted)
    assert gold == [(3, 2, 0, 0, 1)]
    accuracy = query(warehouse, "SELECT worker_id, gold_answered, gold_correct FROM worker_gold_accuracy ORDER BY 1")
    assert accuracy == [("W1", 3, 3), ("W2", 3, 2)]
    gold_votes = query(warehouse, "SELECT count(*) FROM votes WHERE is_gold")
    assert gold_votes == [(6,)]


def test_ingesting_the_same_file_twice_changes_no_row(hand_batch, warehouse, run_cli):
    before = table_fingerprints(warehouse)
    result = run_cli("ingest", str(hand_batch))
    assert "already loaded" in result.output
    assert table_fingerprints(warehouse) == before


def test_a_file_of_a_size_loaded_before_is_skipped_without_being_parsed(hand_batch, warehouse, run_cli,
                                                                        monkeypatch):
    from etl.load import batch_results

    def parse_nothing(path):
        raise AssertionError(f"{path} was parsed although the warehouse holds it")

    monkeypatch.setattr(batch_results, "staged_frames", parse_nothing)
    assert "already loaded" in run_cli("ingest", str(hand_batch)).output


def test_rows_read_counts_every_row_of_a_results_file_and_a_note_names_the_repeats(write_results, run_cli,
                                                                                  warehouse):
    batch = write_results("Batch_7_batch_results.csv", HIT, [ANSWERS[0], ANSWERS[0], ANSWERS[1]])
    result = run_cli("ingest", str(batch))
    assert "3 rows read, 2 inserted" in result.output
    assert "note: 1 of the 3 rows read repeats an earlier row of the file; it counts once" in result.output
    assert query(warehouse, "SELECT rows_in_file, rows_inserted FROM raw.load_log WHERE kind = 'results'") == [(3, 2)]


def test_the_load_log_keeps_each_file_size_and_sha256(hand_batch, warehouse):
    import hashlib

    logged = query(warehouse, "SELECT sha256, size_bytes FROM raw.load_log WHERE kind = 'results'")
    assert logged == [(hashlib.sha256(hand_batch.read_bytes()).hexdigest(), hand_batch.stat().st_size)]


def test_a_new_file_hashed_while_parsed_is_logged_with_its_sha256(tmp_path, write_results, run_cli, warehouse,
                                                                monkeypatch):
    import hashlib

    from etl.load import transaction

    hashed_in_background = []
    hash_in_background = transaction._hash_in_background
    monkeypatch.setattr(transaction, "_hash_in_background",
                        lambda path: hashed_in_background.append(path) or hash_in_background(path))
    first = write_results("Batch_1_batch_results.csv", HIT, ANSWERS[:1])
    second = write_results("Batch_2_batch_results.csv", {"3HIT2": URLS[::-1]},
                           [{**ANSWERS[1], "AssignmentId": "3B1", "HITId": "3HIT2"}])
    assert first.stat().st_size != second.stat().st_size  # else the second is hashed first, as it may be a copy
    run_cli("ingest", str(first), str(second))
    assert hashed_in_background == [first, second]
    logged = query(warehouse, "SELECT source_file, sha256 FROM raw.load_log WHERE kind = 'results' ORDER BY load_id")
    assert logged == [(str(p), hashlib.sha256(p.read_bytes()).hexdigest()) for p in (first, second)]


def test_a_redownload_with_new_statuses_updates_status_only(tmp_path, write_results, run_cli, warehouse):
    submitted = [dict(a, status="Submitted") for a in ANSWERS]
    run_cli("ingest", str(write_results("Batch_7_batch_results.csv", HIT, submitted)))
    before = query(warehouse, "SELECT * EXCLUDE (assignment_status, approval_time, rejection_time) "
                              "FROM raw.assignments ORDER BY assignment_id")
    redownload = tmp_path / "later" / "Batch_7_batch_results.csv"
    redownload.parent.mkdir()
    redownload.write_bytes(write_results("again.csv", HIT, ANSWERS).read_bytes())
    run_cli("build")
    assert query(warehouse, "SELECT count(*) FROM votes") == [(36,)]
    result = run_cli("ingest", str(redownload))
    assert "0 inserted, 3 updated" in result.output
    run_cli("build")
    assert query(warehouse, "SELECT count(*), count(*) FILTER (worker_id = 'W3') FROM votes") == [(24, 0)]
    after = query(warehouse, "SELECT * EXCLUDE (assignment_status, approval_time, rejection_time) "
                             "FROM raw.assignments ORDER BY assignment_id")
    assert after == before
    statuses = query(warehouse, "SELECT assignment_id, assignment_status, approval_time, rejection_time "
                                "FROM raw.assignments ORDER BY 1")
    assert statuses == [
        ("3A1", "Approved", datetime(2019, 2, 21, 17, 0), None),
        ("3A2", "Approved", datetime(2019, 2, 21, 17, 0), None),
        ("3A3", "Rejected", None, datetime(2019, 2, 21, 17, 0)),
    ]
    # Loading the older file again does not undo the decisions.
    older = tmp_path / "older.csv"
    older.write_bytes(write_results("older-src.csv", HIT, submitted).read_bytes() + b"")
    run_cli("ingest", str(older))
    assert query(warehouse, "SELECT count(*) FROM raw.assignments WHERE assignment_status = 'Submitted'") == [(0,)]


def test_a_changed_decision_in_an_export_without_decision_times_is_kept_out_and_said(tmp_path, run_cli, warehouse):
    """Which of two decisions is newer goes by ApprovalTime/RejectionTime; an export trimmed of them
    cannot tell, so the warehouse's stays. A rejection overturned on the site stayed a rejection
    under "nothing changed", its votes out of every mart."""
    def trimmed(name: str, status: str) -> Path:
        rows = results_rows(HIT, [dict(ANSWERS[0], status=status)]).drop("ApprovalTime", "RejectionTime")
        return write_results_csv(rows, tmp_path / name)

    run_cli("ingest", str(trimmed("Batch_7_batch_results.csv", "Rejected")))
    out = run_cli("ingest", str(trimmed("Batch_7_batch_results (1).csv", "Approved"))).output
    assert ("note: 1 assignment(s) have another decision in the file than in the warehouse (e.g. 3A1: Approved in "
            "the file, Rejected in the warehouse)") in out, out
    assert query(warehouse, "SELECT assignment_status FROM raw.assignments") == [("Rejected",)]


def test_a_hit_given_more_assignments_on_the_site_keeps_its_new_count_whichever_download_loads_last(
        tmp_path, run_cli, warehouse):
    """needs_more_votes prices fees by the HIT's assignments (40% from 10) and extend counts what
    was asked for: the first download's 3 stayed for good."""
    def download(name: str, max_assignments: str) -> Path:
        rows = results_rows(HIT, ANSWERS[:2]).with_columns(pl.lit(max_assignments).alias("MaxAssignments"))
        return write_results_csv(rows, tmp_path / name)

    first, extended = download("Batch_7_batch_results.csv", "3"), download("Batch_7_batch_results (1).csv", "12")
    run_cli("ingest", str(first))
    out = run_cli("ingest", str(extended)).output
    assert "1 HIT(s) ask for more assignments" in out and "nothing changed" not in out, out
    assert query(warehouse, "SELECT max_assignments FROM raw.hits") == [(12,)]
    first.write_bytes(first.read_bytes() + b"\r\n")  # the older download again, as another file
    run_cli("ingest", str(first))
    assert query(warehouse, "SELECT max_assignments FROM raw.hits") == [(12,)]


def test_mturk_timestamps_are_stored_in_utc(hand_batch, warehouse):
    accept, submit = query(warehouse, "SELECT accept_time, submit_time FROM raw.assignments LIMIT 1")[0]
    assert accept == datetime(2019, 2, 20, 20, 0, 0)  # 12:00 PST
    assert submit == datetime(2019, 2, 20, 20, 1, 40)
    created = query(warehouse, "SELECT creation_time, reward FROM raw.hits")[0]
    assert created[0] == datetime(2019, 2, 20, 19, 4, 42)
    assert float(created[1]) == 0.01


def test_summer_timestamps_use_pacific_daylight_time(tmp_path, run_cli, warehouse):
    header = '"HITId","AssignmentId","WorkerId","AssignmentStatus","AcceptTime","Input.image1","Answer.selected"'
    row = f'"H","A","W","Submitted","Sun Jul 07 09:00:01 PDT 2019","{URLS[0]}","image1"'
    path = tmp_path / "summer.csv"
    path.write_text(header + "\n" + row + "\n")
    run_cli("ingest", str(path))
    assert query(warehouse, "SELECT accept_time FROM raw.assignments") == [(datetime(2019, 7, 7, 16, 0, 1),)]


def test_an_approval_time_written_in_utc_as_2015_downloads_do_is_stored_as_that_instant(tmp_path, run_cli,
                                                                                      warehouse):
    # The site's 2015-2016 downloads write an auto-approval's ApprovalTime as '2015-03-03 22:44:13 UTC'
    # (reflect9/mturk-labeling-analysis, batch_results/); a column may mix it with the Pacific form.
    approved = [{"AssignmentId": f"A{k}", "HITId": "3HIT1", "WorkerId": f"W{k}", "selected": "image1",
                 "status": "Approved"} for k in range(1, 4)]
    rows = results_rows(HIT, approved).with_columns(pl.Series("ApprovalTime", [
        "2015-03-03 22:44:13 UTC", "2015-03-04 04:39:13 GMT", "Tue Mar 03 14:42:24 PST 2015"]))
    run_cli("ingest", str(write_results_csv(rows, tmp_path / "Batch_1839815_batch_results.csv")))
    assert query(warehouse, "SELECT assignment_id, approval_time FROM raw.assignments ORDER BY 1") == [
        ("A1", datetime(2015, 3, 3, 22, 44, 13)),
        ("A2", datetime(2015, 3, 4, 4, 39, 13)),
        ("A3", datetime(2015, 3, 3, 22, 42, 24)),
    ]


def test_an_approval_rate_out_of_no_hits_is_no_rate_not_zero_percent(tmp_path, run_cli, warehouse):
    # '0% (0/0)' is what the site writes for a worker it gives no history of (and what `hits results`
    # writes, the API giving none): staging must not read it as a worker whose every HIT was rejected.
    rows = results_rows(HIT, ANSWERS[:2]).with_columns(
        pl.Series("LifetimeApprovalRate", ["0% (0/0)", "95% (19/20)"]),
        pl.Series("Last30DaysApprovalRate", ["0% (0/0)", "100% (4/4)"]),
        pl.Series("Last7DaysApprovalRate", ["0% (0/0)", "0% (0/3)"]),
    )
    run_cli("ingest", str(write_results_csv(rows, tmp_path / "rates.csv")))
    run_cli("build")
    assert query(warehouse, """
        SELECT worker_id, lifetime_approval_rate, lifetime_approved, lifetime_submitted,
               last30_days_approval_rate, last7_days_approval_rate
        FROM staging.stg_assignments ORDER BY worker_id""") == [
        ("W1", None, 0, 0, None, None),
        ("W2", 0.95, 19, 20, 1.0, 0.0),
    ]


def test_a_results_file_with_5_images_per_row_ingests(write_results, run_cli, warehouse):
    hits = {"H5a": URLS[:5], "H5b": URLS[5:9]}  # the last HIT of the batch has a blank slot
    answers = [
        {"AssignmentId": "A1", "HITId": "H5a", "WorkerId": "W1", "selected": "image5|image1"},
        {"AssignmentId": "A2", "HITId": "H5b", "WorkerId": "W1", "selected": "none_of_the_above"},
        {"AssignmentId": "A3", "HITId": "H5b", "WorkerId": "W2", "selected": ""},
    ]
    run_cli("ingest", str(write_results("five.csv", hits, answers)))
    run_cli("build")
    assert query(warehouse, "SELECT max(slot), count(*) FROM votes") == [(5, 13)]
    assert query(warehouse, "SELECT image_id FROM votes WHERE selected ORDER BY slot") == [(URLS[0],), (URLS[4],)]
    assert query(warehouse, "SELECT n_slots FROM raw.hits ORDER BY hit_id") == [(5,), (5,)]


def test_image_urls_with_an_upper_case_scheme_ingest_as_written(write_results, run_cli, warehouse):
    urls = ["HTTPS://img.example/a.jpg", "Http://img.example/b.jpg"]
    answers = [{"AssignmentId": "A1", "HITId": "H1", "WorkerId": "W1", "selected": "image2"}]
    run_cli("ingest", str(write_results("upper.csv", {"H1": urls}, answers)))
    assert query(warehouse, "SELECT image_id FROM raw.hit_items ORDER BY slot") == [(urls[0],), (urls[1],)]


def test_a_results_file_with_20_images_per_row_ingests(write_results, run_cli, warehouse):
    urls = [f"https://img.example/weddings-indian-languages/tamil/50{k:02d}/01.jpg" for k in range(20)]
    answers = [{"AssignmentId": "A1", "HITId": "H20", "WorkerId": "W1", "selected": "image20|image11"}]
    run_cli("ingest", str(write_results("twenty.csv", {"H20": urls}, answers)))
    run_cli("build")
    assert query(warehouse, "SELECT count(*), max(slot) FROM votes") == [(20, 20)]
    assert query(warehouse, "SELECT image_id FROM votes WHERE selected ORDER BY slot") == [(urls[10],), (urls[19],)]


def test_images_first_seen_in_results_get_language_and_word_from_the_url(hand_batch, warehouse):
    rows = query(warehouse, "SELECT language, word, region FROM images WHERE image_id = ?".replace("?", f"'{INDIAN[0]}'"))
    assert rows == [("hindi", "207", "non-Western")]


def test_images_first_seen_whose_url_names_no_known_language_are_counted_in_a_note(write_results, run_cli,
                                                                                   warehouse, tmp_path):
    # They get region 'unknown' (out of the Western/non-Western comparison), and ingest said nothing.
    german = "https://img.example/weddings-european-language/deutsch/10/01.jpg"
    flat = "https://img.example/b.jpg"
    answers = [{"AssignmentId": "A1", "HITId": "H1", "WorkerId": "W1", "selected": "image1"}]
    result = run_cli("ingest", str(write_results("Batch_1_batch_results.csv", {"H1": [flat, german, INDIAN[0]]},
                                                 answers)))
    assert f"note: 2 image(s) first seen here get region 'unknown' (first: {flat})" in result.output
    assert "load regions FILE.csv" in result.output

    (tmp_path / "regions.csv").write_text("language,region\ndeutsch,Western\n")
    run_cli("load", "regions", str(tmp_path / "regions.csv"))
    more = [{"AssignmentId": "A2", "HITId": "H2", "WorkerId": "W1", "selected": ""}]
    german_too = german.replace("/10/", "/11/")
    assert "note" not in run_cli("ingest", str(write_results("Batch_2_batch_results.csv", {"H2": [german_too, flat]},
                                                             more))).output  # b.jpg is not first seen here
    run_cli("build")
    assert query(warehouse, "SELECT image_id, region FROM images ORDER BY 1") == [
        ("https://img.example/b.jpg", "unknown"), (german, "Western"), (german_too, "Western"),
        (INDIAN[0], "non-Western")]


def test_site_quirks_bom_crlf_quoted_commas_newlines_and_short_rows(tmp_path, run_cli, warehouse):
    header = ('"HITId","Title","Description","AssignmentId","WorkerId","AssignmentStatus","RequesterFeedback",'
              '"Reward","LifetimeApprovalRate","Input.image1","Input.image2","Answer.selected","Approve","Reject"')
    hit = '"H1","Wedding, or ""not""?","Tick each one:\r\nbride, groom","'
    rows = [
        (f'{hit}A1","W1","Approved","Good, thanks.\r\nSee ""notes""","$0.05","100% (94/94)","{URLS[0]}",'
         f'"{URLS[1]}","image2"'),
        f'{hit}A2","W2","Submitted","","$0.05","0% (0/0)","{URLS[0]}","{URLS[1]}","image2|image1",""',
    ]
    path = tmp_path / "quirky.csv"
    # A blank line inside and two at the end (a hand-edited or concatenated file) hold nothing.
    text = "\ufeff" + header + "\r\n" + rows[0] + "\r\n\r\n" + rows[1] + "\r\n\r\n\r\n"
    path.write_bytes(text.encode("utf-8"))
    run_cli("ingest", str(path))
    feedback = query(warehouse, "SELECT requester_feedback, selected_slots, lifetime_approval_rate, source_row "
                                "FROM raw.assignments ORDER BY 1 NULLS LAST")
    assert feedback[0] == ('Good, thanks.\r\nSee "notes"', [2], "100% (94/94)", 2)
    assert feedback[1] == (None, [1, 2], "0% (0/0)", 4)
    assert query(warehouse, "SELECT title, description, reward FROM raw.hits") == [
        ('Wedding, or "not"?', "Tick each one:\r\nbride, groom", Decimal("0.0500"))]


def test_a_row_cut_short_is_refused_while_empty_cells_of_a_re_saved_file_load(tmp_path, write_results, run_cli,
                                                                              warehouse):
    answers = [{"AssignmentId": f"A{k}", "HITId": "H1", "WorkerId": f"W{k}", "selected": s}
               for k, s in enumerate(["image1", "", "image2|image3", ""])]
    site_file = write_results("site.csv", {"H1": URLS[:3]}, answers)
    # Re-saved by pandas: no quotes, every field written, so an empty answer is an unquoted empty cell.
    re_saved = tmp_path / "re_saved.csv"
    pd.read_csv(site_file, dtype=str, keep_default_na=False).to_csv(re_saved, index=False)
    lines = re_saved.read_text(encoding="utf-8").splitlines(keepends=True)
    cut = tmp_path / "cut.csv"
    # Row 3 (an empty answer, unquoted) is fine; row 4 loses its last image, its answer and beyond.
    cut.write_text("".join([*lines[:3], lines[3].split(URLS[2])[0].rstrip(",") + "\n", *lines[4:]]),
                   encoding="utf-8")
    result = run_cli("ingest", str(cut), expect=1)
    assert "row 4, column Input.image3" in result.output and "cut off" in result.output
    assert not warehouse.exists() or query(warehouse, "SELECT count(*) FROM raw.assignments") == [(0,)]
    run_cli("ingest", str(re_saved))
    assert query(warehouse, "SELECT assignment_id, selected_slots FROM raw.assignments ORDER BY 1") == [
        ("A0", [1]), ("A1", []), ("A2", [2, 3]), ("A3", [])]


def test_a_download_cut_inside_its_last_unquoted_answer_is_refused_and_the_whole_file_loads_later(
        tmp_path, write_results, run_cli, warehouse):
    # A results file written without quotes (pandas, a converter script) and read while still being
    # downloaded: "image1|image12" cut to "image1|image1" is a valid answer in a row that may leave
    # out Approve and Reject. It loaded as the worker's answer, and the complete file was refused
    # every night after ("a results file cannot change what a worker answered").
    answers = [{"AssignmentId": f"A{k}", "HITId": "H1", "WorkerId": f"W{k}", "selected": s}
               for k, s in enumerate(["image1", "image2|image12"])]
    site_file = write_results("site.csv", {"H1": URLS}, answers)
    unquoted = pd.read_csv(site_file, dtype=str, keep_default_na=False).to_csv(index=False).splitlines()
    assert unquoted[0].endswith(",Approve,Reject")
    # As the site writes rows: the empty Approve and Reject left off.
    whole = "".join(f"{line.rstrip(',') if k else line}\r\n" for k, line in enumerate(unquoted)).encode()
    downloading = tmp_path / "Batch_1_batch_results.csv"
    downloading.write_bytes(whole[:whole.rindex(b"image12") + len(b"image1")])
    result = run_cli("ingest", str(downloading), expect=1)
    assert "row 3, column Answer.selected" in result.output and "unfinished" in result.output
    downloading.write_bytes(whole)
    run_cli("ingest", str(downloading))
    assert query(warehouse, "SELECT assignment_id, selected_slots FROM raw.assignments ORDER BY 1") == [
        ("A0", [1]), ("A1", [2, 12])]


def test_a_file_without_a_line_break_after_its_last_whole_row_still_loads(tmp_path, write_results, run_cli,
                                                                         warehouse):
    # A spreadsheet's export (every field of every row, no line break at the end) is not cut off.
    answers = [{"AssignmentId": "A0", "HITId": "H1", "WorkerId": "W0", "selected": "image12"}]
    site_file = write_results("site.csv", {"H1": URLS}, answers)
    exported = tmp_path / "exported_results.csv"
    exported.write_text(pd.read_csv(site_file, dtype=str, keep_default_na=False).to_csv(index=False).rstrip("\n"),
                        encoding="utf-8")
    run_cli("ingest", str(exported))
    assert query(warehouse, "SELECT selected_slots FROM raw.assignments") == [([12],)]


def test_a_malformed_file_leaves_the_warehouse_exactly_as_it_was(hand_batch, tmp_path, warehouse, run_cli):
    before = table_fingerprints(warehouse)
    good = hand_batch.read_text(encoding="utf-8").splitlines(keepends=True)
    bad_row = good[2].replace("Wed Feb 20 12:00:00 PST 2019", "2/20/2019 12:00")
    extra = good[1].replace("3A1", "3A9")  # a new assignment that would otherwise load
    bad = tmp_path / "bad.csv"
    bad.write_text(good[0] + extra + bad_row, encoding="utf-8")
    result = run_cli("ingest", str(bad), expect=1)
    assert "bad.csv" in result.output and "row 3" in result.output and "AcceptTime" in result.output
    assert table_fingerprints(warehouse) == before


def test_an_answer_naming_a_missing_slot_is_refused_with_row_and_column(write_results, run_cli, warehouse):
    path = write_results("slots.csv", {"H": URLS[:3]}, [
        {"AssignmentId": "A1", "HITId": "H", "WorkerId": "W", "selected": "image1"},
        {"AssignmentId": "A2", "HITId": "H", "WorkerId": "V", "selected": "image2|image7"},
    ])
    result = run_cli("ingest", str(path), expect=1)
    assert "row 3" in result.output and "Answer.selected" in result.output and "image7" in result.output
    assert not warehouse.exists() or query(warehouse, "SELECT count(*) FROM raw.assignments") == [(0,)]


def test_ticking_a_blank_slot_of_the_last_hit_is_refused_with_row_and_column(write_results, run_cli, warehouse):
    path = write_results("blank_slot.csv", {"H1": URLS[:3], "H2": URLS[3:5]}, [
        {"AssignmentId": "A1", "HITId": "H1", "WorkerId": "W", "selected": "image3"},
        {"AssignmentId": "A2", "HITId": "H2", "WorkerId": "W", "selected": "image2"},
        {"AssignmentId": "A3", "HITId": "H2", "WorkerId": "V", "selected": "image3|image1"},
        {"AssignmentId": "A4", "HITId": "H2", "WorkerId": "U", "selected": "image3|image1"},
    ])
    result = run_cli("ingest", str(path), expect=1)
    assert "row 4" in result.output and "Answer.selected" in result.output
    assert "slot image3, which holds no image" in result.output


def test_per_slot_checkbox_answer_columns_are_read_when_there_is_no_answer_selected(tmp_path, run_cli, warehouse):
    # Crowd HTML checkboxes named image<N> come back as Answer.image<N>.on = true/false.
    frame = results_rows({"H1": URLS[:3]}, [
        {"AssignmentId": "A1", "HITId": "H1", "WorkerId": "W1", "selected": ""},
        {"AssignmentId": "A2", "HITId": "H1", "WorkerId": "W2", "selected": ""},
    ]).drop("Answer.selected").with_columns(
        pl.Series("Answer.image1.on", ["true", "false"]),
        pl.Series("Answer.image2.on", ["false", "false"]),
        pl.Series("Answer.image3.on", ["TRUE", "true"]),
    )
    run_cli("ingest", str(write_results_csv(frame, tmp_path / "checkboxes.csv")))
    assert query(warehouse, "SELECT assignment_id, selected_slots FROM raw.assignments ORDER BY 1") == [
        ("A1", [1, 3]), ("A2", [3]),
    ]


def test_checkboxes_sharing_name_selected_are_read_from_the_columns_the_site_flattens_them_into(
        tmp_path, run_cli, warehouse):
    # <crowd-checkbox name="selected" value="image3"> posts {"selected": {"image3": true}}; the
    # site's download writes it as a column per value, Answer.selected.image3 = true/false.
    frame = results_rows({"H1": URLS[:3]}, [
        {"AssignmentId": "A1", "HITId": "H1", "WorkerId": "W1", "selected": ""},
        {"AssignmentId": "A2", "HITId": "H1", "WorkerId": "W2", "selected": ""},
    ]).drop("Answer.selected").with_columns(
        pl.Series("Answer.selected.image1", ["true", "false"]),
        pl.Series("Answer.selected.image2", ["false", "false"]),
        pl.Series("Answer.selected.image3", ["true", "false"]),
        pl.Series("Answer.selected.none_of_the_above", ["false", "true"]),
    )
    run_cli("ingest", str(write_results_csv(frame, tmp_path / "crowd_form_flattened.csv")))
    assert query(warehouse, "SELECT assignment_id, selected_slots FROM raw.assignments ORDER BY 1") == [
        ("A1", [1, 3]), ("A2", []),
    ]


def test_a_slot_with_two_checkbox_columns_is_ticked_when_either_column_says_so(tmp_path, run_cli, warehouse):
    # A file holding rows of two forms (name="image3" and name="selected" value="image3") has
    # both Answer.image3.on and Answer.selected.image3: reading one column per slot dropped the
    # ticks of the other form's rows, a "no" vote the worker never gave.
    frame = results_rows({"H1": URLS[:3]}, [
        {"AssignmentId": "A1", "HITId": "H1", "WorkerId": "W1", "selected": ""},
        {"AssignmentId": "A2", "HITId": "H1", "WorkerId": "W2", "selected": ""},
    ]).drop("Answer.selected").with_columns(
        pl.Series("Answer.image1.on", ["true", ""]),
        pl.Series("Answer.image3.on", ["true", ""]),
        pl.Series("Answer.selected.image1", ["", "false"]),
        pl.Series("Answer.selected.image3", ["", "true"]),
    )
    run_cli("ingest", str(write_results_csv(frame, tmp_path / "two_forms.csv")))
    assert query(warehouse, "SELECT assignment_id, selected_slots FROM raw.assignments ORDER BY 1") == [
        ("A1", [1, 3]), ("A2", [3]),
    ]


def test_a_tick_in_a_flattened_selected_checkbox_that_is_no_slot_is_refused_naming_row_and_column(
        tmp_path, run_cli, warehouse):
    # {"selected": {"wedding": true}} in a crowd-form's JSON is refused; so is its flattened column.
    frame = results_rows({"H1": URLS[:3]}, [
        {"AssignmentId": f"A{k}", "HITId": "H1", "WorkerId": f"W{k}", "selected": ""} for k in range(2)
    ]).drop("Answer.selected").with_columns(
        pl.Series("Answer.selected.image1", ["true", "true"]),
        pl.Series("Answer.selected.image2", ["false", "false"]),
        pl.Series("Answer.selected.image3", ["false", "false"]),
        pl.Series("Answer.selected.wedding", ["false", "true"]),
    )
    run_cli("ingest", str(write_results_csv(frame.head(1), tmp_path / "first.csv")))
    before = table_fingerprints(warehouse)
    result = run_cli("ingest", str(write_results_csv(frame, tmp_path / "other_value.csv")), expect=1)
    assert ("other_value.csv, row 3, column Answer.selected.wedding: 'true' ticks the checkbox 'wedding' of "
            "Answer.selected, which is not a slot name (image1, image2, ...) or none_of_the_above") in result.output
    assert table_fingerprints(warehouse) == before


def test_a_per_slot_checkbox_is_read_from_every_spelling_of_ticked_and_of_not_ticked(tmp_path, run_cli,
                                                                                     warehouse):
    from etl.hits.answers import FALSY, TRUTHY

    spellings = [*TRUTHY, " On ", "YES", *FALSY, "Off", " ", "", None]
    frame = results_rows({"H1": URLS[:3]}, [
        {"AssignmentId": f"A{k:02}", "HITId": "H1", "WorkerId": f"W{k}", "selected": ""} for k in range(len(spellings))
    ]).drop("Answer.selected").with_columns(
        pl.Series("Answer.image1", spellings, dtype=pl.String),
        pl.Series("Answer.image2", ["1"] * len(spellings)),
        pl.Series("Answer.image3", ["0"] * len(spellings)),
    )
    run_cli("ingest", str(write_results_csv(frame, tmp_path / "checkboxes.csv")))
    ticked = len(TRUTHY) + 2
    assert query(warehouse, "SELECT selected_slots FROM raw.assignments ORDER BY assignment_id") == (
        [([1, 2],)] * ticked + [([2],)] * (len(spellings) - ticked))


def test_a_per_slot_checkbox_value_that_says_neither_ticked_nor_not_is_refused_naming_row_column_and_value(
        tmp_path, run_cli, warehouse):
    # A classic HTML checkbox with value="wedding" posts 'wedding' when ticked: read as no tick,
    # it was a "no" vote on the image.
    def checkboxes(image2: list[str]) -> pl.DataFrame:
        return results_rows({"H1": URLS[:3]}, [
            {"AssignmentId": f"A{k}", "HITId": "H1", "WorkerId": f"W{k}", "selected": ""} for k in range(len(image2))
        ]).drop("Answer.selected").with_columns(
            pl.Series("Answer.image1.on", ["true"] * len(image2)), pl.Series("Answer.image2.on", image2),
            pl.Series("Answer.image3.on", ["false"] * len(image2)))

    run_cli("ingest", str(write_results_csv(checkboxes(["false"]), tmp_path / "first.csv")))
    before = table_fingerprints(warehouse)
    path = write_results_csv(checkboxes(["true", "", " Wedding", "maybe"]), tmp_path / "value_attribute.csv")
    result = run_cli("ingest", str(path), expect=1)
    assert "value_attribute.csv, row 4, column Answer.image2.on: checkbox value ' Wedding' is none of those" \
        in result.output
    assert "ticked (true, on, 1, yes, y) or not ticked (false, off, 0, no, n, blank)" in result.output
    assert table_fingerprints(warehouse) == before


def test_a_crowd_forms_task_answers_json_is_read_as_the_slots_it_ticks(tmp_path, run_cli, warehouse):
    # A <crowd-form> posts one JSON document; checkboxes named image<N> come back as {"on": true}.
    frame = results_rows({"H1": URLS[:3]}, [
        {"AssignmentId": "A1", "HITId": "H1", "WorkerId": "W1", "selected": ""},
        {"AssignmentId": "A2", "HITId": "H1", "WorkerId": "W2", "selected": ""},
        {"AssignmentId": "A3", "HITId": "H1", "WorkerId": "W3", "selected": ""},
    ]).drop("Answer.selected").with_columns(pl.Series("Answer.taskAnswers", [
        '[{"comments":"blurry, sorry","image1":{"on":true},"image2":{"on":false},"image3":{"on":true}}]',
        '[{"image1":{"on":false},"image2":{"on":false},"image3":{"on":false}}]',
        '[{"image1":{"on":false},"image2":{"on":true},"image3":{"on":false}}]',
    ]))
    run_cli("ingest", str(write_results_csv(frame, tmp_path / "crowd_form.csv")))
    assert query(warehouse, "SELECT assignment_id, selected_slots FROM raw.assignments ORDER BY 1") == [
        ("A1", [1, 3]), ("A2", []), ("A3", [2]),
    ]
    # The document itself is kept, comment and all.
    assert "blurry, sorry" in query(warehouse, "SELECT extra FROM raw.assignments WHERE assignment_id = 'A1'")[0][0]
    run_cli("build")
    assert query(warehouse, "SELECT image_id, n_votes, n_yes FROM vote_counts ORDER BY 1") == sorted(
        [(URLS[0], 3, 1), (URLS[1], 3, 1), (URLS[2], 3, 1)])
    # A later file cannot change what a worker answered; the message names the answer column.
    changed = frame.with_columns(pl.col("Answer.taskAnswers").str.replace(
        '"image2":{"on":true}', '"image2":{"on":false}', literal=True))
    result = run_cli("ingest", str(write_results_csv(changed, tmp_path / "changed.csv")), expect=1)
    assert "column Answer.taskAnswers" in result.output and "with a different answer" in result.output


def test_a_results_file_whose_answer_columns_are_all_foreign_is_refused_naming_them(tmp_path, run_cli, warehouse):
    frame = results_rows({"H1": URLS[:3]}, [
        {"AssignmentId": "A1", "HITId": "H1", "WorkerId": "W1", "selected": ""},
    ]).drop("Answer.selected").with_columns(pl.Series("Answer.choice", ["image2"]), pl.Series("Answer.comment", ["ok"]))
    result = run_cli("ingest", str(write_results_csv(frame, tmp_path / "other_form.csv")), expect=1)
    assert "no answer column" in result.output and "it has Answer.choice, Answer.comment" in result.output
    assert not warehouse.exists() or query(warehouse, "SELECT count(*) FROM raw.assignments") == [(0,)]


def test_a_task_answers_cell_that_is_not_json_is_refused_with_row_and_column(tmp_path, run_cli, warehouse):
    frame = results_rows({"H1": URLS[:3]}, [
        {"AssignmentId": "A1", "HITId": "H1", "WorkerId": "W1", "selected": ""},
        {"AssignmentId": "A2", "HITId": "H1", "WorkerId": "W2", "selected": ""},
    ]).drop("Answer.selected").with_columns(pl.Series("Answer.taskAnswers", [
        '[{"image1":{"on":true}}]', '[{"image1":{"on":tru',
    ]))
    result = run_cli("ingest", str(write_results_csv(frame, tmp_path / "cut.csv")), expect=1)
    assert "row 3" in result.output and "Answer.taskAnswers" in result.output and "not JSON" in result.output
    assert not warehouse.exists() or query(warehouse, "SELECT count(*) FROM raw.assignments") == [(0,)]


@pytest.mark.parametrize(("repeated", "name"), [
    ('[{"image3":{"on":true},"image3":{"on":false}}]', "image3"),
    ('[{"image3":{"on":false},"image3":{"on":true}}]', "image3"),
    ('[{"image3":{"on":true,"on":false}}]', "on"),
    ('[{"image3":null,"image2":{"on":true},"image3":{"on":true}}]', "image3"),
    ('[{"image3":{"on":true},"image\\u0033":{"on":false}}]', "image3"),
    ('[{"comments":"a","image3":{"on":true},"comments":"b"}]', "comments"),
])
def test_a_task_answers_text_naming_a_key_twice_is_refused_as_the_api_parser_refuses_it(repeated, name, tmp_path,
                                                                                       run_cli, warehouse):
    # The other rows share one JSON shape, so the file is read by polars' decoder, which keeps one
    # of the two values where the API's parser refuses the answer.
    frame = results_rows({"H1": URLS[:3]}, [
        {"AssignmentId": f"A{k}", "HITId": "H1", "WorkerId": f"W{k}", "selected": ""} for k in range(3)
    ]).drop("Answer.selected").with_columns(pl.Series("Answer.taskAnswers", [
        '[{"image1":{"on":true},"image2":{"on":false},"image3":{"on":false}}]', repeated,
        '[{"image1":{"on":false},"image2":{"on":true},"image3":{"on":true}}]',
    ]))
    result = run_cli("ingest", str(write_results_csv(frame, tmp_path / "twice.csv")), expect=1)
    assert "row 3, column Answer.taskAnswers" in result.output and f"names '{name}' twice" in result.output
    assert not warehouse.exists() or query(warehouse, "SELECT count(*) FROM raw.assignments") == [(0,)]


def crowd_form_rows(task_answers: list[str], first: int = 1) -> pl.DataFrame:
    """A results file over URLS[:3] whose assignments A<first>, A<first + 1>, ... posted these taskAnswers."""
    return results_rows({"H1": URLS[:3]}, [
        {"AssignmentId": f"A{k}", "HITId": "H1", "WorkerId": f"W{k}", "selected": ""}
        for k in range(first, first + len(task_answers))
    ]).drop("Answer.selected").with_columns(pl.Series("Answer.taskAnswers", task_answers))


@pytest.mark.parametrize(("task_answers", "held"), [
    ('[{"wedding3":{"on":true},"comment":""}]', "wedding3, comment"),  # another form's checkbox
    ('[{"img1":true}]', "img1"),
    ('[{"image1.on":true}]', "image1.on"),  # a per-slot column's name, which crowd-form never posts
    ('[{"comment":null}]', "comment"),
    ('[{}]', "none"),  # a form with no named element
])
def test_a_task_answer_naming_no_slot_field_is_refused_at_its_row(task_answers, held, tmp_path, run_cli, warehouse):
    # Read as nothing ticked, it would be a "no" on every image of the HIT. The other rows share one
    # JSON shape, so polars' decoder reads the file, as it does a real one.
    run_cli("ingest", str(write_results_csv(crowd_form_rows(['[{"image1":{"on":true},"image2":{"on":false}}]']),
                                            tmp_path / "first.csv")))
    before = table_fingerprints(warehouse)
    frame = crowd_form_rows(['[{"image1":{"on":true},"image2":{"on":false},"image3":{"on":false}}]', task_answers,
                             '[{"image1":{"on":false},"image2":{"on":true},"image3":{"on":true}}]'], first=2)
    result = run_cli("ingest", str(write_results_csv(frame, tmp_path / "other_form.csv")), expect=1)
    assert "other_form.csv" in result.output and "row 3, column Answer.taskAnswers" in result.output
    assert f"holds no field crowdaudit reads (selected or image<N>): it holds {held}" in result.output
    assert table_fingerprints(warehouse) == before


def test_a_task_answer_posting_no_object_or_only_unticked_slots_is_read_as_nothing_ticked(tmp_path, run_cli,
                                                                                         warehouse):
    frame = crowd_form_rows([
        "", "[]", "null", "[null]",
        '[{"image1":{"on":false},"image2":{"on":false},"image3":{"on":false},"comment":"none here"}]',
        '[{"selected":null}]', '[{"selected":"","comment":"x"}]', '[{"image1":{"on":true},"comment":""}]',
    ])
    run_cli("ingest", str(write_results_csv(frame, tmp_path / "nothing_ticked.csv")))
    assert query(warehouse, "SELECT assignment_id, selected_slots FROM raw.assignments ORDER BY 1") == [
        *((f"A{k}", []) for k in range(1, 8)), ("A8", [1])]


def test_task_answers_texts_polars_may_read_otherwise_are_read_as_the_api_parser_reads_them():
    # A key in two objects of the list, an explicit null, an escaped name: beside texts of one shape.
    from etl.hits.answers import answer_xml, parse_answer_xml
    from etl.load.answer_columns import parse_answers

    texts = ['[{"image1":{"on":true},"image2":{"on":false}}]', '[{"image1":{"on":true}},{"image1":{"on":false}}]',
             '[{"image1":null,"image2":{"on":true}}]', '[{"image\\u0032":{"on":true},"image1":{"on":false}}]',
             '[{"image1":{"on":false},"image2":{"on":false},"comments":null}]']
    frame = pl.DataFrame({"source_row": range(2, len(texts) + 2), "Input.image1": ["u"] * len(texts),
                          "Input.image2": ["u"] * len(texts), "Answer.taskAnswers": texts})
    parsed = parse_answers(frame, {1: "Input.image1", 2: "Input.image2"}, Path("x.csv"))
    assert parsed["selected_slots"].to_list() == [parse_answer_xml(answer_xml([("taskAnswers", t)])) for t in texts]
    assert parsed["selected_slots"].to_list() == [[1], [1], [2], [2], []]


def test_a_task_answers_checkbox_for_a_slot_without_an_image_is_refused(tmp_path, run_cli, warehouse):
    frame = results_rows({"H1": URLS[:3]}, [
        {"AssignmentId": "A1", "HITId": "H1", "WorkerId": "W1", "selected": ""},
    ]).drop("Answer.selected").with_columns(pl.Series("Answer.taskAnswers", ['[{"image7":{"on":true}}]']))
    result = run_cli("ingest", str(write_results_csv(frame, tmp_path / "seven.csv")), expect=1)
    assert "row 2" in result.output and "Answer.taskAnswers" in result.output and "image7" in result.output


CHECKBOX = st.one_of(st.booleans(), st.none(), st.sampled_from(["on", "true", "off", ""]), st.integers(0, 2),
                     st.dictionaries(st.sampled_from(["on", "yes"]), st.one_of(st.booleans(), st.none()), max_size=2))
SELECTED_FIELD = st.one_of(
    st.none(),
    st.lists(st.sampled_from(["image1", "image4", " image2", "none_of_the_above", ""]), max_size=3).map("|".join),
    st.dictionaries(st.sampled_from(["image1", "image3", "image5", "none_of_the_above"]), st.booleans(), max_size=3),
)
TASK_ANSWER_OBJECT = st.fixed_dictionaries({}, optional={
    **{f"image{n}": CHECKBOX for n in range(1, 6)}, "selected": SELECTED_FIELD, "comments": st.text(max_size=5),
})


@settings(max_examples=80, deadline=None)
@given(documents=st.lists(st.one_of(st.lists(TASK_ANSWER_OBJECT, max_size=2), TASK_ANSWER_OBJECT, st.none()),
                          min_size=1, max_size=12),
       same_shape=st.booleans())
def test_task_answers_read_from_a_file_agree_with_the_api_answer_parser(documents, same_shape):
    # The file path decodes all distinct answers at once in polars (or falls back to the reference
    # parser when their shapes differ); the API path parses one answer at a time. Both must agree.
    import json

    from etl.errors import InputFileError
    from etl.hits.answers import AnswerError, answer_xml, parse_answer_xml
    from etl.load.answer_columns import parse_answers

    if same_shape:  # one shape for the whole file, so polars' own decoding is what runs
        documents = [[{"image1": {"on": bool(i % 2)}, "image3": {"on": i % 3 == 0}, "comments": "c"}]
                     for i in range(len(documents))]
    texts = [None if d is None else json.dumps(d) for d in documents]
    frame = pl.DataFrame({
        "source_row": range(2, len(texts) + 2),
        **{f"Input.image{n}": ["u"] * len(texts) for n in range(1, 6)},
        "Answer.taskAnswers": pl.Series(texts, dtype=pl.String),
    })
    try:
        expected = [parse_answer_xml(answer_xml([("taskAnswers", t or "")])) for t in texts]
    except AnswerError:  # a number where a checkbox's flag belongs, an object naming no slot: refused too
        with pytest.raises(InputFileError, match="Answer.taskAnswers"):
            parse_answers(frame, {n: f"Input.image{n}" for n in range(1, 6)}, Path("x.csv"))
        return
    parsed = parse_answers(frame, {n: f"Input.image{n}" for n in range(1, 6)}, Path("x.csv"))
    assert parsed["selected_slots"].to_list() == expected
    assert not parsed["__foreign_token"].any() and not parsed["__slot_without_image"].any()


@settings(max_examples=60, deadline=None)
@given(answers=st.lists(st.lists(st.sampled_from([*(f"image{n}" for n in range(1, 6)), " image2 ", "none_of_the_above",
                                                  ""]), max_size=4).map("|".join), min_size=1, max_size=30))
def test_each_rows_answer_is_the_set_of_slots_it_names_whatever_the_order_or_repeats(answers):
    # Distinct answers are parsed once and joined back; every row must still get its own set.
    from etl.load.answer_columns import parse_answers

    frame = pl.DataFrame({
        "source_row": range(2, len(answers) + 2),
        **{f"Input.image{n}": ["u"] * len(answers) for n in range(1, 6)},
        "Answer.selected": [a or None for a in answers],
    })
    parsed = parse_answers(frame, {n: f"Input.image{n}" for n in range(1, 6)}, Path("x.csv"))
    expected = [sorted({int(t.strip()[5:]) for t in a.split("|") if t.strip() not in ("", "none_of_the_above")})
                for a in answers]
    assert parsed["selected_slots"].to_list() == expected
    assert parsed["source_row"].to_list() == frame["source_row"].to_list()
    assert not parsed["__foreign_token"].any() and not parsed["__slot_without_image"].any()


def test_a_hits_rows_need_not_be_adjacent_in_the_file(write_results, run_cli, warehouse):
    path = write_results("interleaved.csv", {"H1": URLS[:3], "H2": URLS[3:6]}, [
        {"AssignmentId": "A1", "HITId": "H1", "WorkerId": "W1", "selected": "image1"},
        {"AssignmentId": "A2", "HITId": "H2", "WorkerId": "W1", "selected": "image2"},
        {"AssignmentId": "A3", "HITId": "H1", "WorkerId": "W2", "selected": "image3"},
    ])
    run_cli("ingest", str(path))
    assert query(warehouse, "SELECT hit_id, count(*) FROM raw.hit_items GROUP BY 1 ORDER BY 1") == [("H1", 3), ("H2", 3)]
    assert query(warehouse, "SELECT hit_id, list(image_id ORDER BY slot) FROM raw.hit_items GROUP BY 1 ORDER BY 1") == [
        ("H1", URLS[:3]), ("H2", URLS[3:6])]
    assert query(warehouse, "SELECT count(*) FROM raw.hits") == [(2,)]


@pytest.mark.parametrize("order", [["H1", "H1", "H2"], ["H1", "H2", "H1"]], ids=["adjacent", "interleaved"])
def test_a_hit_showing_other_images_in_another_row_is_refused(order, tmp_path, run_cli, warehouse):
    frame = results_rows({"H1": URLS[:3], "H2": URLS[3:6]}, [
        {"AssignmentId": f"A{k}", "HITId": hit, "WorkerId": f"W{k}", "selected": "image1"}
        for k, hit in enumerate(order)
    ])
    last_h1 = len(order) - 1 - order[::-1].index("H1")
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == last_h1).then(pl.lit(URLS[7])).otherwise(pl.col("Input.image2"))
        .alias("Input.image2"))
    result = run_cli("ingest", str(write_results_csv(frame, tmp_path / "two_sets.csv")), expect=1)
    # The row that differs from the HIT's first row is named, with the slot that differs.
    assert f"row {last_h1 + 2}, column Input.image2" in result.output
    assert "HIT H1 shows different images" in result.output


def test_one_bad_file_does_not_stop_the_others(write_results, tmp_path, run_cli, warehouse):
    good = write_results("good.csv", HIT, ANSWERS)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = run_cli("ingest", str(empty), str(good), expect=1)
    assert "empty.csv" in result.output and "the file is empty" in result.output
    assert query(warehouse, "SELECT count(*) FROM raw.assignments") == [(3,)]


def test_hit_items_keep_each_hits_slots_together_and_skip_blank_cells():
    # Adjacent rows of one HIT are what lets DuckDB compress hit_id cheaply; a blank cell (the
    # batch's last HIT) is no item at all.
    from etl.load.batch_results import hit_items_frame

    hits = pl.DataFrame({
        "HITId": ["H1", " H2 ", "H3"],
        "Input.image1": ["u1", "u4", "u7"],
        "Input.image2": ["u2", "u5", " "],
        "Input.image3": ["u3", "u6", ""],
    })
    items = hit_items_frame(hits, {1: "Input.image1", 2: "Input.image2", 3: "Input.image3"})
    assert items.rows() == [
        ("H1", 1, "u1"), ("H1", 2, "u2"), ("H1", 3, "u3"),
        ("H2", 1, "u4"), ("H2", 2, "u5"), ("H2", 3, "u6"),
        ("H3", 1, "u7"),
    ]
    assert items.schema["slot"] == pl.Int32


@pytest.mark.parametrize("users_value", [None, "dirty_decay_ms:0"])
def test_importing_etl_keeps_polars_freed_memory_unless_the_user_configured_it(users_value):
    # Set before polars loads, or it has no effect; a user's own setting is left alone.
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    if users_value:
        env["_RJEM_MALLOC_CONF"] = users_value
    seen = subprocess.run(
        [sys.executable, "-c", "import etl, os; print(os.environ['_RJEM_MALLOC_CONF'])"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert seen == (users_value or "dirty_decay_ms:30000,muzzy_decay_ms:30000")


def test_a_load_logs_start_and_end_are_both_utc_whatever_the_machines_time_zone(hand_batch, warehouse, run_cli,
                                                                                  tmp_path, monkeypatch, write_results):
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # 5:30 ahead of UTC: a local end would come hours after the start
    run_cli("ingest", str(write_results("Batch_8_batch_results.csv", {"3HIT8": URLS},
                                        [{**ANSWERS[0], "AssignmentId": "3A8", "HITId": "3HIT8"}])))
    seconds = query(warehouse, "SELECT date_diff('second', started_at, finished_at) FROM raw.load_log "
                               "WHERE source_file LIKE '%Batch_8%'")
    assert 0 <= seconds[0][0] < 3600


def test_a_one_image_design_is_refused_with_a_load_votes_command_that_loads_it(tmp_path, run_cli, warehouse):
    """The seed's practice HIT shows one image (Input.image_url) and asks for a category: ingest
    cannot read it, and the command its message suggests, copied as it is, must really load the
    answers into the same warehouse (it left out the --warehouse typed, and loaded into the default one)."""
    results = tmp_path / "Batch_9_batch_results.csv"
    header = ["HITId", "AssignmentId", "WorkerId", "AssignmentStatus", "SubmitTime", "Input.image_url",
              "Answer.category.label", "Approve", "Reject"]
    rows = [["3A", "3X1", "A1", "Submitted", "Wed Feb 20 11:05:42 PST 2019", "https://x.org/b/1.jpg", "Indigo Bunting"],
            ["3A", "3X2", "A2", "Submitted", "Wed Feb 20 11:06:42 PST 2019", "https://x.org/b/1.jpg", "Not a bunting"]]
    results.write_bytes(("\r\n".join(",".join(f'"{v}"' for v in line) for line in [header, *rows]) + "\r\n").encode())

    refused = run_cli("ingest", str(results), expect=1)
    assert "no Input.image<N> columns (it has Input.image_url)" in refused.output
    suggested = refused.output.split("long-format votes: ", 1)[1].split(" VALUE", 1)[0]
    words = shlex.split(suggested)
    assert words[:5] == ["crowdaudit", "--warehouse", str(warehouse), "load", "votes"]
    copied = CliRunner().invoke(cli, [*words[1:], "Indigo Bunting"], catch_exceptions=False)
    assert copied.exit_code == 0, copied.output
    run_cli("build")
    assert query(warehouse, "SELECT worker_id, image_id, selected FROM votes ORDER BY worker_id") == [
        ("A1", "https://x.org/b/1.jpg", True), ("A2", "https://x.org/b/1.jpg", False)]


def test_a_file_of_another_design_with_several_inputs_is_refused_without_a_command_that_would_misload_it(
        tmp_path, run_cli, warehouse):
    results = tmp_path / "Batch_8_batch_results.csv"
    results.write_text('"HITId","AssignmentId","WorkerId","AssignmentStatus","Input.img1","Input.img2",'
                       '"Answer.taskAnswers"\r\n"3A","3X1","A1","Submitted","https://x.org/1.jpg","https://x.org/2.jpg",'
                       '"[{""img1"": {""on"": true}}]"\r\n', encoding="utf-8")
    refused = run_cli("ingest", str(results), expect=1)
    assert "no Input.image<N> columns (it has Input.img1, Input.img2)" in refused.output
    assert "load votes" not in refused.output


def test_a_file_without_sandbox_hits_is_not_looked_up_in_every_assignment(tmp_path):
    """The sandbox check reads raw.assignments only for a file holding a HIT published on the
    sandbox: otherwise each file of a nightly folder paid a scan of every assignment loaded in years.
    Here raw.assignments fails when read; the check on a file of ordinary HITs never reads it, and
    on a file holding a sandbox HIT it does."""
    import duckdb

    from etl.load.batch_results import _refuse_new_sandbox_hits
    from etl.load.transaction import staged

    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    con.execute("CREATE TABLE raw.publish_log (hit_id VARCHAR, batch_id VARCHAR, target VARCHAR)")
    con.execute("INSERT INTO raw.publish_log VALUES ('3SANDBOX', 'crowdaudit-1', 'sandbox'), "
                "('3LIVE', 'crowdaudit-2', 'live')")
    con.execute("CREATE VIEW raw.assignments AS SELECT error('raw.assignments was read')::VARCHAR AS hit_id")
    ordinary = pl.DataFrame({"source_row": [2, 5], "hit_id": ["3LIVE", "3OTHER"]})
    with staged(con, staged_hits=ordinary):
        _refuse_new_sandbox_hits(con, tmp_path / "Batch_1_batch_results.csv")
    sandbox = pl.DataFrame({"source_row": [2, 5], "hit_id": ["3OTHER", "3SANDBOX"]})
    with staged(con, staged_hits=sandbox), pytest.raises(duckdb.Error, match="raw.assignments was read"):
        _refuse_new_sandbox_hits(con, tmp_path / "Batch_1_batch_results.csv")


def test_a_results_file_nobody_has_answered_yet_is_not_refused_and_loads_once_it_has_rows(tmp_path, run_cli,
                                                                                          warehouse):
    """A batch's results file before its first answer (the site's download, `hits results`) holds only
    its header: it was refused and quarantined as a bad file, and a nightly `ingest` exited 1 for it."""
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    results = downloads / "Batch_9_batch_results.csv"
    results.write_bytes((Path(__file__).parent / "data" / "results_header_only.csv").read_bytes())
    run_cli("ingest", str(results))  # creates the warehouse
    before = table_fingerprints(warehouse)
    for path_or_folder in (results, downloads):
        output = run_cli("ingest", str(path_or_folder)).output
        assert f"{results}: no answers yet (the file holds only its header); nothing loaded" in output
    assert output.endswith("1 file: 0 loaded, 0 loaded before, 1 with no answers yet, 0 not loaded\n")
    assert table_fingerprints(warehouse) == before
    assert query(warehouse, "SELECT count(*) FROM raw.load_log") == [(0,)]
    assert not (warehouse.parent / "quarantine").exists()
    write_results_csv(results_rows(HIT, ANSWERS), results)
    assert f"{results}: {len(ANSWERS)} rows read, {len(ANSWERS)} inserted" in run_cli("ingest", str(downloads)).output
    assert query(warehouse, "SELECT count(*) FROM raw.assignments") == [(len(ANSWERS),)]


HEADER_ONLY = (Path(__file__).parent / "data" / "results_header_only.csv").read_bytes()


@pytest.mark.parametrize(("content", "said"), [
    # A download cut off inside its first line: the batch may well have answers.
    (HEADER_ONLY[:-6], 'row 1, column Rej: the file ends inside its header, with no line break after it'),
    # Rows, every cell of them empty: not the header-only file a batch nobody answered gives.
    (HEADER_ONLY + HEADER_ONLY.count(b",") * b"," + b"\r\n", "row 2: has a header but no data rows"),
], ids=["cut_in_its_header", "rows_of_empty_cells"])
def test_a_file_that_is_not_just_a_results_header_is_refused_not_taken_for_a_batch_nobody_answered(
        content, said, tmp_path, run_cli, warehouse):
    """Both read as no data rows and were said to be 'no answers yet' (exit 0, nothing quarantined),
    every night, where the old code refused them: a cut download's batch looked unanswered for ever."""
    results = tmp_path / "Batch_9_batch_results.csv"
    results.write_bytes(content)
    output = run_cli("ingest", str(results), expect=1).output
    assert "no answers yet" not in output
    assert f"{results}, {said}" in output
    assert (warehouse.parent / "quarantine").exists()


@pytest.mark.parametrize(("changed", "column", "said"), [
    ({"HITId": "3HIT2"}, "HITId", "with a different HITId"),
    ({"WorkerId": "W9"}, "WorkerId", "with a different WorkerId"),
    ({"selected": slots(5)}, "Answer.selected", "with a different answer"),
])
def test_a_later_file_giving_a_known_assignment_other_ids_or_answer_is_refused_and_changes_nothing(
        changed, column, said, write_results, run_cli, warehouse):
    run_cli("ingest", str(write_results("Batch_1_batch_results.csv", HIT, ANSWERS)))
    before = table_fingerprints(warehouse)
    # Beside the clash, a new HIT and a new assignment that would load on their own.
    hits = {**HIT, "3HIT2": URLS[::-1], "3HIT3": URLS[:6]}
    later = [{**ANSWERS[1], **changed}, {**ANSWERS[0], "AssignmentId": "3A9", "HITId": "3HIT3", "selected": slots(1)}]
    result = run_cli("ingest", str(write_results("Batch_2_batch_results.csv", hits, later)), expect=1)
    assert "assignment 3A2 is already in the warehouse" in result.output and said in result.output
    assert f"row 2, column {column}" in result.output
    assert table_fingerprints(warehouse) == before


def test_a_known_hit_showing_another_image_in_a_slot_is_refused_and_changes_nothing(write_results, run_cli,
                                                                                    warehouse):
    run_cli("ingest", str(write_results("Batch_1_batch_results.csv", HIT, ANSWERS[:1])))
    before = table_fingerprints(warehouse)
    moved = {"3HIT1": [*URLS[:4], "https://img.example/other.jpg", *URLS[5:]]}
    result = run_cli("ingest", str(write_results("Batch_2_batch_results.csv", moved, ANSWERS[1:])), expect=1)
    assert (f"HIT 3HIT1 slot image5 shows https://img.example/other.jpg, but the warehouse has {URLS[4]} there"
            in result.output)
    assert "column Input.image5" in result.output
    assert table_fingerprints(warehouse) == before


def test_a_known_hits_later_assignments_load_without_repeating_its_items(write_results, run_cli, warehouse):
    run_cli("ingest", str(write_results("Batch_1_batch_results.csv", HIT, ANSWERS[:1])))
    result = run_cli("ingest", str(write_results("Batch_2_batch_results.csv", {**HIT, "3HIT2": URLS[::-1]},
                                                 [*ANSWERS[1:], {**ANSWERS[0], "AssignmentId": "3A4",
                                                                 "HITId": "3HIT2"}])))
    assert "3 inserted, 0 updated" in result.output
    assert query(warehouse, "SELECT hit_id, count(*) FROM raw.hits GROUP BY 1 ORDER BY 1") == [
        ("3HIT1", 1), ("3HIT2", 1)]
    assert query(warehouse, "SELECT hit_id, count(*), count(DISTINCT slot) FROM raw.hit_items GROUP BY 1 ORDER BY 1"
                 ) == [("3HIT1", 12, 12), ("3HIT2", 12, 12)]
    assert query(warehouse, "SELECT count(*), count(DISTINCT image_id) FROM raw.images") == [(12, 12)]


def test_an_image_two_hits_of_one_file_show_is_registered_once(write_results, run_cli, warehouse):
    hits = {"3HIT1": URLS, "3HIT2": [URLS[0], *(url.replace("/01.jpg", "/02.jpg") for url in URLS[1:])]}
    run_cli("ingest", str(write_results("Batch_1_batch_results.csv", hits, [
        ANSWERS[0], {**ANSWERS[1], "HITId": "3HIT2"}])))
    assert query(warehouse, "SELECT count(*), count(DISTINCT image_id) FROM raw.images") == [(23, 23)]
    assert query(warehouse, f"SELECT language, word FROM raw.images WHERE image_id = '{URLS[0]}'") == [
        ("spanish", "101")]


def test_all_distinct_is_exact_whatever_the_hashes_say():
    from etl.load.images import all_distinct

    assert all_distinct(pl.Series(["a", "b", "c"]))
    assert not all_distinct(pl.Series(["a", "b", "a"]))
    assert all_distinct(pl.Series([], dtype=pl.String))


def test_timestamps_parse_as_written_with_spaces_around_them_and_in_iso_form():
    from etl.load.mturk_format import parse_timestamps

    cells = ["Wed Feb 20 11:04:42 PST 2019", "  Wed Feb 20 11:04:42 PST 2019\u00a0", "Sun Jul 07 09:00:01 PDT 2019",
             " 2019-02-20T19:04:42Z ", "2019-02-20 19:04:42 UTC", "", "   ", None, "Wed Feb 20 11:04:42 XST 2019",
             "20/02/2019 11:04", "2019-02-20 19:04:42 PST"]
    parsed = parse_timestamps(pl.DataFrame({"t": cells}), ("t",), suffix="_utc")["t_utc"].to_list()
    utc = datetime(2019, 2, 20, 19, 4, 42)
    assert parsed == [utc, utc, datetime(2019, 7, 7, 16, 0, 1), utc, utc, None, None, None, None, None, None]
    # A column of values that all parse as written, beside blank ones, is parsed once: the same values.
    written = parse_timestamps(pl.DataFrame({"t": cells[:1] + ["", None]}), ("t",), suffix="_utc")
    assert written["t_utc"].to_list() == [utc, None, None]


def test_a_column_mixing_iso_timestamps_with_and_without_an_offset_parses_every_one():
    # A file merged from two exports: polars infers one format per column and left the others null.
    from etl.load.mturk_format import parse_timestamps

    cells = ["2019-02-20T19:04:42Z", "2019-02-20T19:04:42", "2019-02-20 21:04:42+02:00", "2019-02-20T11:04:42-0800",
             "2019-02-20T19:04:42.5", "Wed Feb 20 11:04:42 PST 2019", "2019-02-30T10:00:00"]
    parsed = parse_timestamps(pl.DataFrame({"t": cells}), ("t",), suffix="_utc")["t_utc"].to_list()
    utc = datetime(2019, 2, 20, 19, 4, 42)
    assert parsed == [utc, utc, utc, utc, utc.replace(microsecond=500000), utc, None]


def test_iso_timestamps_with_an_hour_only_offset_or_a_lowercase_z_parse_as_before_among_others():
    # PostgreSQL writes `+05`, RFC 3339 allows `z`: both parsed before offsets were told apart, and
    # one `+05` ahead of the cells without an offset had every one of those refused too.
    from etl.load.mturk_format import parse_timestamps

    cells = ["2019-02-21 00:04:42+05", "2019-02-20T19:04:42", "2019-02-20T19:04:42z", "2019-02-21T00:34:42+05:30",
             "2019-02-20 19:04:42+00", "2019-02-20 11:04:42-08"]
    parsed = parse_timestamps(pl.DataFrame({"t": cells}), ("t",), suffix="_utc")["t_utc"].to_list()
    assert parsed == [datetime(2019, 2, 20, 19, 4, 42)] * len(cells)


def test_a_reward_is_read_in_dollars_and_a_decimal_comma_never_as_thousands():
    from etl.load.mturk_format import parse_money

    written = ["$0.01", "0.05", "$1,250.00", "USD 2", "0,01", "0,010", "00,100", "-0.01", "", None]
    read = pl.DataFrame({"Reward": written}).select(parse_money("Reward"))["Reward"].to_list()
    assert read == [0.01, 0.05, 1250.0, 2.0, None, None, None, None, None, None]


# Cells that sit on the edges of "blank" and "an http(s) URL": Unicode spaces (which the regex's
# \s counts and an ASCII test does not), \x1c-\x1f (which it does not), schemes in other cases or
# with nothing after them, spaces around and inside.
EDGE_CELLS = ["", " ", "\u00a0", "\u3000", "\t", "http://", "https://", "http://x", "https://x", "HTTPS://x",
              "Http://a.b/c", " https://a.b/c ", "https://a b", "https://a\u00a0b", "https://a\u2003",
              "https://a\x1cb", "https://a\tb", "https://é.example/ü.jpg", "ftp://x", "https:// ", "\u00a0https://x",
              "https://x\n", "https://x\r\n", "httpss://x", "http:/x", "https://a.b/c\u0085", "x https://a"]
EDGE_PIECES = st.sampled_from(["http", "https", "://", "HTTP", "s", "/", "a", "é", " ", "\u00a0", "\u2028",
                               "\t", "\x1f", "\n", ".jpg", ""])


def _old_url_check(cells: list[str | None]) -> list[bool]:
    from etl.quality.suites import URL_SCHEME

    frame = pl.DataFrame({"c": cells}, schema={"c": pl.String})
    return frame.select(~pl.col("c").fill_null("").str.contains(rf"^\s*(?:{URL_SCHEME}\S+)?\s*$"))["c"].to_list()


def _new_url_check(cells: list[str | None]) -> list[bool]:
    from etl.load.batch_results import _not_an_http_url_nor_blank

    frame = pl.DataFrame({"c": cells}, schema={"c": pl.String})
    return frame.select(_not_an_http_url_nor_blank("c"))["c"].to_list()


def test_an_image_cell_is_refused_exactly_when_the_url_regex_refuses_it():
    # The quick test for a plain URL must pass nothing the regex refuses, and refuse nothing itself.
    cells = [*EDGE_CELLS, None]
    assert _new_url_check(cells) == _old_url_check(cells)
    assert _new_url_check(["https://a\u00a0b", "https://a b", "http://", " https://a.b/c "]) == [True, True, True, False]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(EDGE_PIECES, max_size=6).map("".join), min_size=1, max_size=20))
def test_an_image_cell_of_any_such_pieces_is_judged_as_the_url_regex_judges_it(cells):
    assert _new_url_check(cells) == _old_url_check(cells)


def test_an_unparsed_timestamp_is_one_that_holds_more_than_spaces_as_before():
    from etl.load.mturk_format import is_not_blank, unparsed_and_not_blank

    frame = pl.DataFrame({"text": [*EDGE_CELLS, None] * 2,
                          "parsed": [1] * (len(EDGE_CELLS) + 1) + [None] * (len(EDGE_CELLS) + 1)},
                         schema={"text": pl.String, "parsed": pl.Int64})
    new = frame.select(unparsed_and_not_blank(pl.col("text"), pl.col("parsed")))
    old = frame.select(pl.col("parsed").is_null() & is_not_blank(pl.col("text")))
    assert new.to_series().to_list() == old.to_series().to_list()
    assert new.to_series().sum() == sum(1 for c in EDGE_CELLS if c.strip())


@pytest.mark.parametrize("blank", [" ", "\u00a0", "\t \u3000"])
def test_ticking_a_slot_that_holds_only_spaces_is_refused_whatever_the_spaces(write_results, run_cli, warehouse,
                                                                            blank):
    # Only rows with a cell that does not start with "http" are searched for blank cells.
    path = write_results("blank_slot.csv", {"H1": URLS[:3], "H2": [URLS[3], blank, f" {URLS[4]}"]}, [
        {"AssignmentId": "A1", "HITId": "H1", "WorkerId": "W", "selected": "image3"},
        {"AssignmentId": "A2", "HITId": "H2", "WorkerId": "W", "selected": "image3|image1"},
        {"AssignmentId": "A3", "HITId": "H2", "WorkerId": "V", "selected": "image2"},
    ])
    result = run_cli("ingest", str(path), expect=1)
    assert "row 4" in result.output and "slot image2, which holds no image" in result.output


def test_an_id_is_empty_and_a_count_is_refused_exactly_as_when_they_were_stripped_first():
    # The checks search for a character that is not a space instead of stripping every cell.
    from etl.load.batch_results import _integer_check, assignment_checks
    from etl.load.mturk_format import blank_to_null, parse_integer

    cells = [*EDGE_CELLS, None, "12", "-1", " 7 ", "1.5", "0", "\u00a09", "１２"]
    frame = pl.DataFrame({"HITId": cells, "AssignmentId": cells, "WorkerId": cells, "AssignmentStatus": cells,
                          "WorkTimeInSeconds": cells}, schema={c: pl.String for c in
                                                                ("HITId", "AssignmentId", "WorkerId",
                                                                 "AssignmentStatus", "WorkTimeInSeconds")})
    frame = frame.with_columns(parse_integer("WorkTimeInSeconds").alias("WorkTimeInSeconds__parsed"),
                               pl.lit(False).alias("__foreign_token"), pl.lit(False).alias("__slot_without_image"))
    empty = {column: bad for column, bad, _ in assignment_checks(frame, {1: "HITId"})[:4]}
    for column, bad in empty.items():
        assert frame.select(bad).to_series().to_list() == \
            frame.select(blank_to_null(pl.col(column)).is_null()).to_series().to_list()
    _, not_a_count, _ = _integer_check("WorkTimeInSeconds")
    old = blank_to_null(pl.col("WorkTimeInSeconds")).is_not_null() & \
        ~(pl.col("WorkTimeInSeconds__parsed") >= 0).fill_null(False)
    refused = frame.select(not_a_count).to_series().to_list()
    assert refused == frame.select(old).to_series().to_list()
    assert [c for c, r in zip(cells, refused, strict=True) if r][-3:] == ["-1", "1.5", "１２"]


# Every Unicode scalar value, once: the quick tests must agree with the regex on each character,
# not only on the spaces someone thought of (\x0b and \x0c are ASCII whitespace too).
EVERY_CHARACTER = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


@pytest.mark.parametrize("form", ["https://a{}b", "http://{}", "{}https://a", "{}"])
def test_an_image_cell_holding_any_one_character_is_judged_as_the_url_regex_judges_it(form):
    cells = [form.format(c) for c in EVERY_CHARACTER]
    new, old = _new_url_check(cells), _old_url_check(cells)
    assert [c for c, n, o in zip(cells, new, old, strict=True) if n != o] == []
    assert sum(old) > 0  # the form has both kinds of cell, so a quick test that passes all would fail here


def test_a_cell_is_blank_for_the_every_cell_blank_check_exactly_when_stripping_leaves_nothing():
    from etl.load.mturk_format import is_not_blank

    frame = pl.DataFrame({"c": [*EVERY_CHARACTER, None]}, schema={"c": pl.String})
    judged = frame.select(blank=~is_not_blank(pl.col("c")), stripped=pl.col("c").str.strip_chars().fill_null("") == "")
    assert judged.filter(pl.col("blank") != pl.col("stripped"))["blank"].len() == 0
    assert judged["blank"].sum() == 26  # Unicode White_Space (25 characters) and the null cell
