"""`crowdaudit load images`: manifests, the MMID directory layout, and regions."""

from __future__ import annotations

import os

import duckdb
import polars as pl
import pytest
from conftest import query, table_fingerprints
from PIL import Image

from etl.load.images import LAYOUT, language_name, url_languages_sql


def test_a_manifest_loads_with_region_from_the_shipped_table_case_insensitively(tmp_path, run_cli, warehouse):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "url,language,word,region\n"
        "https://x.example/a.jpg,Punjabi,7899,\n"
        "https://x.example/b.jpg,SPANISH,1054,\n"
        "https://x.example/c.jpg,klingon,1,\n"
        "https://x.example/d.jpg,hindi,2,Western\n"
    )
    result = run_cli("load", "images", str(manifest))
    assert "4 inserted" in result.output
    run_cli("build")
    rows = query(warehouse, "SELECT image_id, language, region FROM images ORDER BY 1")
    assert rows == [
        ("https://x.example/a.jpg", "punjabi", "non-Western"),
        ("https://x.example/b.jpg", "spanish", "Western"),
        ("https://x.example/c.jpg", "klingon", "unknown"),
        ("https://x.example/d.jpg", "hindi", "Western"),  # the manifest's region wins
    ]


def test_a_manifest_language_that_gets_no_region_is_named_with_how_to_give_it_one(tmp_path, run_cli, warehouse):
    # Deutsch (German's own name) is not in the shipped table: its images fell into region
    # 'unknown', out of the Western/non-Western comparison, and the load said nothing.
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "url,language,region\n"
        "https://x.example/a.jpg,hindi,\n"
        "https://x.example/b.jpg,Deutsch,\n"
        "https://x.example/c.jpg,hindhi,\n"
        "https://x.example/d.jpg,deutsch,\n"
        "https://x.example/e.jpg,klingon,Western\n"  # a region given: nothing to say
    )
    result = run_cli("load", "images", str(manifest))
    assert "note: 3 image(s) of language(s) 'deutsch', 'hindhi' (first at row 3) get region 'unknown'" in result.output
    assert "load regions FILE.csv" in result.output and "klingon" not in result.output

    regions = tmp_path / "regions.csv"
    regions.write_text("language,region\nDeutsch,Western\nhindhi,non-Western\n")
    run_cli("load", "regions", str(regions))
    run_cli("build")
    assert query(warehouse, "SELECT count(*) FROM images WHERE region = 'unknown'") == [(0,)]
    again = tmp_path / "again.csv"
    again.write_text("url,language\nhttps://x.example/f.jpg,DEUTSCH\n")
    assert "note" not in run_cli("load", "images", str(again)).output


def test_a_directory_in_the_dataset_layout_gives_language_word_and_url(tmp_path, run_cli, warehouse):
    for relative in ("weddings-indian-languages/punjabi/7899/01.jpg",
                     "weddings-european-language/spanish/1054/02.jpg"):
        path = tmp_path / "data" / relative
        path.parent.mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(path)
    (tmp_path / "data" / "README.txt").write_text("not an image")
    run_cli("load", "images", str(tmp_path / "data"), "--url-prefix", "https://cdn.example/mmid/")
    run_cli("build")
    rows = query(warehouse, "SELECT image_id, language, word, region, path IS NOT NULL FROM images ORDER BY 1")
    assert rows == [
        ("https://cdn.example/mmid/weddings-european-language/spanish/1054/02.jpg", "spanish", "1054", "Western", True),
        ("https://cdn.example/mmid/weddings-indian-languages/punjabi/7899/01.jpg", "punjabi", "7899", "non-Western",
         True),
    ]
    again = run_cli("load", "images", str(tmp_path / "data"), "--url-prefix", "https://cdn.example/mmid/")
    assert "already loaded" in again.output
    # The same folder served somewhere else is other URLs, so other images.
    elsewhere = run_cli("load", "images", str(tmp_path / "data"), "--url-prefix", "https://mirror.example/m")
    assert "2 inserted" in elsewhere.output


