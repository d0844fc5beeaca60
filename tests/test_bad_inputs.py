"""The bad-input corpus (tests/data/bad/): every malformed file is refused with its file, row and
column named, is quarantined (an empty one, holding nothing to inspect, is not), and leaves every
table of the warehouse exactly as it was."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from conftest import query, results_rows, table_fingerprints
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.cli import cli
from etl.simulate import write_results_csv

BAD = Path(__file__).parent / "data" / "bad"
URLS = [f"https://img.example/weddings-indian-languages/hindi/40{k}/01.jpg" for k in range(1, 4)]
BASE_ANSWERS = [
    {"AssignmentId": "3BASE1", "HITId": "3BASEHIT", "WorkerId": "WB1", "selected": "image3"},
    {"AssignmentId": "3BASE9", "HITId": "3BASEHIT", "WorkerId": "WB9", "selected": "image1"},
]

# file -> what the message must name besides the file: (row, column); None = not applicable.
CORPUS: dict[str, tuple[int | None, str | None]] = {
    "results_truncated_mid_row.csv": (3, None),
    "results_missing_worker_column.csv": (1, "WorkerId"),
    "results_semicolon_delimiter.csv": (1, "delimiter"),
    "results_tab_delimiter.csv": (1, "delimiter"),
    "results_non_utf8.csv": (3, "UTF-8"),
    "results_excel_timestamps.csv": (3, "AcceptTime"),
    "results_duplicate_assignment_different_answer.csv": (5, "AssignmentId"),
    "results_answer_names_missing_slot.csv": (3, "Answer.selected"),
    "results_answer_not_a_slot.csv": (4, "Answer.selected"),
    "results_empty.csv": (None, "empty"),
    "results_javascript_url.csv": (2, "Input.image2"),
    "results_ftp_url.csv": (2, "Input.image3"),
    "results_unknown_status.csv": (3, "AssignmentStatus"),
    "results_negative_work_time.csv": (4, "WorkTimeInSeconds"),
    "results_work_time_not_a_number.csv": (2, "WorkTimeInSeconds"),
    "results_submit_before_accept.csv": (3, "SubmitTime"),
    "results_reward_not_money.csv": (2, "Reward"),
    "results_empty_assignment_id.csv": (3, "AssignmentId"),
    "results_empty_worker_id.csv": (4, "WorkerId"),
    "results_repeated_header_column.csv": (1, "Title"),
    "results_hit_with_two_image_sets.csv": (4, "Input.image1"),
    "results_all_images_blank.csv": (2, "Input.image"),
    "results_too_many_fields.csv": (3, "column 34"),
    "results_unterminated_quote.csv": (3, None),
    "results_unusually_fast_worker.csv": (2, "column WorkTimeInSeconds"),
    "results_changes_a_loaded_answer.csv": (2, "Answer.selected"),
    "results_no_answer_column.csv": (1, "Answer.selected"),
    "results_cut_off_after_an_image.csv": (4, "Input.image3"),
    "results_row_without_answer.csv": (3, "Answer.selected"),
    "results_reward_decimal_comma.csv": (2, "Reward"),
    "results_negative_reward.csv": (2, "Reward"),
    "results_non_utf8_after_line_break.csv": (3, "WorkerId"),
    "predictions_not_a_list.csv": (3, "predictions"),
    "predictions_python_expression.csv": (2, "predictions"),
    "predictions_flag_not_boolean.csv": (3, "predictions_include_groom_or_bridegroom"),
    "predictions_javascript_path.csv": (3, "path"),
    "gold_truth_not_boolean.csv": (3, "truth"),
    "gold_contradicting_rows.csv": (4, "truth"),
    "gold_missing_truth_column.csv": (1, "truth"),
    "images_javascript_url.csv": (3, "url"),
    "images_missing_language_column.csv": (1, "language"),
    "images_bad_quote_after_line_break.csv": (3, None),
    "gold_url_not_a_url.csv": (3, "url"),
    "gold_truth_empty.csv": (3, "truth is empty"),
    "results_nul_byte.csv": (3, "WorkerId"),
    "results_hit_shows_an_image_twice.csv": (2, "in Input.image1 and Input.image3"),
    "results_cr_line_ends.csv": (1, "carriage return"),
    "results_utf16.csv": (None, "UTF-16"),
    "images_language_empty.csv": (3, "language"),
    "predictions_contradicting_rows.csv": (4, "predictions"),
    "predictions_semicolon_delimiter.csv": (1, "delimiter"),  # as Excel saves 'CSV' where ',' is the decimal mark
    "results_task_answers_not_json.csv": (3, "Answer.taskAnswers"),
    "results_task_answers_checkbox_not_boolean.csv": (4, "Answer.taskAnswers"),
    "results_task_answers_no_slot_field.csv": (3, "Answer.taskAnswers"),
    "results_checkbox_value_not_a_tick.csv": (3, "column Answer.image2: checkbox value 'wedding'"),
}
COMMANDS = {"results": ["ingest"], "predictions": ["load", "predictions"], "gold": ["load", "gold"],
            "images": ["load", "images"]}


def invoke(warehouse: Path, *args: str):
    return CliRunner().invoke(cli, ["--warehouse", str(warehouse), "--silent", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def base_warehouse(tmp_path_factory) -> Path:
    """A warehouse holding one batch (HIT 3BASEHIT over the corpus's images), gold and predictions."""
    folder = tmp_path_factory.mktemp("base")
    warehouse = folder / "base.duckdb"
    batch = write_results_csv(results_rows({"3BASEHIT": URLS}, BASE_ANSWERS), folder / "Batch_1_batch_results.csv")
    (folder / "gold.csv").write_text(f"url,truth\n{URLS[0]},true\n", encoding="utf-8")
    (folder / "predictions.csv").write_text(
        "path,predictions,predictions_include_groom_or_bridegroom\n"
        + "".join(f"{url},\"['groom']\",True\n" for url in URLS), encoding="utf-8")
    for args in (["ingest", str(batch)], ["load", "gold", str(folder / "gold.csv")],
                 ["load", "predictions", str(folder / "predictions.csv")], ["build"]):
        result = invoke(warehouse, *args)
        assert result.exit_code == 0, result.output
    return warehouse


@pytest.fixture
def loaded(base_warehouse: Path, warehouse: Path) -> Path:
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(base_warehouse, warehouse)
    return warehouse


def test_the_corpus_holds_at_least_30_malformed_files():
    assert len(CORPUS) >= 30
    assert set(CORPUS) | {"results_extra_unknown_columns.csv"} == {p.name for p in BAD.glob("*.csv")}


def assert_refused(warehouse: Path, path: Path, command: list[str], row: int | None, column: str | None) -> str:
    before = table_fingerprints(warehouse)
    result = invoke(warehouse, *command, str(path))
    assert result.exit_code == 1, result.output
    message = result.output
    assert path.name in message
    if row is not None:
        assert f"row {row}" in message, message
    if column is not None:
        assert column in message, message
    assert table_fingerprints(warehouse) == before
    return message


@pytest.mark.parametrize("name", sorted(set(CORPUS) - {"results_empty.csv"}))
def test_a_malformed_file_is_refused_naming_where_and_changes_nothing(name, loaded):
    row, column = CORPUS[name]
    assert_refused(loaded, BAD / name, COMMANDS[name.split("_")[0]], row, column)
    kept = sorted((loaded.parent / "quarantine").iterdir())
    assert any(p.name.endswith(name) for p in kept)
    record = json.loads(next(p for p in kept if p.name.endswith(f"{name}.json")).read_text(encoding="utf-8"))
    assert record["file"].endswith(name) and record["message"]
    assert next(p for p in kept if p.name.endswith(f"{name}.txt")).read_text(encoding="utf-8").strip()


@pytest.mark.parametrize("kind", ["images", "gold", "results"])
def test_a_url_holding_a_space_is_refused_saying_that_the_space_is_what_is_wrong(kind, loaded, tmp_path):
    spaced = "https://img.example/weddings-indian-languages/hindi/409/my photo.jpg"
    path = tmp_path / f"{kind}_spaced.csv"
    if kind == "results":
        write_results_csv(results_rows({"3SPACEDHIT": [*URLS[:2], spaced]}, [
            {"AssignmentId": "3SPACED1", "HITId": "3SPACEDHIT", "WorkerId": "W9", "selected": "image1"}]), path)
    else:
        second = "language" if kind == "images" else "truth"
        path.write_text(f"url,{second}\n{URLS[0]},{'hindi' if kind == 'images' else 'true'}\n"
                        f"{spaced},{'hindi' if kind == 'images' else 'true'}\n", encoding="utf-8")
    command = ["ingest"] if kind == "results" else ["load", kind]
    message = assert_refused(loaded, path, command, 2 if kind == "results" else 3,
                             "Input.image3" if kind == "results" else "url")
    assert f"{spaced!r} is not an http(s) URL: it holds a space or other whitespace (a URL writes a space as %20)" \
        in " ".join(message.split())


@pytest.mark.parametrize(("value", "reason"), [
    ("\x1chttps://x.example/a.jpg", "it does not start with http:// or https://"),  # not whitespace to the check
    ("ftp://x.example/a.jpg", "it does not start with http:// or https://"),
    ("https://x.example/a\u3000b.jpg", "it holds a space or other whitespace"),
    ("https://x.example/\u200ba.jpg", "it holds an invisible format character"),
    ("https://", "no host name follows http(s)://"),
])
def test_the_reason_a_value_is_not_a_url_is_the_one_the_url_check_refused_it_for(value, reason):
    from etl.load.images import HTTP_URL, not_a_url

    assert not pl.select(pl.lit(value).str.contains(HTTP_URL)).item()
    assert not_a_url(value).startswith(f"{value!r} is not an http(s) URL: {reason}")


def test_an_empty_file_is_refused_and_changes_nothing_but_is_not_quarantined(loaded):
    assert_refused(loaded, BAD / "results_empty.csv", ["ingest"], *CORPUS["results_empty.csv"])
    assert not (loaded.parent / "quarantine").exists()


def test_extra_unknown_columns_are_accepted_and_kept(loaded):
    result = invoke(loaded, "ingest", str(BAD / "results_extra_unknown_columns.csv"))
    assert result.exit_code == 0, result.output
    extra = query(loaded, "SELECT extra FROM raw.assignments WHERE assignment_id = '3BAD2'")
    assert json.loads(extra[0][0]) == {"Input.note": "b"}


def test_a_50_mb_random_blob_is_refused_and_changes_nothing(loaded, tmp_path):
    blob = tmp_path / "Batch_50_batch_results.csv"
    with open(blob, "wb") as handle:
        handle.writelines(os.urandom(1 << 20) for _ in range(50))
    assert_refused(loaded, blob, ["ingest"], None, None)


RESULT_COLUMNS = ["HITId", "AssignmentId", "WorkerId", "AssignmentStatus", "WorkTimeInSeconds", "Input.image1",
                  "Input.image2", "Answer.selected"]
cell = st.one_of(st.sampled_from(["", "H1", "A1", "A2", "W1", "Approved", "Submitted", "-3", "12", "image1",
                                  "image1|image2", "image3", "none_of_the_above", URLS[0], URLS[1],
                                  "javascript:x", "é", ",", '"', "\n"]),
                 st.text(max_size=6))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cell, min_size=len(RESULT_COLUMNS), max_size=len(RESULT_COLUMNS)),
                     min_size=1, max_size=5))
