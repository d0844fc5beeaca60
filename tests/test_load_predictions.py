"""`crowdaudit load predictions`: the seed's image_paths_and_predictions.csv."""

from __future__ import annotations

import pandas as pd
import polars as pl
from conftest import query, table_fingerprints


def write_seed_csv(path, rows):
    pd.DataFrame(rows).to_csv(path)  # as the seed's notebook does: pandas, index column included


def test_the_seed_predictions_csv_parses_without_eval(tmp_path, run_cli, warehouse):
    path = tmp_path / "image_paths_and_predictions.csv"
    write_seed_csv(path, [
        {"path": "https://x.example/weddings-indian-languages/punjabi/7899/01.jpg",
         "predictions": ["vestment", "abaya", "cloak"], "predictions_include_groom_or_bridegroom": False},
        {"path": "https://x.example/weddings-european-language/spanish/1054/01.jpg",
         "predictions": ["groom", "carpenter's_kit", "__import__('os')"],
         "predictions_include_groom_or_bridegroom": True},
    ])
    assert "\"carpenter's_kit\"" in path.read_text()
    run_cli("load", "predictions", str(path))
    run_cli("build")
    rows = query(warehouse, "SELECT image_id, rank, label, score, target_in_top_k FROM predictions ORDER BY 1, 2")
    assert [r[1:] for r in rows] == [
        (1, "groom", None, True), (2, "carpenter's_kit", None, True), (3, "__import__('os')", None, True),
        (1, "vestment", None, False), (2, "abaya", None, False), (3, "cloak", None, False),
    ]


def test_paths_map_to_the_urls_of_loaded_images(tmp_path, run_cli, warehouse):
    manifest = tmp_path / "m.csv"
    manifest.write_text("url,language,path\nhttps://x.example/weddings/hindi/1/01.jpg,hindi,/data/hindi/1/01.jpg\n"
                        "https://x.example/weddings/tamil/2/01.jpg,tamil,\n")
    run_cli("load", "images", str(manifest))
    path = tmp_path / "p.csv"
    write_seed_csv(path, [
        {"path": "/data/hindi/1/01.jpg", "predictions": ["groom"], "predictions_include_groom_or_bridegroom": True},
        {"path": "weddings/tamil/2/01.jpg", "predictions": ["gown"], "predictions_include_groom_or_bridegroom": False},
    ])
    run_cli("load", "predictions", str(path))
    run_cli("build")
    assert query(warehouse, "SELECT image_id, target_in_top_k FROM predictions ORDER BY 1") == [
        ("https://x.example/weddings/hindi/1/01.jpg", True), ("https://x.example/weddings/tamil/2/01.jpg", False)]


def test_a_relative_path_names_the_image_a_manifest_beside_it_gave_the_same_relative_path(tmp_path, run_cli,
                                                                                         warehouse):
    (tmp_path / "m.csv").write_text("url,language,path\nhttps://x.example/img/a1b2.jpg,hindi,pics/01.jpg\n")
    run_cli("load", "images", str(tmp_path / "m.csv"))
    write_seed_csv(tmp_path / "p.csv", [{"path": "pics/01.jpg", "predictions": ["groom"],
                                         "predictions_include_groom_or_bridegroom": True}])
    run_cli("load", "predictions", str(tmp_path / "p.csv"))
    assert query(warehouse, "SELECT image_id FROM raw.image_predictions") == [("https://x.example/img/a1b2.jpg",)]


def test_a_prediction_that_is_not_a_list_is_refused_and_nothing_loads(tmp_path, run_cli, warehouse):
    manifest = tmp_path / "m.csv"
    manifest.write_text("url,language\nhttps://x.example/a.jpg,hindi\n")
    run_cli("load", "images", str(manifest))
    before = table_fingerprints(warehouse)
    path = tmp_path / "p.csv"
    path.write_text("path,predictions,predictions_include_groom_or_bridegroom\n"
                    "https://x.example/a.jpg,['groom'],True\n"
                    "https://x.example/a.jpg,vestment,False\n")
    result = run_cli("load", "predictions", str(path), expect=1)
    assert "p.csv, row 3, column predictions" in result.output
    assert table_fingerprints(warehouse) == before