def test_a_file_one_level_too_shallow_gets_no_language_and_keeps_what_a_manifest_said(tmp_path, run_cli,
                                                                                        warehouse):
    shallow = tmp_path / "data" / "weddings-indian-languages" / "punjabi" / "01.jpg"
    shallow.parent.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(shallow)
    url = "https://cdn.example/m/weddings-indian-languages/punjabi/01.jpg"
    (tmp_path / "m.csv").write_text(f"url,language,word\n{url},punjabi,7899\n")
    run_cli("load", "images", str(tmp_path / "m.csv"))
    run_cli("load", "images", str(tmp_path / "data"), "--url-prefix", "https://cdn.example/m")
    assert query(warehouse, "SELECT language, word, path IS NOT NULL FROM raw.images") == [("punjabi", "7899", True)]


def test_a_file_name_that_is_not_utf8_is_refused_naming_it(tmp_path, run_cli, warehouse):
    folder = tmp_path / "data" / "w" / "hindi" / "1"
    folder.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(folder / "ok.jpg")
    (folder.parent.parent.parent / "w" / "hindi" / "1").joinpath(os.fsdecode(b"caf\xe9.jpg")).write_bytes(b"x")
    result = run_cli("load", "images", str(tmp_path / "data"), "--url-prefix", "https://cdn.example/m", expect=1)
    assert "caf\\xe9.jpg" in result.output and "not UTF-8" in result.output
    assert not warehouse.exists() or query(warehouse, "SELECT count(*) FROM raw.images") == [(0,)]


def test_a_directory_without_url_prefix_is_a_usage_error(tmp_path, run_cli):
    (tmp_path / "d").mkdir()
    result = run_cli("load", "images", str(tmp_path / "d"), expect=2)
    assert "--url-prefix" in result.output


def test_a_manifest_url_that_is_not_http_is_refused_naming_row_and_column(tmp_path, run_cli, warehouse):
    good = tmp_path / "good.csv"
    good.write_text("url,language\nhttps://x.example/a.jpg,hindi\n")
    run_cli("load", "images", str(good))
    before = table_fingerprints(warehouse)
    bad = tmp_path / "bad.csv"
    bad.write_text("url,language\nhttps://x.example/b.jpg,hindi\njavascript:alert(1),hindi\n")
    result = run_cli("load", "images", str(bad), expect=1)
    assert "bad.csv, row 3, column url" in result.output
    assert table_fingerprints(warehouse) == before


def test_gold_coded_with_other_values_loads_with_positive(tmp_path, run_cli, warehouse):
    gold = tmp_path / "truth.csv"
    gold.write_text("task,truth\nt1,2\nt2,1\n")
    plain = run_cli("load", "gold", str(gold), expect=1)
    assert "row 2, column truth" in plain.output
    run_cli("load", "gold", str(gold), "--positive", "2")
    assert query(warehouse, "SELECT image_id, truth FROM raw.gold ORDER BY 1") == [("t1", True), ("t2", False)]
    three = tmp_path / "three.csv"
    three.write_text("task,truth\nt1,2\nt2,1\nt3,3\n")
    assert "found ['1', '2', '3']" in run_cli("load", "gold", str(three), "--positive", "2", expect=1).output


def test_a_blank_truth_under_positive_is_refused_at_its_row_not_counted_as_a_third_value(tmp_path, run_cli,
                                                                                         warehouse):
    gold = tmp_path / "truth.csv"
    gold.write_text('task,truth\nt1,2\nt2," "\nt3,1\n')
    result = run_cli("load", "gold", str(gold), "--positive", "2", expect=1)
    assert "row 3, column truth: truth is empty" in result.output



def test_a_gold_task_id_holding_a_line_break_is_refused_at_its_row(tmp_path, run_cli, warehouse):
    # As load votes refuses it: an id nobody can type names no task of any votes file.
    gold = tmp_path / "truth.csv"
    gold.write_text('task,truth\nt1,1\n"t2\nx",0\n', encoding="utf-8")
    result = run_cli("load", "gold", str(gold), expect=1)
    assert "row 3, column task: task 't2\\nx' holds a line break or another control character" in result.output

