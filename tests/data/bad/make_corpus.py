"""Regenerate the bad-input corpus: python tests/data/bad/make_corpus.py (from the repo root).

Every file is a small, valid results/predictions/gold/images file with one thing broken, as
named. tests/test_bad_inputs.py says what `crowdaudit` must answer to each. The 50 MB random
blob is made by the test itself, in a temporary folder.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parents[1]))  # tests/, for conftest.results_rows

from conftest import results_rows

from etl.simulate import write_results_csv

URLS = [f"https://img.example/weddings-indian-languages/hindi/40{k}/01.jpg" for k in range(1, 4)]
HIT = {"3BADHIT": URLS}
ANSWERS = [
    {"AssignmentId": "3BAD1", "HITId": "3BADHIT", "WorkerId": "WB1", "selected": "image1|image2"},
    {"AssignmentId": "3BAD2", "HITId": "3BADHIT", "WorkerId": "WB2", "selected": "image2"},
    {"AssignmentId": "3BAD3", "HITId": "3BADHIT", "WorkerId": "WB3", "selected": "image3"},
]


def good_results() -> str:
    path = HERE / "_good.tmp"
    write_results_csv(results_rows(HIT, ANSWERS), path)
    text = path.read_bytes().decode("utf-8")
    path.unlink()
    return text


def lines() -> list[str]:
    return good_results().split("\r\n")


def cell_replace(row: int, old: str, new: str) -> str:
    """The good file with `old` replaced by `new` in file row `row` (header = 1)."""
    rows = lines()
    assert old in rows[row - 1], (row, old)
    rows[row - 1] = rows[row - 1].replace(old, new, 1)
    return "\r\n".join(rows)


def drop_column(name: str) -> str:
    import csv
    import io

    reader = list(csv.reader(io.StringIO(good_results())))
    index = reader[0].index(name)
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(
        [cells[:index] + cells[index + 1:] for cells in reader])
    return out.getvalue()


def with_column(name: str, values: list[str]) -> str:
    rows = lines()
    rows[0] = rows[0].replace(',"Approve"', f',"{name}","Approve"')  # data rows stop before Approve
    for i, value in enumerate(values, start=1):
        rows[i] = rows[i] + f',"{value}"'
    return "\r\n".join(rows)


def as_task_answers(broken_row: int, broken: str) -> str:
    """The good file answered through a <crowd-form>: Answer.taskAnswers JSON instead of
    Answer.selected, with file row `broken_row`'s answer replaced by `broken`."""
    rows = lines()
    rows[0] = rows[0].replace('"Answer.selected"', '"Answer.taskAnswers"')
    for i, answer in enumerate(ANSWERS, start=1):
        ticked = {f"image{n}": {"on": f"image{n}" in answer["selected"].split("|")} for n in (1, 2, 3)}
        text = broken if i + 1 == broken_row else json.dumps([ticked])
        head, _ = rows[i].rsplit(",", 1)  # data rows end with the answer (Approve/Reject left out)
        rows[i] = head + ',"' + text.replace('"', '""') + '"'
    return "\r\n".join(rows)