def test_an_unknown_relative_path_is_refused_with_a_hint(tmp_path, run_cli):
    path = tmp_path / "p.csv"
    write_seed_csv(path, [{"path": "nowhere/01.jpg", "predictions": ["groom"],
                           "predictions_include_groom_or_bridegroom": True}])
    result = run_cli("load", "predictions", str(path), expect=1)
    assert "row 2, column path" in result.output and "--url-prefix" in result.output


def test_predictions_load_into_a_warehouse_that_already_has_built_marts(tmp_path, run_cli, warehouse):
    # The `labels` mart once shadowed the loader's staged frame of the same name.
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    url = "https://x.example/weddings-indian-languages/punjabi/7899/01.jpg"
    write_seed_csv(first, [{"path": url, "predictions": ["gown"], "predictions_include_groom_or_bridegroom": False}])
    write_seed_csv(second, [{"path": url, "predictions": ["groom", "gown"],
                             "predictions_include_groom_or_bridegroom": True}])
    run_cli("load", "predictions", str(first))
    run_cli("build")
    run_cli("load", "predictions", str(second))
    run_cli("build")
    assert query(warehouse, "SELECT rank, label FROM predictions ORDER BY rank") == [(1, "groom"), (2, "gown")]


def two_languages_same_word(tmp_path, run_cli) -> list[str]:
    urls = ["https://x.example/w/hindi/7899/01.jpg", "https://x.example/w/punjabi/7899/01.jpg",
            "https://x.example/w/tamil/1/0x1.jpg"]
    manifest = tmp_path / "m.csv"
    manifest.write_text("url,language,path\n" + "".join(f"{u},hindi,/data/{k}.jpg\n" for k, u in enumerate(urls)))
    run_cli("load", "images", str(manifest))
    return urls


def test_a_path_that_ends_two_image_urls_is_refused_not_given_to_either(tmp_path, run_cli, warehouse):
    two_languages_same_word(tmp_path, run_cli)
    before = table_fingerprints(warehouse)
    path = tmp_path / "p.csv"
    write_seed_csv(path, [{"path": "7899/01.jpg", "predictions": ["groom"],
                           "predictions_include_groom_or_bridegroom": True}])
    result = run_cli("load", "predictions", str(path), expect=1)
    assert "row 2, column path" in result.output and "more than one loaded image" in result.output
    assert table_fingerprints(warehouse) == before


def test_an_underscore_in_a_path_is_a_character_not_a_wildcard(tmp_path, run_cli, warehouse):
    two_languages_same_word(tmp_path, run_cli)
    path = tmp_path / "p.csv"
    write_seed_csv(path, [{"path": "tamil/1/0_1.jpg", "predictions": ["groom"],
                           "predictions_include_groom_or_bridegroom": True}])
    result = run_cli("load", "predictions", str(path), expect=1)
    assert "matches no loaded image" in result.output


def test_with_url_prefix_urls_and_known_paths_still_name_their_images(tmp_path, run_cli, warehouse):
    urls = two_languages_same_word(tmp_path, run_cli)
    path = tmp_path / "p.csv"
    write_seed_csv(path, [
        {"path": urls[0], "predictions": ["a"], "predictions_include_groom_or_bridegroom": True},
        {"path": "/data/1.jpg", "predictions": ["b"], "predictions_include_groom_or_bridegroom": False},
        {"path": "tamil/9/01.jpg", "predictions": ["c"], "predictions_include_groom_or_bridegroom": True},
    ])
    run_cli("load", "predictions", str(path), "--url-prefix", "https://x.example/w")
    assert query(warehouse, "SELECT image_id, label FROM raw.prediction_labels ORDER BY label") == [
        (urls[0], "a"), (urls[1], "b"), ("https://x.example/w/tamil/9/01.jpg", "c")]