def test_positive_matches_truth_values_in_any_case(tmp_path, run_cli, warehouse):
    gold = tmp_path / "truth.csv"
    gold.write_text("task,truth\nt1,Wedding\nt2,other\nt3,WEDDING \n")
    run_cli("load", "gold", str(gold), "--positive", "wedding")
    assert query(warehouse, "SELECT image_id, truth FROM raw.gold ORDER BY 1") == [
        ("t1", True), ("t2", False), ("t3", True)]


def test_a_manifest_region_in_another_spelling_is_written_as_the_table_has_it(tmp_path, run_cli, warehouse):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "url,language,region\n"
        "https://x.example/a.jpg,hindi,western\n"
        "https://x.example/b.jpg,spanish,NON western\n"
        "https://x.example/c.jpg,tamil,Westren\n"
    )
    result = run_cli("load", "images", str(manifest))
    assert "'Westren' (first at row 4) are not among the known regions" in result.output
    run_cli("build")
    assert query(warehouse, "SELECT image_id, region FROM images ORDER BY 1") == [
        ("https://x.example/a.jpg", "Western"),
        ("https://x.example/b.jpg", "non-Western"),
        ("https://x.example/c.jpg", "Westren"),  # kept as written, and said so
    ]


def test_directory_file_names_that_would_break_a_url_are_percent_encoded(tmp_path, run_cli, warehouse):
    names = ("a b.jpg", "c#1.jpg", "50%.jpg", "छवि.jpg")
    for name in names:
        path = tmp_path / "data" / "hindi" / "12" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8)).save(path)
    run_cli("load", "images", str(tmp_path / "data"), "--url-prefix", "https://cdn.example/m")
    rows = query(warehouse, "SELECT image_id, language, word FROM raw.images ORDER BY path")
    assert rows == [
        ("https://cdn.example/m/hindi/12/50%25.jpg", "hindi", "12"),
        ("https://cdn.example/m/hindi/12/a%20b.jpg", "hindi", "12"),
        ("https://cdn.example/m/hindi/12/c%231.jpg", "hindi", "12"),
        ("https://cdn.example/m/hindi/12/छवि.jpg", "hindi", "12"),
    ]


def test_the_same_gold_file_with_another_positive_loads_again_and_corrects_the_truths(tmp_path, run_cli, warehouse):
    gold = tmp_path / "truth.csv"
    gold.write_text("task,truth\nt1,2\nt2,1\n")
    run_cli("load", "gold", str(gold), "--positive", "1")  # the wrong way round
    corrected = run_cli("load", "gold", str(gold), "--positive", "2")
    assert "2 updated" in corrected.output
    assert query(warehouse, "SELECT image_id, truth FROM raw.gold ORDER BY 1") == [("t1", True), ("t2", False)]
    assert "already loaded" in run_cli("load", "gold", str(gold), "--positive", "2").output


def test_headers_in_any_case_and_unnamed_columns_load(tmp_path, run_cli, warehouse):
    manifest = tmp_path / "manifest.csv"  # as a spreadsheet saves it: capitalised, two empty columns
    manifest.write_text("URL,Language,Region,Word,,\nhttps://x.example/a.jpg,Español,Western,7899,,\n")
    run_cli("load", "images", str(manifest))
    nfd = tmp_path / "nfd.csv"
    nfd.write_text("url,language\nhttps://x.example/b.jpg,Espan\u0303ol\n")  # the same word, decomposed
    run_cli("load", "images", str(nfd))
    assert query(warehouse, "SELECT image_id, language, word, region FROM raw.images ORDER BY 1") == [
        ("https://x.example/a.jpg", "español", "7899", "Western"),
        ("https://x.example/b.jpg", "español", None, None),
    ]


def test_a_later_manifest_that_changes_the_language_drops_the_old_region(tmp_path, run_cli, warehouse):
    (tmp_path / "a.csv").write_text("url,language,region\nhttps://x.example/a.jpg,hindi,non-Western\n")
    (tmp_path / "b.csv").write_text("url,language\nhttps://x.example/a.jpg,english\n")
    run_cli("load", "images", str(tmp_path / "a.csv"))
    run_cli("load", "images", str(tmp_path / "b.csv"))
    run_cli("build")
    assert query(warehouse, "SELECT language, region FROM images") == [("english", "Western")]


