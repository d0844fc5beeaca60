"""`crowdaudit report` on small warehouses built for one question each: its figures are the marts',
its sentences stay honest when a kind of data is missing, and hostile values stay text."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import duckdb
import pytest
from conftest import copy_of, query

URLS = [f"https://x.example/{k}.jpg" for k in range(1, 5)]


def text_of(page: str, section: str) -> str:
    """The visible text of one <section id=...> of the report, whitespace collapsed."""
    found = re.search(rf'<section id="{section}">(.*?)</section>', page, re.DOTALL)
    assert found, f"no section {section}"
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", found.group(1)))).strip()


@pytest.fixture
def split_votes(run_cli, write_results):
    """One HIT of four images whose three workers disagree: every label is unsure."""
    batch = write_results("Batch_1_batch_results.csv", {"H1": URLS}, [
        {"AssignmentId": "A1", "HITId": "H1", "WorkerId": "W1", "selected": "image1|image2"},
        {"AssignmentId": "A2", "HITId": "H1", "WorkerId": "W2", "selected": "image2|image3"},
        {"AssignmentId": "A3", "HITId": "H1", "WorkerId": "W3", "selected": "image4"},
    ])
    run_cli("ingest", str(batch))
    run_cli("build")


def report_of(run_cli, tmp_path: Path) -> str:
    output = tmp_path / "report.html"
    run_cli("report", "-o", str(output))
    return output.read_text(encoding="utf-8")


def test_extra_assignments_are_counted_per_hit_as_they_are_bought(split_votes, run_cli, warehouse, tmp_path):
    per_image, per_hit, cost = query(warehouse, """
        SELECT sum(extra_assignments),
               (SELECT sum(hit_extra_assignments) FROM (SELECT DISTINCT hit_id, hit_extra_assignments
                                                        FROM needs_more_votes)),
               (SELECT sum(hit_cost) FROM (SELECT DISTINCT hit_id, hit_cost FROM needs_more_votes))
        FROM needs_more_votes""")[0]
    assert per_image > per_hit  # four images of one HIT: the per-image sum counts the same assignments 4 times
    shown = text_of(report_of(run_cli, tmp_path), "labels")
    assert f"4 images need more votes: {per_hit} extra assignments on 1 HIT(s)" in shown
    assert f"about ${cost:.2f} with fees" in shown


def test_extra_assignments_already_asked_for_are_not_priced_again(split_votes, run_cli, warehouse, tmp_path):
    """After `hits extend`, the HIT's open assignments will bring the votes: the card priced them again.
    Once the HIT has expired they will not, and the card prices the whole need."""
    per_hit, cost = query(warehouse, "SELECT DISTINCT hit_extra_assignments, hit_cost FROM needs_more_votes")[0]
    assert per_hit >= 2
    with duckdb.connect(str(warehouse)) as con:  # one assignment asked for since the build, not yet answered
        con.execute("UPDATE raw.hits SET max_assignments = max_assignments + 1, "
                    "expiration = timezone('UTC', now()) + INTERVAL 1 DAY")
    shown = text_of(report_of(run_cli, tmp_path), "labels")
    assert f"4 images need more votes: {per_hit - 1} extra assignments on 1 HIT(s)" in shown
    assert f"about ${cost / per_hit * (per_hit - 1):.2f} with fees" in shown
    with duckdb.connect(str(warehouse)) as con:  # the HIT expired: that assignment will never be answered
        con.execute("UPDATE raw.hits SET expiration = timezone('UTC', now()) - INTERVAL 1 HOUR")
    shown = text_of(report_of(run_cli, tmp_path), "labels")
    assert f"4 images need more votes: {per_hit} extra assignments on 1 HIT(s)" in shown
    assert f"about ${cost:.2f} with fees" in shown


def test_unsure_labels_are_counted_against_the_target_that_needs_more_votes_uses(split_votes, run_cli, warehouse,
                                                                                   tmp_path):
    run_cli("labels", "--target", "0.6")  # every posterior is 2/3: none is unsure now
    unsure, needing = query(warehouse, """
        SELECT count(*) FILTER (WHERE posterior < 0.6 AND NOT is_gold),
               (SELECT count(*) FROM needs_more_votes) FROM label_confidence WHERE label IS NOT NULL""")[0]
    shown = text_of(report_of(run_cli, tmp_path), "labels")
    assert f"{unsure} outside gold below the target posterior of 60.0%" in shown
    assert unsure == needing == 0 and "0 images need more votes" in shown


def test_without_predictions_the_wrong_images_section_says_it_measured_nothing(split_votes, run_cli, tmp_path):
    shown = text_of(report_of(run_cli, tmp_path), "wrong")
    assert "Not measured: no predictions are loaded" in shown and "None" not in shown


def test_a_wrong_image_without_a_local_file_is_named_by_its_url_as_text(split_votes, run_cli, tmp_path):
    predictions = tmp_path / "predictions.csv"
    predictions.write_text("path,predictions,predictions_include_groom_or_bridegroom\n"
                           f"{URLS[1]},\"['suit', 'a', 'b']\",False\n", encoding="utf-8")
    run_cli("load", "predictions", str(predictions))
    run_cli("build")
    shown = text_of(report_of(run_cli, tmp_path), "wrong")
    assert "1 of 1 images with both a prediction and a label" in shown
    assert f"no local file {URLS[1]}" in shown and "its URL is given instead, as text" in shown


def test_the_wrong_images_count_is_the_metrics_errors_and_the_sample_spans_languages(demo_warehouse_template):
    page = (demo_warehouse_template.parent / "files" / "report.html").read_text(encoding="utf-8")
    errors, compared = query(demo_warehouse_template, "SELECT fp + fn, n FROM classifier_metrics "
                                                      "WHERE truth_source = 'labels' AND grouping = 'all'")[0]
    shown = text_of(page, "wrong")
    assert f"{errors} of {compared} images with both a prediction and a label" in shown
    languages = set(re.findall(r"<figcaption>\s*<bdi>([a-z]+)</bdi> ·", page))
    n_languages = query(demo_warehouse_template, "SELECT count(DISTINCT language) FROM images")[0][0]
    assert len(languages) == n_languages


def test_a_long_group_name_is_cut_in_the_chart_so_it_stays_clear_of_the_bars(demo_warehouse_template):
    from etl.report import gather, render
    from etl.warehouse import open_warehouse

    with open_warehouse(demo_warehouse_template, read_only=True) as con:
        context = gather(con)
    long_name = "Western Europe and the Americas"
    next(m for m in context["region_metrics"] if m["grp"] == "Western")["grp"] = long_name
    chart = re.search(r'<section id="by-region">.*?</svg>', render(context), re.DOTALL).group(0)
    assert f"<title>{long_name}</title>Western Europe …</text>" in chart


@pytest.mark.parametrize("where", ["missing/report.html", "a-file/report.html"])
def test_a_report_into_a_folder_that_is_not_there_is_refused_in_one_line(split_votes, run_cli, tmp_path, where):
    (tmp_path / "a-file").write_text("not a folder")
    result = run_cli("report", "-o", str(tmp_path / where), expect=1)
    folder = where.split("/")[0]
    reason = "does not exist" if folder == "missing" else "is not a folder"
    assert result.output.strip() == f"Error: cannot write {tmp_path / where}: {tmp_path / folder} {reason}"
    assert not (tmp_path / "missing").exists()


def test_the_cost_card_separates_rewards_awaiting_approval_and_adds_the_fees(demo_warehouse_template, tmp_path):
    from etl.report import write_report
    from etl.warehouse import open_warehouse

    with open_warehouse(demo_warehouse_template, read_only=True) as con:
        page = write_report(con, tmp_path / "report.html").read_text(encoding="utf-8")
        rewards, pending, approved = con.execute("""
            SELECT sum(h.reward) FILTER (WHERE a.assignment_status <> 'Rejected'),
                   sum(h.reward) FILTER (WHERE a.assignment_status = 'Submitted'),
                   count(*) FILTER (WHERE a.assignment_status = 'Approved')
            FROM raw.assignments AS a JOIN raw.hits AS h USING (hit_id)""").fetchall()[0]
    assert 0 < pending < rewards and approved > 0  # the demo has both: the archive approved, the new batch not yet
    card = re.sub(r"<[^>]+>", " ", re.search(r'<div class="card" id="cost">(.*?)</div>', page).group(1))
    # every demo HIT pays $0.01 an assignment, and MTurk's fee is then its $0.01 minimum
    assert " ".join(card.split()) == (f"${rewards:.2f} rewards before fees, ${pending:.2f} of them awaiting approval "
                                      f"(rejected: unpaid); ${2 * rewards:.2f} with MTurk's fees")


def test_a_report_that_fails_while_written_leaves_the_previous_report_whole(split_votes, run_cli, tmp_path,
                                                                            monkeypatch):
    import errno
    import os

    output = tmp_path / "report.html"
    run_cli("report", "-o", str(output))
    before = output.read_bytes()

    def disk_full(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        from etl.report import save_report
        save_report("<html>half</html>", output)
    assert output.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("report")) == ["report.html"]


def _region_chart(context: dict) -> str:
    from etl.report import render

    return re.search(r'<section id="by-region">.*?</svg>', render(context), re.DOTALL).group(0)


def test_a_metric_with_no_denominator_draws_no_bar_and_says_why(demo_warehouse_template):
    from etl.report import gather
    from etl.warehouse import open_warehouse

    with open_warehouse(demo_warehouse_template, read_only=True) as con:
        context = gather(con)
    row = next(m for m in context["region_metrics"] if m["grp"] == "Western")
    # No image of the region predicted positive, and none truly positive: precision and recall are undefined.
    row.update(tp=0, fp=0, fn=0, precision=None, recall=None, f1=None,
               precision_lo=None, precision_hi=None, recall_lo=None, recall_hi=None)
    chart = _region_chart(context)
    group = re.search(r"<title>Western</title>.*?(?=<text x=\"0\"|</svg>)", chart, re.DOTALL).group(0)
    assert "<rect" not in group
    text = re.sub(r"<[^>]+>", " ", group)
    assert "precision undefined: no image predicted positive" in text
    assert "recall undefined: no image truly positive" in text


def test_precision_and_recall_bars_carry_their_wilson_interval(demo_warehouse_template):
    from etl.report import gather
    from etl.warehouse import open_warehouse

    with open_warehouse(demo_warehouse_template, read_only=True) as con:
        context = gather(con)
    chart = _region_chart(context)
    intervals = re.findall(r'<line class="interval" x1="([\d.]+)"[^>]*x2="([\d.]+)"', chart)
    drawn = [m for m in context["region_metrics"] if m["truth_source"] == context["truth_sources"][0]]
    expected = [(row[f"{name}_lo"], row[f"{name}_hi"]) for row in drawn for name in ("precision", "recall")
                if row[f"{name}_lo"] is not None]
    assert len(intervals) == len(expected) > 0
    for (x1, x2), (lo, hi) in zip(intervals, expected, strict=True):
        assert float(x1) == pytest.approx(120 + lo * 440, abs=0.06)
        assert float(x2) == pytest.approx(120 + hi * 440, abs=0.06)


def _report_with_a_wrong_image_at(run_cli, tmp_path: Path, picture: Path) -> str:
    """The split votes' second image (the crowd says yes, the classifier no) with `picture` as its local file."""
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"url,language,path\n{URLS[1]},hindi,{picture}\n", encoding="utf-8")
    predictions = tmp_path / "predictions.csv"
    predictions.write_text("path,predictions,predictions_include_groom_or_bridegroom\n"
                           f"{URLS[1]},\"['suit', 'a', 'b']\",False\n", encoding="utf-8")
    run_cli("load", "images", str(manifest))
    run_cli("load", "predictions", str(predictions))
    run_cli("build")
    return report_of(run_cli, tmp_path)