def test_escapes_python_wrote_in_class_names_are_decoded(tmp_path, run_cli, warehouse):
    labels = ["tab\there", "two\nlines", "it's", 'say "hi"', "back\\slash", "\x07bell", "café"]
    path = tmp_path / "p.csv"
    write_seed_csv(path, [{"path": "https://x.example/a.jpg", "predictions": labels,
                           "predictions_include_groom_or_bridegroom": False}])
    assert "\\t" in path.read_text() and "\\x07" in path.read_text()  # written as Python's repr escapes them
    run_cli("load", "predictions", str(path))
    assert query(warehouse, "SELECT label FROM raw.prediction_labels ORDER BY rank") == [(x,) for x in labels]


def test_an_image_repeated_with_the_same_prediction_loads_once(tmp_path, run_cli, warehouse):
    manifest = tmp_path / "m.csv"
    manifest.write_text("url,language,path\nhttps://x.example/w/hindi/1/01.jpg,hindi,/data/hindi/1/01.jpg\n")
    run_cli("load", "images", str(manifest))
    path = tmp_path / "p.csv"
    write_seed_csv(path, [  # the same image by URL and by local path: one image, one prediction
        {"path": "https://x.example/w/hindi/1/01.jpg", "predictions": ["groom", "suit"],
         "predictions_include_groom_or_bridegroom": True},
        {"path": "/data/hindi/1/01.jpg", "predictions": ["groom", "suit"],
         "predictions_include_groom_or_bridegroom": True},
    ])
    assert "2 rows read, 1 inserted" in run_cli("load", "predictions", str(path)).output
    write_seed_csv(path, [
        {"path": "https://x.example/w/hindi/1/01.jpg", "predictions": ["groom", "suit"],
         "predictions_include_groom_or_bridegroom": True},
        {"path": "/data/hindi/1/01.jpg", "predictions": ["groom", "gown"],
         "predictions_include_groom_or_bridegroom": True},
    ])
    refused = run_cli("load", "predictions", str(path), expect=1)
    assert "row 3, column predictions" in refused.output and "first at row 2" in refused.output


def test_predictions_under_a_url_prefix_get_the_urls_a_directory_load_gives(tmp_path, run_cli, warehouse):
    from PIL import Image

    for name in ("50%.jpg", "c#1.jpg", "a b.jpg"):
        (tmp_path / "data" / "w" / "hindi" / "12").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8)).save(tmp_path / "data" / "w" / "hindi" / "12" / name, format="JPEG")
    run_cli("load", "images", str(tmp_path / "data"), "--url-prefix", "https://cdn.example/m")
    path = tmp_path / "p.csv"
    write_seed_csv(path, [{"path": f"./w/hindi/12/{name}", "predictions": ["groom"],
                           "predictions_include_groom_or_bridegroom": True}
                          for name in ("50%.jpg", "c#1.jpg", "a b.jpg")])
    run_cli("load", "predictions", str(path), "--url-prefix", "https://cdn.example/m")
    assert query(warehouse, "SELECT count(*) FROM raw.image_predictions JOIN raw.images USING (image_id)") == [(3,)]


def test_an_empty_class_name_is_refused(tmp_path, run_cli, warehouse):
    path = tmp_path / "p.csv"
    write_seed_csv(path, [{"path": "https://x.example/a.jpg", "predictions": ["groom", ""],
                           "predictions_include_groom_or_bridegroom": True}])
    result = run_cli("load", "predictions", str(path), expect=1)
    assert "row 2, column predictions" in result.output and "empty class name" in result.output


def test_a_true_flag_over_an_empty_list_is_refused(tmp_path, run_cli, warehouse):
    path = tmp_path / "p.csv"
    write_seed_csv(path, [{"path": "https://x.example/a.jpg", "predictions": [],
                           "predictions_include_groom_or_bridegroom": True}])
    result = run_cli("load", "predictions", str(path), expect=1)
    assert "row 2, column predictions_include_groom_or_bridegroom" in result.output