def test_directory_loads_skip_what_operating_systems_leave_beside_images(tmp_path, run_cli, warehouse):
    for relative in ("hindi/12/01.jpg", "hindi/12/._01.jpg", "__MACOSX/hindi/12/._01.jpg", "hindi/.thumbs/01.jpg"):
        path = tmp_path / "data" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8)).save(path, format="JPEG")
    run_cli("load", "images", str(tmp_path / "data"), "--url-prefix", "https://cdn.example/m")
    assert query(warehouse, "SELECT image_id FROM raw.images") == [("https://cdn.example/m/hindi/12/01.jpg",)]


def test_a_url_prefix_with_a_query_string_is_refused(tmp_path, run_cli, warehouse):
    (tmp_path / "data" / "hindi" / "12").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "data" / "hindi" / "12" / "01.jpg")
    result = run_cli("load", "images", str(tmp_path / "data"), "--url-prefix", "https://cdn.example/m?token=1",
                     expect=1)
    assert "query or fragment" in result.output


def test_directory_loads_follow_symlinked_folders_once(tmp_path, run_cli, warehouse):
    elsewhere = tmp_path / "elsewhere" / "punjabi" / "7899"
    elsewhere.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(elsewhere / "01.jpg")
    (tmp_path / "data" / "hindi" / "12").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "data" / "hindi" / "12" / "01.jpg")
    (tmp_path / "data" / "punjabi").symlink_to(elsewhere.parent)
    (tmp_path / "data" / "hindi" / "12" / "loop").symlink_to(tmp_path / "data")  # a link back up
    run_cli("load", "images", str(tmp_path / "data"), "--url-prefix", "https://cdn.example/m")
    assert query(warehouse, "SELECT image_id, language FROM raw.images ORDER BY 1") == [
        ("https://cdn.example/m/hindi/12/01.jpg", "hindi"),
        ("https://cdn.example/m/punjabi/7899/01.jpg", "punjabi"),
    ]


def test_a_zero_width_space_is_refused_in_a_url_and_dropped_from_a_language(tmp_path, run_cli, warehouse):
    (tmp_path / "bad.csv").write_text("url,language\nhttps://x.example/b.jpg\u200b,hindi\n")
    assert "row 2, column url" in run_cli("load", "images", str(tmp_path / "bad.csv"), expect=1).output
    (tmp_path / "ok.csv").write_text("url,language\nhttps://x.example/c.jpg,hin\u200bdi\n")
    run_cli("load", "images", str(tmp_path / "ok.csv"))
    assert query(warehouse, "SELECT language FROM raw.images") == [("hindi",)]


def test_gold_for_an_image_the_warehouse_does_not_hold_loads_with_a_note(tmp_path, run_cli, warehouse):
    manifest = tmp_path / "m.csv"
    manifest.write_text("url,language\nhttps://x.example/hindi/1/01.jpg,hindi\n", encoding="utf-8")
    gold = tmp_path / "gold.csv"
    gold.write_text("url,truth\nhttps://x.example/hindi/1/01.jpg,1\nhttps://x.exmaple/hindi/1/02.jpg,0\n",
                    encoding="utf-8")
    assert "note" not in run_cli("load", "gold", str(gold)).output  # before any image: nothing to compare
    run_cli("load", "images", str(manifest))
    gold.write_text(gold.read_text(encoding="utf-8") + "https://x.exmaple/hindi/1/03.jpg,1\n", encoding="utf-8")
    result = run_cli("load", "gold", str(gold))
    assert ("note: 2 of the file's 3 gold images (e.g. 'https://x.exmaple/hindi/1/02.jpg') are not in the "
            "warehouse's images or votes") in result.output