def test_generated_results_files_load_correctly_or_are_refused_cleanly(rows, loaded, tmp_path):
    path = tmp_path / "Batch_77_batch_results.csv"
    pl.DataFrame(rows, schema=RESULT_COLUMNS, orient="row").write_csv(path)
    before = table_fingerprints(loaded)
    before_count = query(loaded, "SELECT count(*) FROM raw.assignments")[0][0]
    result = invoke(loaded, "ingest", str(path))
    if result.exit_code == 0:
        after = query(loaded, "SELECT count(*) FROM raw.assignments")[0][0]
        loaded_ids = {r[0] for r in query(loaded, "SELECT assignment_id FROM raw.assignments "
                                                  "WHERE load_id = (SELECT max(load_id) FROM raw.load_log)")}
        file_ids = {r[1].strip() for r in rows}
        assert after - before_count == len(loaded_ids) and loaded_ids <= file_ids
        # put the warehouse back for the next example
        shutil.copyfile(loaded.with_name("pristine.duckdb"), loaded)
    else:
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert path.name in result.output
        assert table_fingerprints(loaded) == before


@pytest.fixture(autouse=True)
def _pristine_copy(request):
    """Keep a copy of the starting warehouse so a Hypothesis example that loads can be undone."""
    if "loaded" in request.fixturenames:
        warehouse = request.getfixturevalue("loaded")
        shutil.copyfile(warehouse, warehouse.with_name("pristine.duckdb"))
    yield