def test_a_false_flag_over_a_list_naming_groom_is_refused(tmp_path, run_cli, warehouse):
    path = tmp_path / "p.csv"
    write_seed_csv(path, [
        {"path": "https://x.example/a.jpg", "predictions": ["suit"], "predictions_include_groom_or_bridegroom": False},
        {"path": "https://x.example/b.jpg", "predictions": ["suit", "Bridegroom"],
         "predictions_include_groom_or_bridegroom": False},
    ])
    result = run_cli("load", "predictions", str(path), expect=1)
    assert "row 3, column predictions_include_groom_or_bridegroom: False, but the classes name 'Bridegroom'" \
        in result.output


def test_a_path_that_is_a_url_with_an_upper_case_scheme_is_taken_as_that_url(tmp_path, run_cli, warehouse):
    path = tmp_path / "p.csv"
    write_seed_csv(path, [{"path": "HTTPS://x.example/w/hindi/1/01.jpg", "predictions": ["groom"],
                           "predictions_include_groom_or_bridegroom": True}])
    run_cli("load", "predictions", str(path))
    assert query(warehouse, "SELECT image_id FROM raw.image_predictions") == [("HTTPS://x.example/w/hindi/1/01.jpg",)]


def test_predictions_for_urls_that_are_not_loaded_images_load_with_a_note(tmp_path, run_cli, warehouse):
    known = "https://x.example/hindi/1/01.jpg"
    path = tmp_path / "p.csv"
    write_seed_csv(path, [{"path": url, "predictions": ["groom"], "predictions_include_groom_or_bridegroom": True}
                          for url in (known, "https://x.exmaple/hindi/1/02.jpg", "https://x.exmaple/hindi/1/03.jpg")])
    assert "note" not in run_cli("load", "predictions", str(path)).output  # before any image: nothing to compare
    (tmp_path / "m.csv").write_text(f"url,language\n{known},hindi\n")
    run_cli("load", "images", str(tmp_path / "m.csv"))
    result = run_cli("load", "predictions", str(path), "--model", "again")
    assert "3 rows read, 3 inserted" in result.output
    assert ("note: 2 of the file's 3 predicted images (e.g. 'https://x.exmaple/hindi/1/02.jpg') are not in the "
            "warehouse's images or votes") in result.output
    assert query(warehouse, "SELECT count(*) FROM raw.image_predictions") == [(6,)]


# (path, the images whose URL ends with '/' + the path without its leading '/'s): the rule the
# seed's relative paths have always been matched by, whatever join computes it.
SUFFIX_CASES = [
    ("b.jpg", {"https://x.example/a/b.jpg", "https://x.example/b.jpg", "https://x.example/a//b.jpg",
               "https://x.example//b.jpg", "https://x.example/a/b.jpg?u=/c/b.jpg"}),
    ("//a/b.jpg", {"https://x.example/a/b.jpg"}),
    ("a//b.jpg", {"https://x.example/a//b.jpg"}),
    ("a/", {"https://x.example/a/"}),
    ("x.example/a/b.jpg", {"https://x.example/a/b.jpg"}),  # all of the URL after the scheme's '//'
    ("https:/x.example/a/b.jpg", set()),
    ("b.jpg?v=1", {"https://x.example/a/b.jpg?v=1"}),
    ("c/b.jpg", {"https://x.example/a/b.jpg?u=/c/b.jpg"}),  # a '/' in the query string is a '/'
    ("q/r/s/t/a/b.jpg", set()),  # more segments than any URL has
    ("/", {"https://x.example/a/"}),
    ("_.jpg", set()),
]