def test_rows_read_counts_every_row_of_a_gold_file_and_a_note_names_the_repeats(tmp_path, run_cli, warehouse):
    gold = tmp_path / "gold.csv"
    gold.write_text("url,truth\nhttps://x.example/1.jpg,1\nhttps://x.example/1.jpg,yes\nhttps://x.example/2.jpg,0\n",
                    encoding="utf-8")
    result = run_cli("load", "gold", str(gold))
    assert "3 rows read, 2 inserted" in result.output
    assert "note: 1 of the 3 rows read repeats an earlier row of the file; it counts once" in result.output
    assert query(warehouse, "SELECT rows_in_file, rows_inserted FROM raw.load_log") == [(3, 2)]


def test_rows_read_counts_every_row_of_a_manifest_and_a_note_names_the_repeats(tmp_path, run_cli, warehouse):
    manifest = tmp_path / "m.csv"
    manifest.write_text("url,language\nhttps://x.example/1.jpg,hindi\nhttps://x.example/1.jpg,Hindi\n"
                        "https://x.example/2.jpg,hindi\n", encoding="utf-8")
    result = run_cli("load", "images", str(manifest))
    assert "3 rows read, 2 inserted" in result.output
    assert "note: 1 of the 3 rows read repeats an earlier row of the file; it counts once" in result.output
    assert query(warehouse, "SELECT rows_in_file, rows_inserted FROM raw.load_log") == [(3, 2)]


def test_a_url_scheme_in_upper_case_is_accepted_everywhere_and_the_url_kept_as_written(tmp_path, run_cli,
                                                                                        warehouse):
    manifest = tmp_path / "m.csv"
    manifest.write_text("url,language\nHTTPS://x.example/hindi/1/01.jpg,hindi\n", encoding="utf-8")
    run_cli("load", "images", str(manifest))
    folder = tmp_path / "data" / "hindi" / "2"
    folder.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(folder / "01.jpg")
    run_cli("load", "images", str(tmp_path / "data"), "--url-prefix", "Http://cdn.example/mmid")
    gold = tmp_path / "gold.csv"
    gold.write_text("url,truth\nHTTPS://x.example/hindi/1/01.jpg,1\nHttp://cdn.example/mmid/hindi/2/01.jpg,0\n",
                    encoding="utf-8")
    assert "note" not in run_cli("load", "gold", str(gold)).output  # both name the images just loaded
    assert query(warehouse, "SELECT image_id FROM raw.images ORDER BY 1") == [
        ("HTTPS://x.example/hindi/1/01.jpg",), ("Http://cdn.example/mmid/hindi/2/01.jpg",)]
    assert query(warehouse, "SELECT image_id, truth FROM raw.gold ORDER BY 1") == [
        ("HTTPS://x.example/hindi/1/01.jpg", True), ("Http://cdn.example/mmid/hindi/2/01.jpg", False)]


def test_directory_loads_name_image_links_that_lead_to_nothing_and_register_the_other_images(tmp_path, run_cli,
                                                                                            warehouse):
    folder = tmp_path / "data" / "hindi" / "12"
    folder.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(folder / "01.jpg")
    for k in range(2, 7):  # five images linked in from a drive that is not mounted
        (folder / f"0{k}.jpg").symlink_to(f"/mnt/unmounted/hindi/12/0{k}.jpg")
    (folder / "._07.jpg").symlink_to("/mnt/unmounted/._07.jpg")  # hidden: left alone
    result = run_cli("load", "images", str(tmp_path / "data"), "--url-prefix", "https://cdn.example/m")
    assert ("note: 5 image link(s) lead to no file (moved, or on a drive not mounted?): "
            "hindi/12/02.jpg -> /mnt/unmounted/hindi/12/02.jpg (not there), "
            "hindi/12/03.jpg -> /mnt/unmounted/hindi/12/03.jpg (not there), "
            "hindi/12/04.jpg -> /mnt/unmounted/hindi/12/04.jpg (not there) and 2 more; they are not registered"
            ) in result.output
    assert "07.jpg" not in result.output
    assert query(warehouse, "SELECT image_id FROM raw.images") == [("https://cdn.example/m/hindi/12/01.jpg",)]