def _thumbnails(page: str) -> list:
    import base64
    import io

    from PIL import Image

    return [Image.open(io.BytesIO(base64.b64decode(data)))
            for data in re.findall(r'<img src="data:image/jpeg;base64,([^"]+)"', page)]


def test_a_wrong_images_thumbnail_is_turned_the_way_its_exif_orientation_shows_it(split_votes, run_cli, tmp_path):
    from PIL import Image

    # A portrait photo (48 x 96 upright) as a camera stores it: sideways, with orientation 6.
    upright = Image.new("RGB", (48, 96), (255, 255, 255))
    upright.paste((255, 0, 0), (0, 0, 48, 48))  # red on top
    exif = Image.Exif()
    exif[0x0112] = 6
    photo = tmp_path / "portrait.jpg"
    upright.transpose(Image.Transpose.ROTATE_90).save(photo, quality=95, exif=exif)

    [thumbnail] = _thumbnails(_report_with_a_wrong_image_at(run_cli, tmp_path, photo))
    assert thumbnail.size == (48, 96)
    top, bottom = thumbnail.convert("RGB").getpixel((24, 10)), thumbnail.convert("RGB").getpixel((24, 86))
    assert top[0] > 200 > top[1] and min(bottom) > 200


def test_a_wrong_image_whose_file_is_a_decompression_bomb_is_listed_without_a_thumbnail(split_votes, run_cli,
                                                                                       tmp_path):
    import struct
    import zlib

    # 250 KB on disk, 16,000 x 16,000 pixels: Pillow refuses to open it with an error of its own.
    side = 16_000
    rows = zlib.compress(b"".join(b"\x00" * (side + 1) for _ in range(side)), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", rows) + chunk(b"IEND", b""))
    page = _report_with_a_wrong_image_at(run_cli, tmp_path, bomb)
    assert _thumbnails(page) == []
    assert "1 of 1 images with both a prediction and a label" in text_of(page, "wrong")
    # The file is there: the caption says the picture is not shown, not that there is no file.
    assert '<div class="no-image">picture not shown</div>' in page and "no local file</div>" not in page
    assert "over 100 megapixels" in text_of(page, "wrong")


def test_a_crowd_larger_than_the_worker_table_shows_its_first_rows_and_says_how_many_there_are(run_cli, warehouse,
                                                                                                tmp_path):
    from etl.report import MAX_WORKERS

    # Three times as many workers as the table holds, each answering 10 images; every 7th ticks all
    # of them (flagged: always ticks), the others one in two.
    n_workers, tasks = 3 * MAX_WORKERS, [f"https://x.example/{k}.jpg" for k in range(10)]
    votes = tmp_path / "votes.csv"
    votes.write_text("task,worker,label\n" + "".join(
        f"{url},W{worker:05d},{int(worker % 7 == 0 or (k + worker) % 2 == 0)}\n"
        for worker in range(n_workers) for k, url in enumerate(tasks)), encoding="utf-8")
    run_cli("load", "votes", str(votes))
    run_cli("build")
    workers, flagged = query(warehouse, "SELECT count(*), count(*) FILTER (WHERE flagged) FROM worker_quality")[0]
    assert workers == n_workers and flagged == len(range(0, n_workers, 7))
    page = report_of(run_cli, tmp_path)
    table = re.search(r'<section id="workers">.*?<tbody>(.*?)</tbody>', page, re.DOTALL).group(1)
    assert table.count("<tr") == MAX_WORKERS
    assert table.count('<tr class="bad">') == flagged  # flagged first: all of them in the table
    assert (f"The first {MAX_WORKERS} of {n_workers:,} workers ({flagged:,} flagged); all of them are in the "
            "worker_quality table") in text_of(page, "workers")


def test_a_wrong_images_top_labels_read_in_rank_order_when_some_are_written_right_to_left(split_votes, run_cli,
                                                                                          tmp_path, browser):
    # A classifier with Hebrew class names ('groom', 'bride'): in a left-to-right page, two
    # right-to-left words in a row form one run, read from the right, ranks 3 then 2.
    ranked = ["suit", "חתן", "כלה"]
    predictions = tmp_path / "predictions.csv"
    predictions.write_text("path,predictions,predictions_include_groom_or_bridegroom\n"
                           f"{URLS[1]},\"{ranked!r}\",False\n", encoding="utf-8")
    run_cli("load", "predictions", str(predictions))
    run_cli("build")
    report_of(run_cli, tmp_path)
    browser.open((tmp_path / "report.html").as_uri(),
                 ready="document.readyState === 'complete' && !!document.getElementById('wrong')")
    # Where each label starts on the screen, found in the caption's text, whatever elements hold it.
    lefts = browser.evaluate("""(labels => {
        const caption = document.querySelector('#wrong figcaption');
        return labels.map(label => {
            const walker = document.createTreeWalker(caption, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                const at = node.textContent.indexOf(label);
                if (at < 0) continue;
                const range = document.createRange();
                range.setStart(node, at); range.setEnd(node, at + label.length);
                return range.getBoundingClientRect().left;
            }
            return null; }); })(""" + json.dumps(ranked) + ")")
    assert None not in lefts and lefts == sorted(lefts), lefts


def test_hits_planned_but_not_published_are_not_counted_as_hits(split_votes, run_cli, tmp_path):
    # Uploaded through the web site, a planned HIT comes back under the site's HITId: counted
    # as well, it would be counted twice.
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("url,language\n" + "".join(f"https://new.example/hindi/1/{k}.jpg,hindi\n" for k in range(3)),
                        encoding="utf-8")
    run_cli("load", "images", str(manifest))
    run_cli("hits", "build", "--per-hit", "3", "--variables", str(tmp_path / "variables.csv"))
    shown = text_of(report_of(run_cli, tmp_path), "summary")
    assert " 1 HITs (1 more planned, not published through crowdaudit) 3 " in shown


def test_before_any_label_the_labels_section_still_states_the_target_posterior(run_cli, tmp_path):
    predictions = tmp_path / "p.csv"
    predictions.write_text("path,predictions,predictions_include_groom_or_bridegroom\n"
                           "https://x.example/hindi/1/01.jpg,\"['groom']\",True\n", encoding="utf-8")
    run_cli("load", "predictions", str(predictions))
    run_cli("build")
    shown = text_of(report_of(run_cli, tmp_path), "labels")
    assert shown.startswith("How sure the labels are 0 images labelled;")
    assert "0 outside gold below the target posterior of 80.0%" in shown


def test_with_more_languages_than_pictures_the_wrong_images_still_show_every_region(run_cli, write_results, tmp_path):
    """Taken in turn from each language, then by region name, 30 languages of the region named
    'unknown' (languages the region table lacks, as most of MMID's are) filled all 24 places: a
    reader comparing regions saw no wrong Western or non-Western image at all."""
    languages = {f"lang{k:02d}": "unknown" for k in range(30)} | {"hindi": "non-Western", "spanish": "Western"}
    urls = {language: f"https://x.example/{language}/1/01.jpg" for language in languages}
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("url,language,region\n" + "".join(f"{urls[lang]},{lang},{region}\n"
                                                          for lang, region in languages.items()), encoding="utf-8")
    run_cli("load", "images", str(manifest))
    hits = {f"H{k}": [url] for k, url in enumerate(urls.values())}
    run_cli("ingest", str(write_results("Batch_1_batch_results.csv", hits, [
        {"AssignmentId": f"A{hit}{worker}", "HITId": hit, "WorkerId": f"W{worker}", "selected": "image1"}
        for hit in hits for worker in range(3)])), "--allow-warnings")
    predictions = tmp_path / "predictions.csv"  # every image a wedding to the crowd, none to the classifier
    predictions.write_text("path,predictions,predictions_include_groom_or_bridegroom\n"
                           + "".join(f"{url},\"['suit']\",False\n" for url in urls.values()), encoding="utf-8")
    run_cli("load", "predictions", str(predictions))
    run_cli("build")
    shown = text_of(report_of(run_cli, tmp_path), "wrong")
    assert "32 of 32 images with both a prediction and a label" in shown
    assert "hindi · non-Western" in shown and "spanish · Western" in shown


def _classifier_named(page: str) -> str:
    """The visible text of the header's sentence naming the classifier, whitespace collapsed."""
    found = re.search(r'<span id="classifier">(.*?)</span>', page, re.DOTALL)
    assert found, "the header names no classifier"
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))).strip()


