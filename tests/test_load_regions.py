"""`crowdaudit load regions`: the language -> region table of a warehouse that already exists."""

from __future__ import annotations

from conftest import query, table_fingerprints

URL = "https://img.example/weddings-other/swahili/77/01.jpg"


def test_moving_a_language_to_another_region_relabels_its_images_at_the_next_build(tmp_path, run_cli, warehouse):
    (tmp_path / "m.csv").write_text("url,language\nhttps://x.example/u.jpg,Urdu\nhttps://x.example/h.jpg,hindi\n")
    run_cli("load", "images", str(tmp_path / "m.csv"))
    run_cli("build")
    assert query(warehouse, "SELECT region FROM images ORDER BY image_id") == [("non-Western",), ("non-Western",)]
    (tmp_path / "regions.csv").write_text("language,region\nURDU,South Asian\nhindi,NON-WESTERN\n")
    result = run_cli("load", "regions", str(tmp_path / "regions.csv"))
    assert "0 inserted, 1 updated" in result.output  # hindi was already non-Western
    assert "'South Asian'" in result.output and f"`crowdaudit --warehouse {warehouse} build`" in result.output
    run_cli("build")
    assert query(warehouse, "SELECT image_id, region FROM images ORDER BY image_id") == [
        ("https://x.example/h.jpg", "non-Western"), ("https://x.example/u.jpg", "South Asian")]
    assert "already loaded" in run_cli("load", "regions", str(tmp_path / "regions.csv")).output


def test_a_new_language_names_the_images_whose_urls_hold_it(tmp_path, run_cli, warehouse, write_results):
    batch = write_results("Batch_1_batch_results.csv", {"H1": [URL]}, [{"AssignmentId": "A1", "HITId": "H1", "WorkerId": "W1",
                                            "selected": "image1"}])
    run_cli("ingest", str(batch))
    assert query(warehouse, "SELECT language, word FROM raw.images") == [(None, None)]  # swahili unknown
    (tmp_path / "regions.csv").write_text("language,region\nswahili,African\n")
    result = run_cli("load", "regions", str(tmp_path / "regions.csv"))
    assert "1 image(s) whose URL names a language new to the table" in result.output
    run_cli("build")
    assert query(warehouse, "SELECT language, word, region FROM images") == [("swahili", "77", "African")]


def test_a_regions_file_that_contradicts_itself_changes_nothing(tmp_path, run_cli, warehouse):
    run_cli("build")
    before = table_fingerprints(warehouse)
    (tmp_path / "regions.csv").write_text("language,region\nurdu,A\nhindi,B\nUrdu,C\n")
    result = run_cli("load", "regions", str(tmp_path / "regions.csv"), expect=1)
    assert "row 4, column region" in result.output and "'urdu'" in result.output
    assert table_fingerprints(warehouse) == before


def test_rows_read_counts_every_row_of_a_regions_file_and_a_note_names_the_repeats(tmp_path, run_cli, warehouse):
    (tmp_path / "regions.csv").write_text("language,region\nklingon,Fictional\nKlingon,Fictional\nswahili,African\n")
    result = run_cli("load", "regions", str(tmp_path / "regions.csv"))
    assert "3 rows read, 2 inserted" in result.output
    assert "note: 1 of the 3 rows read repeats an earlier row of the file; it counts once" in result.output
    assert query(warehouse, "SELECT rows_in_file, rows_inserted FROM raw.load_log WHERE kind = 'regions'") == [(3, 2)]


def test_a_new_region_written_two_ways_is_one_region_spelled_as_first_written(tmp_path, run_cli, warehouse):
    (tmp_path / "regions.csv").write_text("language,region\narabic,Middle East\npersian,middle east\n"
                                          "hebrew,MIDDLE-EAST\n")
    result = run_cli("load", "regions", str(tmp_path / "regions.csv"))
    assert "region(s) 'Middle East' (first at row 2) are not among the known regions" in result.output
    assert query(warehouse, "SELECT language, region FROM raw.language_regions "
                            "WHERE language IN ('arabic', 'persian', 'hebrew') ORDER BY 1") == [
        ("arabic", "Middle East"), ("hebrew", "Middle East"), ("persian", "Middle East")]


def test_a_region_a_manifest_gave_images_is_spelled_as_the_images_have_it(tmp_path, run_cli, warehouse):
    (tmp_path / "m.csv").write_text("url,language,region\nhttps://x.example/a.jpg,arabic,Middle East\n")
    run_cli("load", "images", str(tmp_path / "m.csv"))
    (tmp_path / "regions.csv").write_text("language,region\npersian,middle-east\n")
    run_cli("load", "regions", str(tmp_path / "regions.csv"))
    (tmp_path / "m2.csv").write_text("url,language,region\nhttps://x.example/b.jpg,kurdish,MIDDLE EAST\n")
    run_cli("load", "images", str(tmp_path / "m2.csv"))
    (tmp_path / "m3.csv").write_text("url,language\nhttps://x.example/c.jpg,persian\n")
    run_cli("load", "images", str(tmp_path / "m3.csv"))
    run_cli("build")
    assert query(warehouse, "SELECT image_id, region FROM images ORDER BY 1") == [
        ("https://x.example/a.jpg", "Middle East"), ("https://x.example/b.jpg", "Middle East"),
        ("https://x.example/c.jpg", "Middle East")]