def test_a_directory_whose_images_are_all_links_to_nothing_is_refused_naming_them(tmp_path, run_cli, warehouse):
    folder = tmp_path / "data" / "hindi" / "12"
    folder.mkdir(parents=True)
    (folder / "01.jpg").symlink_to("../../../moved/01.jpg")
    result = run_cli("load", "images", str(tmp_path / "data"), "--url-prefix", "https://cdn.example/m", expect=1)
    assert "holds no image files" in result.output
    assert ("1 image link(s) lead to no file (moved, or on a drive not mounted?): "
            "hindi/12/01.jpg -> ../../../moved/01.jpg (not there)") in result.output


@pytest.mark.parametrize("key", ["url", "task"])
def test_a_gold_file_refused_by_the_quality_gate_names_its_own_key_column(key, tmp_path, run_cli, warehouse,
                                                                           monkeypatch):
    from etl.load import gold

    read = gold.gold_frame

    def read_with_a_slip(*args, **kwargs):
        # As if the reader let a repeated image through: the gate stops it, naming the file's column.
        staged = read(*args, **kwargs)
        return staged._replace(gold=pl.concat([staged.gold] * 2))

    monkeypatch.setattr(gold, "gold_frame", read_with_a_slip)
    source = tmp_path / "gold.csv"
    source.write_text(f"{key},truth\nhttps://x.example/a.jpg,true\n")
    result = run_cli("load", "gold", str(source), expect=1)
    assert f"column {key}: refused by the quality gate" in result.output and "column image_id" not in result.output


def test_a_manifest_refused_by_the_quality_gate_names_the_url_column(tmp_path, run_cli, warehouse, monkeypatch):
    from etl.load import images

    read = images._manifest_frame

    def read_with_a_slip(path):
        manifest, repeats = read(path)
        return pl.concat([manifest] * 2), repeats

    monkeypatch.setattr(images, "_manifest_frame", read_with_a_slip)
    source = tmp_path / "manifest.csv"
    source.write_text("url,language\nhttps://x.example/a.jpg,hindi\n")
    result = run_cli("load", "images", str(source), expect=1)
    assert "column url: refused by the quality gate" in result.output and "image_id is unique" in result.output


def test_a_folders_fingerprint_keeps_the_form_earlier_loads_were_logged_under(tmp_path):
    # A warehouse's load log holds fingerprints of folders loaded by earlier versions: a change of
    # form would load every folder again as new. Given the walk's sizes, or walking itself, the same.
    import hashlib

    from etl.load.listing import entries_below
    from etl.load.transaction import directory_fingerprint

    (tmp_path / "hindi" / "12").mkdir(parents=True)
    (tmp_path / "hindi" / "12" / "01.jpg").write_bytes(b"abc")
    (tmp_path / "notes.txt").write_bytes(b"hello")
    (tmp_path / "hindi" / "12" / "02.jpg").symlink_to(tmp_path / "gone.jpg")  # leads nowhere: not listed
    expected = hashlib.sha256(b"served at https://x.org from /d\nhindi/12/01.jpg:3\nnotes.txt:5").hexdigest()
    assert directory_fingerprint(tmp_path, served_at="https://x.org from /d") == expected
    files, _ = entries_below(tmp_path)
    assert directory_fingerprint(tmp_path, served_at="https://x.org from /d", sizes=files) == expected