def _load_predictions(run_cli, tmp_path: Path, name: str, urls: list[str], *model: str) -> None:
    predictions = tmp_path / name
    predictions.write_text("path,predictions,predictions_include_groom_or_bridegroom\n" + "".join(
        f"{url},\"['suit', 'groom', 'b']\",True\n" for url in urls), encoding="utf-8")
    run_cli("load", "predictions", str(predictions), *model)


def test_the_header_names_the_classifier_whose_predictions_the_metrics_use(split_votes, run_cli, tmp_path):
    _load_predictions(run_cli, tmp_path, "old.csv", URLS, "--model", "resnet50-2019")
    _load_predictions(run_cli, tmp_path, "new.csv", URLS, "--model", "resnet50 <finetuned>")
    run_cli("build")
    # The newer run covers every image: the older model is in the warehouse but not in the figures.
    assert _classifier_named(report_of(run_cli, tmp_path)) == "Classifier: resnet50 <finetuned>."


def test_a_report_whose_images_two_classifiers_predicted_says_so_with_how_many_images_each_covers(
        split_votes, run_cli, tmp_path):
    # `classify` on some images and a predictions CSV on others: classifier_metrics mixes both, and
    # the report named neither.
    _load_predictions(run_cli, tmp_path, "first.csv", URLS, "--model", "resnet50")
    _load_predictions(run_cli, tmp_path, "image_paths_and_predictions.csv", URLS[3:])  # newer, for one image
    run_cli("build")
    assert _classifier_named(report_of(run_cli, tmp_path)) == (
        "Classifier: the runs in use name different models, so every metric mixes their predictions: "
        "resnet50 (3 images), csv:image_paths_and_predictions.csv (1 image).")


def test_without_predictions_the_header_names_no_classifier(split_votes, run_cli, tmp_path):
    page = report_of(run_cli, tmp_path)
    assert 'id="classifier"' not in page and "Classifier:" not in page


def test_the_metric_tables_write_every_count_with_a_thousands_separator(demo_warehouse_template, run_cli, warehouse,
                                                                        tmp_path):
    """n was written 28,469 beside tp 12345 in the same row; every count now reads alike."""
    copy_of(demo_warehouse_template, warehouse)
    con = duckdb.connect(str(warehouse))
    con.execute("UPDATE classifier_metrics SET tp = 12345, fp = 1234, fn = 2345, tn = 12545, n = 28469 "
                "WHERE truth_source = 'majority' AND grouping = 'all'")
    con.close()
    page = report_of(run_cli, tmp_path)
    table = re.search(r'<table class="metrics" data-truth-source="majority">(.*?)</table>', page, re.DOTALL).group(1)
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", table)]
    assert cells[:7] == ["all", "all", "28,469", "12,345", "1,234", "2,345", "12,545"]