def main() -> None:
    good = good_results()
    rows = lines()
    files: dict[str, str | bytes] = {
        "results_truncated_mid_row.csv": good[: good.index("3BAD2") + 40],
        "results_missing_worker_column.csv": drop_column("WorkerId"),
        "results_semicolon_delimiter.csv": good.replace('","', '";"'),
        "results_tab_delimiter.csv": good.replace('","', '"\t"'),
        "results_excel_timestamps.csv": cell_replace(3, "Wed Feb 20 12:00:00 PST 2019", "2/20/2019 12:00"),
        "results_duplicate_assignment_different_answer.csv": "\r\n".join(
            [*rows[:4], rows[1].replace('"image1|image2"', '"image3"'), ""]),
        "results_answer_names_missing_slot.csv": cell_replace(3, '"image2"', '"image2|image9"'),
        "results_answer_not_a_slot.csv": cell_replace(4, '"image3"', '"cat"'),
        "results_empty.csv": "",
        "results_header_only.csv": rows[0] + "\r\n",
        "results_javascript_url.csv": good.replace(URLS[1], "javascript:alert(document.cookie)"),
        "results_ftp_url.csv": good.replace(URLS[2], "ftp://img.example/3.jpg"),
        "results_unknown_status.csv": cell_replace(3, '"Submitted"', '"Lost"'),
        "results_negative_work_time.csv": cell_replace(4, '"100"', '"-100"'),
        "results_work_time_not_a_number.csv": cell_replace(2, '"100"', '"1 min"'),
        "results_submit_before_accept.csv": cell_replace(3, "Wed Feb 20 12:01:40 PST 2019",
                                                         "Wed Feb 20 11:01:40 PST 2019"),
        "results_reward_not_money.csv": good.replace('"$0.01"', '"one cent"'),
        "results_empty_assignment_id.csv": cell_replace(3, '"3BAD2"', '""'),
        "results_empty_worker_id.csv": cell_replace(4, '"WB3"', '""'),
        "results_repeated_header_column.csv": good.replace('"Keywords"', '"Title"', 1),
        "results_hit_with_two_image_sets.csv": cell_replace(4, URLS[0], URLS[0].replace("401", "499")),
        "results_all_images_blank.csv": good.replace(f'"{URLS[0]}"', '""').replace(f'"{URLS[1]}"', '""')
        .replace(f'"{URLS[2]}"', '""'),
        "results_too_many_fields.csv": cell_replace(3, '"image2"', '"image2","surplus","more","fields"'),
        "results_unterminated_quote.csv": cell_replace(3, '"WB2"', '"WB2'),
        "results_unusually_fast_worker.csv": cell_replace(2, '"100"', '"1"'),
        "results_changes_a_loaded_answer.csv": cell_replace(2, '"3BAD1"', '"3BASE1"')
        .replace('"3BADHIT"', '"3BASEHIT"'),
        "results_non_utf8.csv": cell_replace(3, '"WB2"', '"WB2-\udce9"').encode("utf-8", "surrogateescape"),
        "results_no_answer_column.csv": drop_column("Answer.selected"),
        # Cut after a whole field, so polars pads the row: its answer must not read as "ticked nothing".
        "results_cut_off_after_an_image.csv": good[: good.index(f'"{URLS[1]}"', good.index("3BAD3"))
                                                   + len(URLS[1]) + 2],
        "results_row_without_answer.csv": cell_replace(3, ',"image2"', ""),
        "results_reward_decimal_comma.csv": good.replace('"$0.01"', '"0,01"'),
        "results_negative_reward.csv": good.replace('"$0.01"', '"-0.05"'),
        "results_non_utf8_after_line_break.csv": cell_replace(3, '"WB2"', '"WB2-\udce9"')
        .replace('"Weddings"', '"Wed-\r\ndings"').encode("utf-8", "surrogateescape"),
        "predictions_not_a_list.csv": "path,predictions,predictions_include_groom_or_bridegroom\n"
        f"{URLS[0]},\"['groom', 'suit']\",True\n{URLS[1]},vestment abaya cloak,False\n",
        "predictions_python_expression.csv": "path,predictions,predictions_include_groom_or_bridegroom\n"
        f"{URLS[0]},\"__import__('os').system('true')\",True\n",
        "predictions_flag_not_boolean.csv": "path,predictions,predictions_include_groom_or_bridegroom\n"
        f"{URLS[0]},\"['groom']\",True\n{URLS[1]},\"['suit']\",perhaps\n",
        "predictions_javascript_path.csv": "path,predictions,predictions_include_groom_or_bridegroom\n"
        f"{URLS[0]},\"['groom']\",True\njavascript:alert(1),\"['suit']\",False\n",
        "gold_truth_not_boolean.csv": f"url,truth\n{URLS[0]},true\n{URLS[1]},maybe\n",
        "gold_contradicting_rows.csv": f"url,truth\n{URLS[0]},true\n{URLS[1]},false\n{URLS[0]},false\n",
        "gold_missing_truth_column.csv": f"url,answer\n{URLS[0]},true\n",
        "images_javascript_url.csv": f"url,language\n{URLS[0]},hindi\njavascript:alert(1),tamil\n",
        "images_missing_language_column.csv": f"url\n{URLS[0]}\n",
        # Row 3 is bad; its line number is 4 because row 2 holds a line break.
        "images_bad_quote_after_line_break.csv": f'url,language,word\n{URLS[0]},hindi,"40\n1"\n'
        f'{URLS[1]},hindi,"402"x\n',
        "gold_url_not_a_url.csv": f"url,truth\n{URLS[0]},true\nimage 402,false\n",
        "gold_truth_empty.csv": f"url,truth\n{URLS[0]},true\n{URLS[1]},\n",
        "results_extra_unknown_columns.csv": with_column("Input.note", ["a", "b", "c"]),
        "results_hit_shows_an_image_twice.csv": good.replace(f'"{URLS[2]}"', f'"{URLS[0]}"'),
        "results_nul_byte.csv": cell_replace(3, '"WB2"', '"WB\x002"'),
        "results_cr_line_ends.csv": good.replace("\r\n", "\r"),
        "results_utf16.csv": good.encode("utf-16"),
        "images_language_empty.csv": f"url,language\n{URLS[0]},hindi\n{URLS[1]}, \n",
        "results_task_answers_not_json.csv": as_task_answers(3, '[{"image1":{"on":false},"image2":{"on":tru'),
        "results_task_answers_checkbox_not_boolean.csv": as_task_answers(4, '[{"image3":{"on":"maybe"}}]'),
        "results_task_answers_no_slot_field.csv": as_task_answers(3, '[{"wedding3":{"on":true},"comment":""}]'),
        "predictions_contradicting_rows.csv": "path,predictions,predictions_include_groom_or_bridegroom\n"
        f"{URLS[0]},\"['groom']\",True\n{URLS[1]},\"['suit']\",False\n{URLS[0]},\"['suit']\",True\n",
    }
    for name, content in files.items():
        target = HERE / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8", newline="")
    print(f"{len(files)} files in {HERE}")


if __name__ == "__main__":
    main()