def test_a_folder_that_cannot_be_read_is_named_not_left_out_unseen(tmp_path, run_cli, warehouse, monkeypatch):
    # As a shared drive has it: a language folder copied in by another user, readable only by them.
    # (Simulated: the tests run as root, which reads every folder.)
    for language in ("hindi", "tamil"):
        (tmp_path / "data" / language / "12").mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(tmp_path / "data" / language / "12" / "01.jpg")
    listing = os.scandir

    def scandir(path="."):
        if os.path.basename(os.fspath(path)) == "tamil":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return listing(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = run_cli("load", "images", str(tmp_path / "data"), "--url-prefix", "https://cdn.example/m")
    assert "1 row read, 1 inserted" in result.output
    assert "note: 1 folder(s) could not be read" in result.output and "tamil (Permission denied)" in result.output
    assert query(warehouse, "SELECT image_id FROM raw.images") == [("https://cdn.example/m/hindi/12/01.jpg",)]


def test_a_manifest_region_of_unknown_in_any_case_is_the_unknown_group_the_marts_use(tmp_path, run_cli, warehouse):
    (tmp_path / "m.csv").write_text("url,language,region\nhttps://x.example/a.jpg,hindi,Unknown\n"
                                    "https://x.example/b.jpg,klingon,\n")
    result = run_cli("load", "images", str(tmp_path / "m.csv"))
    assert "not among the known regions" not in result.output
    run_cli("build")
    assert query(warehouse, "SELECT image_id, region FROM images ORDER BY 1") == [
        ("https://x.example/a.jpg", "unknown"), ("https://x.example/b.jpg", "unknown")]


def test_language_and_word_from_a_url_in_sql_are_what_the_layout_pattern_finds():
    """url_languages_sql (ingest's image registration, load regions) takes the URL's last parts by
    a split; it must find exactly what LAYOUT does, and nothing where LAYOUT matches nothing."""
    urls = ["https://h/weddings/Hindi/7899/01.jpg", "https://h/x.jpg", "https://h/a//w/f.jpg", "https://h/l/w/",
            "https://h/l/w//", "https://h/l/w/f.jpg?q=1/2", "l/w/f", "/l/w/f", "w/f", "x", "", "//a/b",
            "https://h/espa\u00f1ol/12/01.jpg", "https://h/l/w/f/"]
    frame = pl.DataFrame({"image_id": urls})
    expected = frame.select(
        "image_id",
        language_name(pl.col("image_id").str.extract(LAYOUT, 1)).alias("language"),
        pl.col("image_id").str.extract(LAYOUT, 2).alias("word"),
    )
    con = duckdb.connect()
    con.register("urls", frame.to_arrow())
    found = con.sql(url_languages_sql("urls")).pl()
    assert found.sort("image_id").rows() == expected.sort("image_id").rows()
    assert found.filter(pl.col("language").is_not_null()).height == 5  # the layout cases, not the others


def test_a_manifest_url_that_is_another_spelling_of_an_image_the_crowd_saw_is_named_in_a_note(
        tmp_path, run_cli, warehouse, write_results):
    seen = ["https://img.example/w/hindi/1/01.jpg", "https://img.example/w/tamil/2/it's.jpg"]
    run_cli("ingest", str(write_results("Batch_1_batch_results.csv", {"3H": seen},
                                        [{"AssignmentId": "3A", "HITId": "3H", "WorkerId": "W1", "selected": "image1"}])))
    # Host in capitals, the default port, the apostrophe percent-encoded as Python's quote() writes it.
    (tmp_path / "m.csv").write_text("url,language,region\n"
                                    "https://IMG.example/w/hindi/1/01.jpg,hindi,non-Western\n"
                                    "https://img.example:443/w/hindi/1/01.jpg,hindi,non-Western\n"
                                    "https://img.example/w/tamil/2/it%27s.jpg,tamil,non-Western\n"
                                    "http://img.example/w/hindi/1/01.jpg,hindi,non-Western\n"  # another scheme: another URL
                                    "https://img.example/w/hindi/1/02.jpg,hindi,non-Western\n")
    loaded = run_cli("load", "images", str(tmp_path / "m.csv")).output
    assert "5 rows read, 5 inserted" in loaded  # loaded all the same: the user decides
    assert "note: 3 new image URL(s) are another spelling of a known image's" in loaded
    assert "e.g. 'https://IMG.example/w/hindi/1/01.jpg' and 'https://img.example/w/hindi/1/01.jpg'" in loaded
    # A folder of the same files under the seen URLs' prefix spelled otherwise is named too.
    (tmp_path / "dir" / "hindi" / "1").mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(tmp_path / "dir" / "hindi" / "1" / "01.jpg")
    from_dir = run_cli("load", "images", str(tmp_path / "dir"), "--url-prefix", "https://IMG.EXAMPLE/w").output
    assert "note: 1 new image URL(s) are another spelling" in from_dir
    assert "note:" not in run_cli("load", "images", str(tmp_path / "dir"), "--url-prefix", "https://b.example/w").output