@pytest.mark.parametrize("kind", ["images", "predictions", "gold", "regions", "votes"])
def test_a_file_whose_name_is_not_utf8_is_refused_by_name_by_every_loader(kind, tmp_path, run_cli, warehouse):
    # A name in Latin-1 (a zip made on Windows, a copy from an old share): neither polars nor the
    # load log can hold it. The file itself would load.
    latin1 = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.csv"))
    latin1.write_text({"images": "url,language\nhttps://x.example/a.jpg,hindi\n",
                       "predictions": "path,predictions,predictions_include_groom_or_bridegroom\n"
                                      "https://x.example/a.jpg,['groom'],True\n",
                       "gold": "url,truth\nhttps://x.example/a.jpg,1\n",
                       "regions": "language,region\nklingon,Fictional\n",
                       "votes": "task,worker,label\nt1,w1,1\n"}[kind])
    run_cli("build")
    before = table_fingerprints(warehouse)
    result = run_cli("load", kind, str(latin1), expect=1)
    assert "caf\\xe9.csv: its path is not UTF-8" in result.output and "rename" in result.output
    assert table_fingerprints(warehouse) == before
    latin1.rename(tmp_path / "cafe.csv")  # as the message asks
    run_cli("load", kind, str(tmp_path / "cafe.csv"))


def test_a_folder_whose_path_is_not_utf8_is_refused_not_stored_garbled(tmp_path, run_cli, warehouse, monkeypatch):
    # Given from inside it ('.'), the folder's own name is UTF-8; the absolute paths stored are not.
    from PIL import Image

    folder = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9"))
    (folder / "data" / "hindi" / "12").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(folder / "data" / "hindi" / "12" / "01.jpg", format="JPEG")
    (folder / "m.csv").write_text("url,language,path\nhttps://x.example/a.jpg,hindi,data/hindi/12/01.jpg\n")
    run_cli("build")
    before = table_fingerprints(warehouse)
    monkeypatch.chdir(folder)
    for args in (["data", "--url-prefix", "https://x.example/d"], ["m.csv"]):
        result = run_cli("load", "images", *args, expect=1)
        assert "caf\\xe9" in result.output and "its path is not UTF-8" in result.output
    assert table_fingerprints(warehouse) == before