def test_a_relative_path_matches_exactly_the_images_whose_url_ends_with_a_slash_and_that_path():
    import duckdb
    import polars as pl

    from etl.load.predictions import _images_ending_with

    images = sorted(set().union(*(expected for _, expected in SUFFIX_CASES)) | {"https://x.example/a%2Fb.jpg"})
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw; CREATE TABLE raw.images (image_id VARCHAR)")
    con.executemany("INSERT INTO raw.images VALUES (?)", [[image] for image in images])
    rows = pl.DataFrame({"source_row": range(len(SUFFIX_CASES)), "path": [path for path, _ in SUFFIX_CASES]})
    found = {row["source_row"]: row for row in _images_ending_with(con, rows).iter_rows(named=True)}
    for number, (path, expected) in enumerate(SUFFIX_CASES):
        by_rule = {image for image in images if image.endswith("/" + path.lstrip("/"))}
        assert by_rule == expected, path
        match = found.get(number, {"n": 0, "image_id": None, "other": None})
        assert match["n"] == len(expected), path
        assert (match["image_id"], match["other"]) == ((min(expected), max(expected)) if expected else (None, None))


def test_a_predictions_file_refused_by_the_quality_gate_names_the_path_column(tmp_path, run_cli, warehouse,
                                                                              monkeypatch):
    from etl.load import predictions

    resolve = predictions._resolve_image_ids

    def resolve_with_a_slip(*args):
        # As if a path resolved to something that is not a URL: the gate stops it, naming the file's column.
        return resolve(*args).with_columns(pl.lit("hindi/1/01.jpg").alias("image_id"))

    monkeypatch.setattr(predictions, "_resolve_image_ids", resolve_with_a_slip)
    path = tmp_path / "p.csv"
    write_seed_csv(path, [{"path": "https://x.example/hindi/1/01.jpg", "predictions": ["groom"],
                           "predictions_include_groom_or_bridegroom": True}])
    result = run_cli("load", "predictions", str(path), expect=1)
    assert "row 2, column path: refused by the quality gate" in result.output
    assert "image_id is an http(s) URL" in result.output


def test_a_relative_path_names_the_image_a_directory_load_gave_a_percent_encoded_url(tmp_path, run_cli, warehouse):
    from PIL import Image

    folder = tmp_path / "data" / "w" / "hindi" / "12"
    folder.mkdir(parents=True)
    for name in ("a b.jpg", "c#1.jpg", "50%.jpg"):
        Image.new("RGB", (8, 8)).save(folder / name, format="JPEG")
    run_cli("load", "images", str(tmp_path / "data"), "--url-prefix", "https://cdn.example/m")
    (tmp_path / "elsewhere").mkdir()
    path = tmp_path / "elsewhere" / "p.csv"  # not beside the images: matched by the end of their URLs
    write_seed_csv(path, [{"path": f"w/hindi/12/{name}", "predictions": [label],
                           "predictions_include_groom_or_bridegroom": label == "groom"}
                          for name, label in (("a b.jpg", "groom"), ("c#1.jpg", "gown"), ("50%.jpg", "veil"))])
    run_cli("load", "predictions", str(path))
    assert query(warehouse, "SELECT image_id, label FROM raw.prediction_labels ORDER BY label") == [
        ("https://cdn.example/m/w/hindi/12/c%231.jpg", "gown"), ("https://cdn.example/m/w/hindi/12/a%20b.jpg", "groom"),
        ("https://cdn.example/m/w/hindi/12/50%25.jpg", "veil")]


def test_a_character_escaped_as_a_surrogate_pair_is_that_character_and_half_a_pair_is_refused(tmp_path, run_cli,
                                                                                             warehouse):
    import json

    path = tmp_path / "p.csv"
    write_seed_csv(path, [{"path": "https://x.example/a.jpg", "predictions": json.dumps(["🎉 party", "café"]),
                           "predictions_include_groom_or_bridegroom": False}])
    assert "\\ud83c\\udf89" in path.read_text()  # json.dumps escapes a character beyond U+FFFF as two
    run_cli("load", "predictions", str(path))
    assert query(warehouse, "SELECT label FROM raw.prediction_labels ORDER BY rank") == [("🎉 party",), ("café",)]

    half = tmp_path / "half.csv"
    half.write_text("path,predictions,predictions_include_groom_or_bridegroom\n"
                    "https://x.example/b.jpg,['veil'],False\nhttps://x.example/c.jpg,['\\ud83c party'],False\n")
    result = run_cli("load", "predictions", str(half), expect=1)
    assert "half.csv, row 3, column predictions" in result.output and "broken escape" in result.output


