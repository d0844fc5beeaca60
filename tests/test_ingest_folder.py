"""`crowdaudit ingest FOLDER`: a nightly job points at the folder where batches are downloaded."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from conftest import query

from etl.load import batch_results, transaction

URLS = [f"https://img.example/weddings-european-language/spanish/10{k}/01.jpg" for k in range(1, 5)]


def _answers(hit: str, prefix: str) -> list[dict]:
    return [{"AssignmentId": f"{prefix}{w}", "HITId": hit, "WorkerId": f"W{w}", "selected": "image1"}
            for w in range(1, 4)]


def _move(path: Path, to: Path) -> Path:
    to.parent.mkdir(parents=True, exist_ok=True)
    return path.rename(to)


def test_a_folder_ingests_every_results_file_below_it_in_name_order(tmp_path, write_results, run_cli, warehouse):
    downloads = tmp_path / "downloads"
    second = _move(write_results("b2.csv", {"H2": URLS}, _answers("H2", "B")),
                   downloads / "2019-02" / "Batch_2_batch_results.csv")
    first = _move(write_results("b1.csv", {"H1": URLS}, _answers("H1", "A")), downloads / "Batch_1_batch_results.csv")
    (downloads / "Batch_1.variables.csv").write_text("image1\nhttps://img.example/x.jpg\n")  # not results: left alone
    result = run_cli("ingest", str(downloads))
    assert f"{downloads}: 2 results files" in result.output
    logged = query(warehouse, "SELECT source_file FROM raw.load_log WHERE kind = 'results' ORDER BY load_id")
    assert logged == [(str(first),), (str(second),)]
    again = run_cli("ingest", str(downloads))
    assert again.output.splitlines()[-1] == "2 files: 0 loaded, 2 loaded before, 0 not loaded"
    assert query(warehouse, "SELECT count(*) FROM raw.assignments") == [(6,)]


def test_a_folder_holding_the_warehouse_skips_its_quarantined_copies(tmp_path, write_results, run_cli, warehouse):
    # The warehouse lives in the downloads folder; a refused file's copy in quarantine/ is not a new batch.
    bad = write_results("elsewhere/Batch_9_batch_results.csv", {"H9": URLS},
                        [{"AssignmentId": "C1", "HITId": "H9", "WorkerId": "W1", "selected": "image7"}])
    run_cli("ingest", str(bad), expect=1)
    assert list((warehouse.parent / "quarantine").glob("*Batch_9_batch_results.csv"))
    good = _move(write_results("g.csv", {"H1": URLS}, _answers("H1", "A")), warehouse.parent / "Batch_1_batch_results.csv")
    result = run_cli("ingest", str(warehouse.parent))
    assert "Batch_9" not in result.output
    assert query(warehouse, "SELECT source_file FROM raw.load_log WHERE kind = 'results'") == [(str(good),)]


def test_a_folder_without_results_files_is_an_error_naming_it(tmp_path, run_cli):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.csv").write_text("a\n1\n")
    result = run_cli("ingest", str(empty), expect=1)
    assert f"{empty}: no results file (a name ending in results.csv) below this folder" in result.output


def test_a_folder_leaves_hidden_files_and_macos_leftovers_alone(tmp_path, write_results, run_cli, warehouse):
    # A Mac copying the downloads to a shared drive writes ._<name> beside each file, and a zip made
    # on one holds __MACOSX/: not batches, and refused every night they would fail every night's job.
    downloads = tmp_path / "downloads"
    good = _move(write_results("b1.csv", {"H1": URLS}, _answers("H1", "A")), downloads / "Batch_1_batch_results.csv")
    apple_double = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        "
    (downloads / "._Batch_1_batch_results.csv").write_bytes(apple_double)
    (downloads / "__MACOSX" / "2019-02").mkdir(parents=True)
    (downloads / "__MACOSX" / "2019-02" / "._Batch_2_batch_results.csv").write_bytes(apple_double)
    _move(write_results("b3.csv", {"H3": URLS}, _answers("H3", "C")),
          downloads / ".Trash" / "Batch_3_batch_results.csv")
    result = run_cli("ingest", str(downloads))
    assert f"{downloads}: 1 results file\n" in result.output
    assert query(warehouse, "SELECT source_file FROM raw.load_log WHERE kind = 'results'") == [(str(good),)]
    assert not (warehouse.parent / "quarantine").exists()


def test_a_folder_leaves_the_owner_file_excel_keeps_beside_an_open_batch_alone(
        tmp_path, write_results, run_cli, warehouse):
    # Someone looks at a batch in Excel on the shared drive and leaves it open overnight: Excel keeps
    # ~$<name> beside it (hidden on Windows, not on the Linux host of the job), which was refused as
    # a batch (not UTF-8), quarantined, and made every night's job exit 1.
    downloads = tmp_path / "downloads"
    good = _move(write_results("b1.csv", {"H1": URLS}, _answers("H1", "A")), downloads / "Batch_1_batch_results.csv")
    owner = b"\x05alice" + b" " * 49 + b"\x05\x00a\x00l\x00i\x00c\x00e\x00" + b"\x20\x00" * 50
    (downloads / "~$Batch_1_batch_results.csv").write_bytes(owner)
    result = run_cli("ingest", str(downloads))
    assert f"{downloads}: 1 results file\n" in result.output
    assert query(warehouse, "SELECT source_file FROM raw.load_log WHERE kind = 'results'") == [(str(good),)]
    assert not (warehouse.parent / "quarantine").exists()


def test_a_file_whose_name_is_not_utf8_is_refused_by_name_and_the_files_after_it_still_load(
        tmp_path, write_results, run_cli, warehouse):
    # A name in Latin-1 (a zip made on Windows, a copy from an old share) sorts before Batch_...
    downloads = tmp_path / "downloads"
    latin1 = os.fsdecode(bytes(downloads) + b"/A\xe9t\xe9_batch_results.csv")
    _move(write_results("a.csv", {"H0": URLS}, _answers("H0", "Z")), Path(latin1))
    good = _move(write_results("b1.csv", {"H1": URLS}, _answers("H1", "A")), downloads / "Batch_1_batch_results.csv")
    result = run_cli("ingest", str(downloads), expect=1)
    assert "A\\xe9t\\xe9_batch_results.csv: its path is not UTF-8" in result.output
    assert "Traceback" not in result.output and "1 of 2 file(s) not loaded" in result.output
    assert query(warehouse, "SELECT source_file FROM raw.load_log WHERE kind = 'results'") == [(str(good),)]
    Path(latin1).rename(downloads / "Batch_0_batch_results.csv")  # as the message asks
    assert "3 inserted" in run_cli("ingest", str(downloads)).output


def test_a_browsers_numbered_re_download_of_a_batch_is_ingested(tmp_path, write_results, run_cli, warehouse):
    # Chrome saves a second download as "name (1).csv", Firefox as "name(1).csv": both are batches.
    downloads = tmp_path / "downloads"
    _move(write_results("b1.csv", {"H1": URLS}, _answers("H1", "A")), downloads / "Batch_1_batch_results.csv")
    approved = [dict(a, status="Approved") for a in _answers("H1", "A")]
    _move(write_results("b1a.csv", {"H1": URLS}, approved), downloads / "Batch_1_batch_results (1).csv")
    rejected = [dict(a, status="Rejected") for a in _answers("H2", "B")]
    _move(write_results("b2.csv", {"H2": URLS}, rejected), downloads / "Batch_2_batch_results(2).csv")
    result = run_cli("ingest", str(downloads))
    assert f"{downloads}: 3 results files" in result.output
    assert query(warehouse, "SELECT assignment_status, count(*) FROM raw.assignments GROUP BY 1 ORDER BY 1") == [
        ("Approved", 3), ("Rejected", 3)]


def test_a_file_that_cannot_be_read_is_reported_and_the_files_after_it_still_load(tmp_path, write_results,
                                                                                   run_cli, warehouse, monkeypatch):
    from etl.cli import loading

    downloads = tmp_path / "downloads"
    first = _move(write_results("b1.csv", {"H1": URLS}, _answers("H1", "A")), downloads / "Batch_1_batch_results.csv")
    second = _move(write_results("b2.csv", {"H2": URLS}, _answers("H2", "B")), downloads / "Batch_2_batch_results.csv")
    ingest = loading.ingest_results

    def denied_for_the_first(con, path, **options):
        if path == first:
            raise PermissionError(13, "Permission denied", str(path))
        return ingest(con, path, **options)

    monkeypatch.setattr(loading, "ingest_results", denied_for_the_first)
    result = run_cli("ingest", str(downloads), expect=1)
    assert f"Error: {first}: Permission denied" in result.output
    assert "1 of 2 file(s) not loaded" in result.output
    assert query(warehouse, "SELECT source_file FROM raw.load_log WHERE kind = 'results'") == [(str(second),)]


def test_a_results_link_whose_target_is_gone_is_reported_with_where_it_points_and_the_others_still_load(
        tmp_path, write_results, run_cli, warehouse):
    # The downloads folder links in a batch from a drive that is not mounted tonight.
    downloads = tmp_path / "downloads"
    good = _move(write_results("b1.csv", {"H1": URLS}, _answers("H1", "A")), downloads / "Batch_1_batch_results.csv")
    gone = tmp_path / "unmounted" / "Batch_2_batch_results.csv"
    (downloads / "Batch_2_batch_results.csv").symlink_to(gone)
    (downloads / "notes.txt").symlink_to(tmp_path / "unmounted" / "notes.txt")  # not a batch: left alone
    (downloads / "._Batch_3_batch_results.csv").symlink_to(gone)  # hidden: left alone
    result = run_cli("ingest", str(downloads), expect=1)
    assert (f"Error: {downloads / 'Batch_2_batch_results.csv'}: a link to {gone}, which is not there "
            "(moved, or on a drive not mounted)") in result.output
    assert "notes.txt" not in result.output and "Batch_3" not in result.output
    assert f"{downloads}: 1 results file\n" in result.output and "1 of 2 file(s) not loaded" in result.output
    assert query(warehouse, "SELECT source_file FROM raw.load_log WHERE kind = 'results'") == [(str(good),)]


def test_a_folder_whose_only_results_file_is_a_link_to_nothing_names_the_link_not_an_empty_folder(
        tmp_path, run_cli):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    (downloads / "Batch_2_batch_results.csv").symlink_to("../moved/Batch_2_batch_results.csv")
    result = run_cli("ingest", str(downloads), expect=1)
    assert "a link to ../moved/Batch_2_batch_results.csv, which is not there" in result.output
    assert "no results file" not in result.output and "1 of 1 file(s) not loaded" in result.output


def test_a_results_link_that_loops_or_cannot_be_reached_is_named_as_such_and_the_others_still_load(
        tmp_path, write_results, run_cli, warehouse, monkeypatch):
    downloads = tmp_path / "downloads"
    good = _move(write_results("b1.csv", {"H1": URLS}, _answers("H1", "A")), downloads / "Batch_1_batch_results.csv")
    (downloads / "Batch_2_batch_results.csv").symlink_to("Batch_2_batch_results.csv")  # a link to itself
    locked = downloads / "Batch_3_batch_results.csv"
    locked.symlink_to(tmp_path / "locked" / "Batch_3_batch_results.csv")
    real_stat = os.stat

    def stat_refusing_the_locked_folder(path, *args, **kwargs):  # tests run as root, whom no folder refuses
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat_refusing_the_locked_folder)
    result = run_cli("ingest", str(downloads), expect=1)
    assert (f"{downloads / 'Batch_2_batch_results.csv'}: a link to Batch_2_batch_results.csv, which leads back "
            "to itself (a loop of links)") in result.output
    assert (f"{locked}: a link to {tmp_path / 'locked' / 'Batch_3_batch_results.csv'}, which cannot be reached "
            "(Permission denied)") in result.output
    assert "2 of 3 file(s) not loaded" in result.output
    assert query(warehouse, "SELECT source_file FROM raw.load_log WHERE kind = 'results'") == [(str(good),)]


def test_a_large_file_is_announced_before_it_is_read_on_a_terminal_and_not_with_silent(
        tmp_path, write_results, warehouse, monkeypatch):
    from click.testing import CliRunner

    from etl.cli import cli, loading
    from etl.cli.base import Settings

    monkeypatch.setattr(Settings, "show_progress", property(lambda settings: not settings.silent))  # as on a terminal
    results = write_results("Batch_1_batch_results.csv", {"H1": URLS}, _answers("H1", "A"))
    monkeypatch.setattr(loading, "LARGE_FILE_BYTES", results.stat().st_size)

    def ingest(*options: str) -> str:
        result = CliRunner().invoke(cli, ["--warehouse", str(warehouse), *options, "ingest", str(results)])
        assert result.exit_code == 0, result.output
        return result.stderr

    assert f"{results}: reading 0 MB ..." in ingest()
    assert "reading" not in ingest("--silent")
    monkeypatch.setattr(loading, "LARGE_FILE_BYTES", results.stat().st_size + 1)
    assert "reading" not in ingest()


def test_a_folder_below_that_cannot_be_listed_is_an_error_naming_it_and_the_others_still_load(
        tmp_path, write_results, run_cli, warehouse, monkeypatch):
    # A shared drive: one user's batch folder readable only by them (simulated: tests run as root);
    # a drive's hidden .Trashes, unreadable as a rule, is left alone as hidden files are.
    downloads = tmp_path / "downloads"
    good = _move(write_results("b1.csv", {"H1": URLS}, _answers("H1", "A")), downloads / "Batch_1_batch_results.csv")
    _move(write_results("b2.csv", {"H2": URLS}, _answers("H2", "B")), downloads / "alice" / "Batch_2_batch_results.csv")
    (downloads / ".Trashes").mkdir()
    listing = os.scandir

    def scandir(path="."):
        if os.path.basename(os.fspath(path)) in ("alice", ".Trashes"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return listing(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = run_cli("ingest", str(downloads), expect=1)
    assert (f"Error: {downloads / 'alice'}: cannot list this folder (Permission denied); "
            "a results file in it was not looked for") in result.output
    assert ".Trashes" not in result.output
    assert query(warehouse, "SELECT source_file FROM raw.load_log WHERE kind = 'results'") == [(str(good),)]


def test_a_download_that_grows_while_it_is_read_is_not_loaded_and_loads_whole_the_next_night(
        tmp_path, write_results, run_cli, warehouse, monkeypatch):
    # The download script is still writing the file when the nightly job reads it. Its sha256 is
    # taken beside the parse (in a thread, or before it): when those see different bytes, the load
    # log said the whole file was loaded when only its first rows were, and the next night skipped
    # the complete file as "already loaded": its last rows were lost for good.
    downloads = tmp_path / "downloads"
    complete = write_results("whole.csv", {"H1": URLS, "H2": URLS[::-1]}, _answers("H1", "A") + _answers("H2", "B"))
    whole = complete.read_bytes()
    cut_at_a_line_end = whole[:whole.index(b'"B1"')]
    cut_at_a_line_end = cut_at_a_line_end[:cut_at_a_line_end.rindex(b"\n") + 1]
    downloading = downloads / "Batch_1_batch_results.csv"
    downloads.mkdir()
    downloading.write_bytes(cut_at_a_line_end)

    parsed = threading.Event()
    sha256 = transaction.file_sha256
    read = batch_results.staged_frames

    def hashed_after_the_parse(path):
        parsed.wait(timeout=5)
        return sha256(path)

    def download_finishes_after_the_parse(path):
        frames = read(path)
        downloading.write_bytes(whole)
        parsed.set()
        return frames

    monkeypatch.setattr(transaction, "file_sha256", hashed_after_the_parse)
    monkeypatch.setattr(batch_results, "staged_frames", download_finishes_after_the_parse)
    result = run_cli("ingest", str(downloads), expect=1)
    assert f"Error: {downloading}: changed while it was being read" in result.output
    assert query(warehouse, "SELECT count(*) FROM raw.assignments") == [(0,)]
    assert not (warehouse.parent / "quarantine").exists()  # nothing is wrong with it: it was not finished

    monkeypatch.undo()
    result = run_cli("ingest", str(downloads))
    assert "6 rows read, 6 inserted" in result.output
    assert query(warehouse, "SELECT count(*) FROM raw.assignments") == [(6,)]


def test_a_download_cut_mid_row_that_finishes_while_it_is_read_is_not_quarantined_as_a_bad_file(
        tmp_path, write_results, run_cli, warehouse, monkeypatch):
    # Its refusal ("malformed CSV") was about bytes that were no longer the file's; a copy kept as a
    # bad file, and a message sending the operator to fix a row, were wrong: it was only unfinished.
    downloads = tmp_path / "downloads"
    whole = write_results("whole.csv", {"H1": URLS}, _answers("H1", "A")).read_bytes()
    downloading = downloads / "Batch_1_batch_results.csv"
    downloads.mkdir()
    downloading.write_bytes(whole[:whole.index(b'"A3"') + 2])  # inside a quoted field
    read = batch_results.staged_frames

    def download_finishes_during_the_parse(path):
        try:
            return read(path)
        finally:
            downloading.write_bytes(whole)

    monkeypatch.setattr(batch_results, "staged_frames", download_finishes_during_the_parse)
    result = run_cli("ingest", str(downloads), expect=1)
    assert f"Error: {downloading}: changed while it was being read" in result.output
    assert "malformed" not in result.output
    assert not (warehouse.parent / "quarantine").exists()
    monkeypatch.undo()
    run_cli("ingest", str(downloads))
    assert query(warehouse, "SELECT count(*) FROM raw.assignments") == [(3,)]


def test_a_nightly_run_ends_with_one_line_counting_what_loaded_was_skipped_and_was_refused(
        tmp_path, write_results, run_cli, warehouse):
    # cron mails what the job prints: the per-file lines say which, the last line says how many,
    # also on a night when every file loaded (before, nothing summed them up unless one failed).
    downloads = tmp_path / "downloads"
    _move(write_results("b1.csv", {"H1": URLS}, _answers("H1", "A")), downloads / "Batch_1_batch_results.csv")
    run_cli("ingest", str(downloads))
    _move(write_results("b2.csv", {"H2": URLS}, _answers("H2", "B")), downloads / "Batch_2_batch_results.csv")
    quiet_night = run_cli("ingest", str(downloads))
    assert quiet_night.output.splitlines()[-1] == "2 files: 1 loaded, 1 loaded before, 0 not loaded"
    _move(write_results("b3.csv", {"H3": URLS}, [{"AssignmentId": "C1", "HITId": "H3", "WorkerId": "W1",
                                                  "selected": "image7"}]), downloads / "Batch_3_batch_results.csv")
    bad_night = run_cli("ingest", str(downloads), expect=1)
    assert "3 files: 0 loaded, 2 loaded before, 1 not loaded\nError: 1 of 3 file(s) not loaded" in bad_night.output


@pytest.mark.parametrize("partial_suffix", [".part", ".crdownload", ".download"])
def test_a_browsers_empty_placeholder_of_a_download_in_progress_is_left_for_a_later_run_not_quarantined(
        tmp_path, write_results, run_cli, warehouse, partial_suffix):
    # Firefox writes the bytes to <name>.part and an EMPTY file of the final name beside it; the
    # nightly job refused that as "the file is empty" and quarantined it every night a download was
    # under way at 02:00.
    downloads = tmp_path / "downloads"
    whole = write_results("b1.csv", {"H1": URLS}, _answers("H1", "A")).read_bytes()
    downloads.mkdir()
    placeholder = downloads / "Batch_1_batch_results.csv"
    placeholder.write_bytes(b"")
    partial = downloads / f"Batch_1_batch_results.csv{partial_suffix}"
    partial.write_bytes(whole[:len(whole) // 2])
    _move(write_results("b2.csv", {"H2": URLS}, _answers("H2", "B")), downloads / "Batch_2_batch_results.csv")
    result = run_cli("ingest", str(downloads), expect=1)
    assert (f"Error: {placeholder}: a download in progress (empty, beside {partial.name}, the part a browser is "
            "still downloading); not loaded nor quarantined") in result.output
    assert "the file is empty" not in result.output
    assert "2 files: 1 loaded, 0 loaded before, 1 not loaded" in result.output
    assert not (warehouse.parent / "quarantine").exists()

    partial.write_bytes(whole)
    partial.replace(placeholder)  # the download ends
    assert "3 rows read, 3 inserted" in run_cli("ingest", str(downloads)).output
    assert query(warehouse, "SELECT count(*) FROM raw.assignments") == [(6,)]


def test_safaris_partial_download_inside_its_download_folder_is_left_for_a_later_run_not_quarantined(
        tmp_path, write_results, run_cli, warehouse):
    # Safari downloads into a folder <name>.download holding the growing <name>: a walk of the
    # downloads folder finds it as a results file, cut mid-row, refused as malformed and quarantined.
    downloads = tmp_path / "downloads"
    whole = write_results("b1.csv", {"H1": URLS}, _answers("H1", "A")).read_bytes()
    bundle = downloads / "Batch_1_batch_results.csv.download"
    bundle.mkdir(parents=True)
    downloading = bundle / "Batch_1_batch_results.csv"
    downloading.write_bytes(whole[:whole.index(b'"A3"') + 2])  # inside a quoted field
    (bundle / "Info.plist").write_text("<plist/>")
    result = run_cli("ingest", str(downloads), expect=1)
    assert (f"Error: {downloading}: a download in progress (in {bundle.name}, where Safari keeps a download it "
            "has not finished); not loaded nor quarantined") in result.output
    assert not (warehouse.parent / "quarantine").exists()
    assert query(warehouse, "SELECT count(*) FROM raw.assignments") == [(0,)]


def test_an_empty_file_with_no_download_beside_it_is_refused_but_not_copied_to_quarantine(
        tmp_path, run_cli, warehouse):
    # Zero bytes hold nothing to inspect: the refusal says all there is to say about them.
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    (downloads / "Batch_1_batch_results.csv").write_bytes(b"")
    result = run_cli("ingest", str(downloads), expect=1)
    assert "Batch_1_batch_results.csv: the file is empty" in result.output
    assert "quarantine" not in result.output
    assert not (warehouse.parent / "quarantine").exists()


@pytest.mark.parametrize("name", ["BATCH_400_batch_results.CSV", "batch_400_batch_results.csv",
                                  "Batch_400_batch_results.csv"])
def test_the_batch_id_is_taken_from_the_file_name_in_any_case_and_written_as_the_site_spells_it(
        tmp_path, write_results, run_cli, warehouse, name):
    # A script (or a case-insensitive file system) renamed the download: its batch was stored as
    # "BATCH_400_batch_results", another batch than Batch_400 for every query grouping by batch.
    results = _move(write_results("b.csv", {"H1": URLS}, _answers("H1", "A")), tmp_path / "downloads" / name)
    run_cli("ingest", str(results))
    assert query(warehouse, "SELECT DISTINCT batch_id FROM raw.hits") == [("Batch_400",)]


def test_dated_file_names_in_lower_case_stay_two_batches_not_one_batch_of_their_year(
        tmp_path, write_results, run_cli, warehouse):
    # Matching any "batch_<digits>" regardless of case gave both files the batch id Batch_2024.
    downloads = tmp_path / "downloads"
    _move(write_results("b1.csv", {"H1": URLS}, _answers("H1", "A")), downloads / "batch_2024-01-05_results.csv")
    _move(write_results("b2.csv", {"H2": URLS}, _answers("H2", "B")), downloads / "batch_2024-02-09_results.csv")
    run_cli("ingest", str(downloads))
    assert query(warehouse, "SELECT DISTINCT batch_id FROM raw.hits ORDER BY 1") == [
        ("batch_2024-01-05_results",), ("batch_2024-02-09_results",)]


def test_a_folder_counts_files_loaded_before_in_its_last_line_only_and_a_file_named_says_already_loaded(
        tmp_path, write_results, run_cli, warehouse):
    # cron mails what the nightly job prints: one "already loaded" line per batch of every earlier
    # night (with --silent too) grew the mail by a line a batch, forever.
    downloads = tmp_path / "downloads"
    first = _move(write_results("b1.csv", {"H1": URLS}, _answers("H1", "A")), downloads / "Batch_1_batch_results.csv")
    _move(write_results("b2.csv", {"H2": URLS}, _answers("H2", "B")), downloads / "Batch_2_batch_results.csv")
    run_cli("ingest", str(downloads))
    third = _move(write_results("b3.csv", {"H3": URLS}, _answers("H3", "C")), downloads / "Batch_3_batch_results.csv")
    night = run_cli("--silent", "ingest", str(downloads))
    assert night.output.splitlines() == [f"{downloads}: 3 results files",
                                         f"{third}: 3 rows read, 3 inserted, 0 updated (load 3)",
                                         "3 files: 1 loaded, 2 loaded before, 0 not loaded"]
    named = run_cli("--silent", "ingest", str(first))
    assert named.output == f"{first}: already loaded (same file and options), nothing changed\n"
    elsewhere = write_results("Batch_4_batch_results.csv", {"H4": URLS}, _answers("H4", "D"))
    run_cli("ingest", str(elsewhere))
    both = run_cli("ingest", str(downloads), str(elsewhere))
    assert both.output.count("already loaded") == 1 and f"{elsewhere}: already loaded" in both.output
    assert both.output.splitlines()[-1] == "4 files: 0 loaded, 4 loaded before, 0 not loaded"


def test_a_file_named_directly_and_again_through_its_folder_is_read_and_counted_once(
        tmp_path, write_results, run_cli, warehouse):
    # `ingest downloads/Batch_1_batch_results.csv downloads/` read Batch_1 twice: the second time
    # as "loaded before", so the closing line counted 3 files in a folder of 2.
    downloads = tmp_path / "downloads"
    first = _move(write_results("b1.csv", {"H1": URLS}, _answers("H1", "A")), downloads / "Batch_1_batch_results.csv")
    _move(write_results("b2.csv", {"H2": URLS}, _answers("H2", "B")), downloads / "Batch_2_batch_results.csv")
    os.symlink(downloads, tmp_path / "linked")  # the same folder under another name
    result = run_cli("ingest", str(first), str(downloads), str(tmp_path / "linked"))
    assert result.output.splitlines()[-1] == "2 files: 2 loaded, 0 loaded before, 0 not loaded"
    assert result.output.count(f"{first}: 3 rows read") == 1
    logged = query(warehouse, "SELECT source_file FROM raw.load_log WHERE kind = 'results' ORDER BY load_id")
    assert [Path(path).name for (path,) in logged] == ["Batch_1_batch_results.csv", "Batch_2_batch_results.csv"]