def test_an_older_predictions_file_saved_again_by_a_spreadsheet_does_not_replace_newer_predictions(
        tmp_path, run_cli, warehouse):
    (tmp_path / "m.csv").write_text("url,language,path\nhttps://x.example/w/hindi/1/01.jpg,hindi,pics/01.jpg\n"
                                    "https://x.example/w/hindi/1/02.jpg,hindi,pics/02.jpg\n")
    run_cli("load", "images", str(tmp_path / "m.csv"))
    write_seed_csv(tmp_path / "v1.csv", [
        {"path": "pics/01.jpg", "predictions": ["groom", "suit"], "predictions_include_groom_or_bridegroom": True},
        {"path": "pics/02.jpg", "predictions": ["cat"], "predictions_include_groom_or_bridegroom": False}])
    write_seed_csv(tmp_path / "v2.csv", [
        {"path": "pics/01.jpg", "predictions": ["dog"], "predictions_include_groom_or_bridegroom": False},
        {"path": "pics/02.jpg", "predictions": ["groom"], "predictions_include_groom_or_bridegroom": True}])
    run_cli("load", "predictions", str(tmp_path / "v1.csv"))
    run_cli("load", "predictions", str(tmp_path / "v2.csv"))
    # v1 as a spreadsheet saves it again: BOM, CRLF, every cell quoted, TRUE, columns moved, './' and
    # absolute paths, another name. The same predictions: not a new run put over v2's.
    resaved = tmp_path / "v1 (exported).csv"
    resaved.write_bytes(("\ufeff\"\",\"predictions_include_groom_or_bridegroom\",\"path\",\"predictions\"\r\n"
                         "\"0\",\"TRUE\",\"./pics/01.jpg\",\"['groom', 'suit']\"\r\n"
                         f"\"1\",\"FALSE\",\"{tmp_path}/pics/02.jpg\",\"['cat']\"\r\n").encode())
    again = run_cli("load", "predictions", str(resaved))
    assert "2 rows, all already in the warehouse; nothing changed" in again.output
    assert "load 2 (" in again.output and "v1.csv, run csv-2) holds these same predictions" in again.output
    assert "newer runs have replaced them for 2 image(s) and stay in use" in again.output
    run_cli("build")
    newest = [("https://x.example/w/hindi/1/01.jpg", "csv-3", "dog"), ("https://x.example/w/hindi/1/02.jpg", "csv-3",
                                                                        "groom")]
    assert query(warehouse, "SELECT image_id, run_id, label FROM predictions ORDER BY 1") == newest
    assert query(warehouse, "SELECT count(*) FROM raw.prediction_runs") == [(2,)]
    # Named as a model, the same predictions are loaded on purpose, and are then the newest.
    run_cli("load", "predictions", str(resaved), "--model", "resnet50 (first export)")
    run_cli("build")
    assert query(warehouse, "SELECT DISTINCT model FROM predictions") == [("resnet50 (first export)",)]


def test_a_file_of_an_earlier_runs_predictions_given_that_runs_model_says_to_name_another(
        tmp_path, run_cli, warehouse):
    """A user who names the model on every load (--model resnet50) and loads an older file saved
    again was told to pass --model NAME to make it the newest: they had, and passing it again did
    nothing again. The note now names the model to avoid."""
    (tmp_path / "m.csv").write_text("url,language,path\nhttps://x.example/w/hindi/1/01.jpg,hindi,pics/01.jpg\n")
    run_cli("load", "images", str(tmp_path / "m.csv"))
    for name, label in (("v1.csv", "groom"), ("v2.csv", "dog"), ("v1 (exported).csv", "groom")):
        write_seed_csv(tmp_path / name, [{"path": "pics/01.jpg", "predictions": [label],
                                          "predictions_include_groom_or_bridegroom": label == "groom"}])
        (tmp_path / name).write_bytes((tmp_path / name).read_bytes().replace(b"\n", b"\r\n")
                                      if name.startswith("v1 ") else (tmp_path / name).read_bytes())
        output = run_cli("load", "predictions", str(tmp_path / name), "--model", "resnet50").output
    assert "holds these same predictions" in output
    assert "load the file with a --model NAME other than 'resnet50', that run's" in output


def test_a_file_mixing_urls_and_paths_puts_each_prediction_on_its_image_and_names_a_bad_paths_row(
        tmp_path, run_cli, warehouse):
    # URLs are taken as they are and only the paths are looked up: each row still lands on its own
    # image, and a path that names nothing is refused at its own row, wherever the URLs are.
    manifest = tmp_path / "m.csv"
    manifest.write_text("url,language,path\nhttps://x.example/w/hindi/1/01.jpg,hindi,/data/hindi/1/01.jpg\n"
                        "https://x.example/w/tamil/2/01.jpg,tamil,\n")
    run_cli("load", "images", str(manifest))
    rows = [
        {"path": "https://x.example/w/spanish/3/01.jpg", "predictions": ["veil"],
         "predictions_include_groom_or_bridegroom": False},
        {"path": "/data/hindi/1/01.jpg", "predictions": ["groom", "suit"], "predictions_include_groom_or_bridegroom": True},
        {"path": "https://x.example/w/french/4/01.jpg", "predictions": [], "predictions_include_groom_or_bridegroom": False},
        {"path": "tamil/2/01.jpg", "predictions": ["gown", "groom"], "predictions_include_groom_or_bridegroom": True},
    ]
    bad = tmp_path / "bad.csv"
    write_seed_csv(bad, [*rows[:3], {**rows[3], "path": "tamil/9/01.jpg"}, rows[0]])
    result = run_cli("load", "predictions", str(bad), expect=1)
    assert "row 5, column path: path 'tamil/9/01.jpg' is not a URL and matches no loaded image" in result.output

    path = tmp_path / "p.csv"
    write_seed_csv(path, rows)
    run_cli("load", "predictions", str(path))
    assert query(warehouse, "SELECT image_id, target_in_top_k FROM raw.image_predictions ORDER BY 1") == [
        ("https://x.example/w/french/4/01.jpg", False), ("https://x.example/w/hindi/1/01.jpg", True),
        ("https://x.example/w/spanish/3/01.jpg", False), ("https://x.example/w/tamil/2/01.jpg", True)]
    assert query(warehouse, "SELECT image_id, rank, label FROM raw.prediction_labels ORDER BY 1, 2") == [
        ("https://x.example/w/hindi/1/01.jpg", 1, "groom"), ("https://x.example/w/hindi/1/01.jpg", 2, "suit"),
        ("https://x.example/w/spanish/3/01.jpg", 1, "veil"),
        ("https://x.example/w/tamil/2/01.jpg", 1, "gown"), ("https://x.example/w/tamil/2/01.jpg", 2, "groom")]


def test_a_url_prefix_that_is_not_a_url_is_refused_even_when_every_path_is_a_url(tmp_path, run_cli, warehouse):
    path = tmp_path / "p.csv"
    write_seed_csv(path, [{"path": "https://x.example/w/hindi/1/01.jpg", "predictions": ["groom"],
                           "predictions_include_groom_or_bridegroom": True}])
    result = run_cli("load", "predictions", str(path), "--url-prefix", "cdn.example/m", expect=1)
    assert "--url-prefix 'cdn.example/m' is not an http(s) URL" in result.output
    assert query(warehouse, "SELECT count(*) FROM raw.image_predictions") == [(0,)]
