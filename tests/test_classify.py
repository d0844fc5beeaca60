"""`crowdaudit classify`: the real job on generated images, a tiny saved Keras model and ResNet50."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import query, table_fingerprints
from PIL import Image

LABELS = ["cat", "dog", "groom", "bride"]
# Dense weights of the tiny model: class score = weights . mean RGB in [0, 1] + bias.
WEIGHTS = np.array([[4.0, -2.0, 1.0, 0.0], [-1.0, 3.0, 1.0, 0.5], [0.5, 0.5, -3.0, 2.0]], dtype=np.float32)
BIAS = np.array([0.0, 0.1, 0.2, 0.3], dtype=np.float32)
N_IMAGES = 20
URL = "https://example.org/weddings"


def solid_colours() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, size=(N_IMAGES, 3), dtype=np.uint8)


@pytest.fixture
def images_dir(tmp_path: Path) -> Path:
    """20 single-colour PNGs in the dataset layout (language/word/file), so resizing changes no pixel
    and the expected scores can be computed by hand; plus one file that is not an image."""
    root = tmp_path / "weddings"
    for number, colour in enumerate(solid_colours()):
        folder = root / ("punjabi" if number % 2 else "marathi") / str(7000 + number)
        folder.mkdir(parents=True)
        Image.new("RGB", (48, 40), tuple(int(c) for c in colour)).save(folder / "01.png")
    (root / "punjabi" / "7001" / "02.jpg").write_bytes(b"this is not a JPEG")
    return root


@pytest.fixture
def tiny_model(tmp_path: Path) -> tuple[Path, Path]:
    """A saved 32x32 Keras classifier (mean colour -> dense -> softmax) and its labels file."""
    inputs = keras.Input((32, 32, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    outputs = keras.layers.Dense(len(LABELS), activation="softmax", name="scores")(pooled)
    model = keras.Model(inputs, outputs)
    model.get_layer("scores").set_weights([WEIGHTS, BIAS])
    model_path, labels_path = tmp_path / "tiny.keras", tmp_path / "tiny_labels.txt"
    model.save(model_path)
    labels_path.write_text("\n".join(LABELS) + "\n")
    return model_path, labels_path


def expected_top(k: int) -> dict[str, list[tuple[str, float]]]:
    """Hand-computed top k (label, score) per image URL."""
    expected = {}
    for number, colour in enumerate(solid_colours()):
        logits = colour.astype(np.float64) / 255 @ WEIGHTS + BIAS
        scores = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
        best = np.argsort(-scores)[:k]
        language = "punjabi" if number % 2 else "marathi"
        expected[f"{URL}/{language}/{7000 + number}/01.png"] = [(LABELS[i], scores[i]) for i in best]
    return expected


def classify_tiny(run_cli, images_dir: Path, tiny_model: tuple[Path, Path], *extra: str):
    model_path, labels_path = tiny_model
    return run_cli("classify", str(images_dir), "--url-prefix", URL, "--model-path", str(model_path),
                   "--labels", str(labels_path), "--top-k", "2", "--target", "groom", "--batch-size", "8", *extra)


def test_a_saved_model_writes_top_k_labels_scores_and_the_target_flag(run_cli, warehouse, images_dir, tiny_model):
    result = classify_tiny(run_cli, images_dir, tiny_model)
    assert f"{N_IMAGES} images classified" in result.output

    rows = query(warehouse, """
        SELECT p.image_id, l.rank, l.label, l.score, p.target_in_top_k
        FROM raw.image_predictions AS p JOIN raw.prediction_labels AS l USING (run_id, image_id)
        ORDER BY p.image_id, l.rank""")
    expected = expected_top(2)
    assert len(rows) == 2 * N_IMAGES
    for image_id, want in expected.items():
        got = [(label, score, flag) for url, _, label, score, flag in rows if url == image_id]
        assert [label for label, _, _ in got] == [label for label, _ in want]
        assert [score for _, score, _ in got] == pytest.approx([score for _, score in want], abs=1e-4)
        assert got[0][1] >= got[1][1] and sum(score for _, score, _ in got) <= 1 + 1e-6
        assert {flag for _, _, flag in got} == {"groom" in [label for label, _ in want]}
    assert any("groom" in [label for label, _ in want] for want in expected.values())
    assert not all("groom" in [label for label, _ in want] for want in expected.values())

    runs = query(warehouse, "SELECT model, weights, top_k, target, source, is_current FROM raw.prediction_runs")
    assert len(runs) == 1
    model, weights, top_k, target, source, is_current = runs[0]
    assert (model, top_k, target, source, is_current) == ("tiny", 2, "groom", "classify", True)
    assert weights.startswith("tiny.keras@sha256:")


def test_a_corrupt_file_is_skipped_and_reported_without_stopping_the_run(run_cli, warehouse, images_dir, tiny_model):
    result = classify_tiny(run_cli, images_dir, tiny_model)
    assert "1 file(s) skipped" in result.output
    assert "punjabi/7001/02.jpg: not a readable image" in result.output
    assert query(warehouse, "SELECT count(DISTINCT image_id) FROM raw.image_predictions") == [(N_IMAGES,)]


def test_an_image_whose_file_became_a_folder_is_skipped_as_a_folder_not_as_missing(run_cli, warehouse, images_dir,
                                                                                    tiny_model):
    classify_tiny(run_cli, images_dir, tiny_model)  # loads the folder's images
    moved = images_dir / "marathi" / "7000" / "01.png"
    moved.unlink()
    moved.mkdir()
    result = run_cli("classify", "--from-images", "--model-path", str(tiny_model[0]), "--labels", str(tiny_model[1]),
                     "--top-k", "3", "--target", "groom")
    assert f"{moved}: is a folder, not an image file" in result.output


def test_a_second_run_classifies_nothing(run_cli, warehouse, images_dir, tiny_model):
    classify_tiny(run_cli, images_dir, tiny_model)
    before = table_fingerprints(warehouse)
    result = classify_tiny(run_cli, images_dir, tiny_model)
    assert "nothing to classify" in result.output
    assert f"{N_IMAGES} images already classified" in result.output
    assert table_fingerprints(warehouse) == before


def test_other_top_k_is_a_new_job_and_the_mart_shows_the_newest_run(run_cli, warehouse, images_dir, tiny_model):
    classify_tiny(run_cli, images_dir, tiny_model)
    model_path, labels_path = tiny_model
    run_cli("classify", "--from-images", "--model-path", str(model_path), "--labels", str(labels_path),
            "--top-k", "3")
    run_cli("build")
    ranks = query(warehouse, "SELECT image_id, max(rank), count(DISTINCT run_id) FROM predictions GROUP BY image_id")
    assert len(ranks) == N_IMAGES
    assert {(top, runs) for _, top, runs in ranks} == {(3, 1)}


def test_a_manifests_relative_paths_name_files_beside_it_wherever_classify_runs(run_cli, warehouse, images_dir,
                                                                                tiny_model, tmp_path, monkeypatch):
    (images_dir / "manifest.csv").write_text(
        "url,language,path\n"
        f"{URL}/marathi/7000/01.png,marathi,marathi/7000/01.png\n"
        f"{URL}/punjabi/7001/01.png,punjabi,./punjabi/7001/../../punjabi/7001/01.png\n")
    monkeypatch.chdir(tmp_path)  # the manifest named relative to where it is loaded from
    run_cli("load", "images", "weddings/manifest.csv")
    assert query(warehouse, "SELECT path FROM raw.images ORDER BY 1") == [
        (str(images_dir.resolve() / "marathi/7000/01.png"),), (str(images_dir.resolve() / "punjabi/7001/01.png"),)]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    model_path, labels_path = tiny_model
    result = run_cli("classify", "--from-images", "--model-path", str(model_path), "--labels", str(labels_path),
                     "--top-k", "2")
    assert "2 images classified" in result.output and "skipped" not in result.output
    want = expected_top(2)
    assert query(warehouse, "SELECT image_id, label FROM raw.prediction_labels WHERE rank = 1 ORDER BY 1") == [
        (url, want[url][0][0]) for url in sorted((f"{URL}/marathi/7000/01.png", f"{URL}/punjabi/7001/01.png"))]


KILL_AFTER_FIRST_BATCH = """
import sys, time
from pathlib import Path
from etl.classify.job import RunSettings, classify_images, images_to_classify
from etl.classify.model import load_saved_classifier
from etl.warehouse import open_warehouse

warehouse, model_path, labels_path = sys.argv[1:4]
classifier = load_saved_classifier(Path(model_path), Path(labels_path))
settings = RunSettings(top_k=2, target="groom", batch_size=8)

def stall(n):
    print("committed", n, flush=True)
    time.sleep(600)

with open_warehouse(warehouse, read_only=False) as con:
    todo, _, _ = images_to_classify(con, classifier, settings)
    classify_images(con, classifier, todo, settings, on_batch=stall)
"""


def classify_killed_after_first_batch(warehouse: Path, model_path: Path, labels_path: Path) -> None:
    """A classify run of 8-image batches, killed (SIGKILL) once its first batch is committed. Its
    temporary files go beside the warehouse: TensorFlow's autograph deletes the ones it writes only
    at a normal exit, so each kill left three in /tmp for good."""
    child = subprocess.Popen(
        [sys.executable, "-c", KILL_AFTER_FIRST_BATCH, str(warehouse), str(model_path), str(labels_path)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent,
        env={**os.environ, "TMPDIR": str(warehouse.parent)},
    )
    try:
        assert child.stdout.readline().split() == ["committed", "8"]
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()


def test_a_run_killed_after_its_first_batch_resumes_without_duplicates(run_cli, warehouse, images_dir, tiny_model):
    run_cli("load", "images", str(images_dir), "--url-prefix", URL)
    model_path, labels_path = tiny_model
    classify_killed_after_first_batch(warehouse, model_path, labels_path)
    assert query(warehouse, "SELECT count(*) FROM raw.image_predictions") == [(8,)]

    result = run_cli("classify", "--from-images", "--model-path", str(model_path), "--labels", str(labels_path),
                     "--top-k", "2", "--batch-size", "8")
    assert f"{N_IMAGES - 8} images classified" in result.output
    assert "8 images already classified" in result.output
    assert query(warehouse, """
        SELECT count(*), count(DISTINCT image_id) FROM raw.image_predictions""") == [(N_IMAGES, N_IMAGES)]
    assert query(warehouse, """
        SELECT count(*), count(DISTINCT (image_id, rank)) FROM raw.prediction_labels""") == [(2 * N_IMAGES,) * 2]
    assert query(warehouse, "SELECT count(*) FROM raw.prediction_runs") == [(1,)]  # the re-run finished it


def test_the_marts_leave_out_a_run_killed_half_way_until_a_re_run_finishes_it(run_cli, warehouse, images_dir,
                                                                              tiny_model):
    # A model the marts use, then another one killed after its first batch: until it is finished,
    # the marts must not mix its 8 images with the first model's 12.
    model_path, labels_path = tiny_model
    tiny = ("--model-path", str(model_path), "--labels", str(labels_path), "--top-k", "2", "--batch-size", "8")
    run_cli("classify", str(images_dir), "--url-prefix", URL, *tiny, "--name", "first")
    classify_killed_after_first_batch(warehouse, model_path, labels_path)
    run_cli("build")
    assert query(warehouse, "SELECT model, count(DISTINCT image_id) FROM predictions GROUP BY model") == [
        ("first", N_IMAGES)]

    result = run_cli("classify", "--from-images", *tiny)
    assert f"{N_IMAGES - 8} images classified" in result.output
    run_cli("build")
    assert query(warehouse, "SELECT model, count(DISTINCT image_id) FROM predictions GROUP BY model") == [
        ("tiny", N_IMAGES)]
    assert query(warehouse, "SELECT model, count(*) FROM raw.prediction_runs GROUP BY model ORDER BY model") == [
        ("first", 1), ("tiny", 1)]


def test_resnet50_without_weights_runs_end_to_end(run_cli, warehouse, images_dir):
    result = run_cli("classify", str(images_dir), "--url-prefix", URL, "--model", "resnet50", "--weights", "none",
                     "--batch-size", "16")
    assert f"{N_IMAGES} images classified" in result.output
    from etl.classify.labels import imagenet_class_names

    names = set(imagenet_class_names())
    rows = query(warehouse, "SELECT image_id, rank, label, score FROM raw.prediction_labels ORDER BY image_id, rank")
    assert len(rows) == 3 * N_IMAGES
    assert {label for _, _, label, _ in rows} <= names
    by_image: dict[str, list[float]] = {}
    for image_id, _, _, score in rows:
        by_image.setdefault(image_id, []).append(score)
    assert all(scores == sorted(scores, reverse=True) and sum(scores) <= 1 + 1e-6 for scores in by_image.values())
    assert query(warehouse, "SELECT model, weights FROM raw.prediction_runs") == [("resnet50", "none")]


def test_resnet50_weights_from_a_local_file_are_a_new_job_with_the_same_answers(run_cli, warehouse, images_dir,
                                                                              tmp_path):
    keras.utils.set_random_seed(0)  # the weights `--weights none` uses
    weights_file = tmp_path / "resnet50.weights.h5"
    keras.applications.ResNet50(weights=None).save_weights(weights_file)
    run_cli("classify", str(images_dir), "--url-prefix", URL, "--model", "resnet50", "--weights", "none")
    result = run_cli("classify", "--from-images", "--weights", str(weights_file))
    assert f"{N_IMAGES} images classified" in result.output
    runs = dict(query(warehouse, "SELECT weights, run_id FROM raw.prediction_runs"))
    assert set(runs) == {"none", next(w for w in runs if w.startswith("resnet50.weights.h5@sha256:"))}
    answers = query(warehouse, """
        SELECT r.weights, l.image_id, l.rank, l.label FROM raw.prediction_labels AS l JOIN raw.prediction_runs AS r
        USING (run_id) ORDER BY l.image_id, l.rank""")
    from_file = [row[1:] for row in answers if row[0] != "none"]
    assert from_file == [row[1:] for row in answers if row[0] == "none"]


def images_and_one_csv_prediction(run_cli, images_dir: Path, tmp_path: Path) -> str:
    """The images loaded, and a seed-format predictions CSV for one of them; returns its URL."""
    import pandas as pd

    run_cli("load", "images", str(images_dir), "--url-prefix", URL)
    csv_url = f"{URL}/marathi/7000/01.png"
    csv_file = tmp_path / "image_paths_and_predictions.csv"
    pd.DataFrame([{"path": csv_url, "predictions": ["vestment", "groom"],
                   "predictions_include_groom_or_bridegroom": True}]).to_csv(csv_file)
    run_cli("load", "predictions", str(csv_file))
    return csv_url


def test_csv_and_classified_predictions_share_the_mart_and_not_current_runs_stay_out(
    run_cli, warehouse, images_dir, tiny_model, tmp_path
):
    csv_url = images_and_one_csv_prediction(run_cli, images_dir, tmp_path)
    model_path, labels_path = tiny_model
    tiny = ("--model-path", str(model_path), "--labels", str(labels_path))

    run_cli("classify", "--from-images", *tiny, "--not-current")
    run_cli("build")
    assert query(warehouse, "SELECT image_id, rank, label, score, target_in_top_k FROM predictions ORDER BY rank") == [
        (csv_url, 1, "vestment", None, True), (csv_url, 2, "groom", None, True)]

    run_cli("classify", "--from-images", *tiny, "--top-k", "2")
    run_cli("build")
    shown = query(warehouse, "SELECT count(DISTINCT image_id), count(*), count(score), min(model) FROM predictions")
    assert shown == [(N_IMAGES, 2 * N_IMAGES, 2 * N_IMAGES, "tiny")]


def test_a_run_that_kept_out_of_the_marts_does_not_keep_a_current_run_from_classifying(
        run_cli, warehouse, images_dir, tiny_model):
    # Try a model with --not-current, then mean it: the second run must reach the marts.
    classify_tiny(run_cli, images_dir, tiny_model, "--not-current")
    result = classify_tiny(run_cli, images_dir, tiny_model)
    assert f"{N_IMAGES} images classified" in result.output
    run_cli("build")
    assert query(warehouse, "SELECT count(DISTINCT image_id), min(model) FROM predictions") == [(N_IMAGES, "tiny")]
    before = table_fingerprints(warehouse)
    assert "nothing to classify" in classify_tiny(run_cli, images_dir, tiny_model).output
    assert "nothing to classify" in classify_tiny(run_cli, images_dir, tiny_model, "--not-current").output
    assert table_fingerprints(warehouse) == before


def test_runs_recorded_before_runs_could_be_unfinished_stay_in_the_marts(run_cli, warehouse, monkeypatch):
    from etl import warehouse as wh

    all_migrations = wh.migrations()
    monkeypatch.setattr(wh, "migrations", lambda: [m for m in all_migrations if m[1] != "prediction_runs_finished"])
    with wh.open_warehouse(warehouse, read_only=False) as con:
        con.execute("INSERT INTO raw.prediction_runs VALUES ('classify-old', 'resnet50', 'imagenet', 3, 'groom', "
                    "'classify', TIMESTAMP '2025-01-02 03:04:05', true, NULL)")
        con.execute(f"INSERT INTO raw.image_predictions VALUES ('classify-old', '{URL}/a.jpg', true)")
        con.execute(f"INSERT INTO raw.prediction_labels VALUES ('classify-old', '{URL}/a.jpg', 1, 'groom', 0.9)")
    monkeypatch.setattr(wh, "migrations", lambda: all_migrations)
    run_cli("build")
    assert query(warehouse, "SELECT image_id, run_id, label FROM predictions") == [(f"{URL}/a.jpg", "classify-old",
                                                                                      "groom")]


def test_the_report_says_when_a_classify_run_is_newer_than_the_marts(run_cli, warehouse, images_dir, tiny_model,
                                                                     tmp_path):
    classify_tiny(run_cli, images_dir, tiny_model)
    run_cli("build")
    assert "since the last build" not in run_cli("report", "-o", str(tmp_path / "fresh.html")).stderr
    classify_tiny(run_cli, images_dir, tiny_model, "--name", "another")
    stale = run_cli("report", "-o", str(tmp_path / "stale.html"))
    assert "1 load(s) since the last build" in stale.stderr
    assert 'id="stale"' in (tmp_path / "stale.html").read_text()
    assert query(warehouse, """
        SELECT l.kind, r.model FROM raw.load_log AS l JOIN raw.prediction_runs AS r USING (load_id)
        ORDER BY l.load_id""") == [("classify", "tiny"), ("classify", "another")]


def test_the_report_names_the_target_the_classify_run_flagged(run_cli, images_dir, tiny_model, tmp_path):
    classify_tiny(run_cli, images_dir, tiny_model, "--target", "bride")
    run_cli("build")
    run_cli("report", "-o", str(tmp_path / "report.html"))
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Positive = the classifier's top classes include the target (<bdi>bride</bdi>)." in page
    assert '<span id="classifier">Classifier: <bdi>tiny</bdi>.</span>' in page  # the name classify recorded
    assert "groom" not in page.split("</h1>", 1)[1].split("</p>", 1)[0]


@pytest.fixture
def clock_in_india(monkeypatch):
    """The machine's clock 5.5 hours ahead of UTC (DuckDB's now() follows TZ)."""
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_run_classified_after_a_csv_load_is_the_newest_whatever_the_machines_time_zone(
    run_cli, warehouse, images_dir, tiny_model, tmp_path, clock_in_india
):
    csv_url = images_and_one_csv_prediction(run_cli, images_dir, tmp_path)
    model_path, labels_path = tiny_model
    run_cli("classify", "--from-images", "--model-path", str(model_path), "--labels", str(labels_path))
    run_cli("build")
    assert query(warehouse, f"SELECT DISTINCT model FROM predictions WHERE image_id = '{csv_url}'") == [("tiny",)]


def test_a_model_that_returns_nan_is_stopped_by_the_quality_gate(run_cli, warehouse, images_dir, tmp_path):
    inputs = keras.Input((32, 32, 3))
    outputs = keras.layers.Dense(len(LABELS), name="scores")(keras.layers.GlobalAveragePooling2D()(inputs))
    model = keras.Model(inputs, outputs)
    model.get_layer("scores").set_weights([np.full_like(WEIGHTS, np.nan), BIAS])
    model_path, labels_path = tmp_path / "broken.keras", tmp_path / "labels.txt"
    model.save(model_path)
    labels_path.write_text("\n".join(LABELS) + "\n")
    result = run_cli("classify", str(images_dir), "--url-prefix", URL, "--model-path", str(model_path),
                     "--labels", str(labels_path), expect=1)
    assert "score is never empty" in result.output and ".png" in result.output
    assert query(warehouse, "SELECT count(*) FROM raw.prediction_labels") == [(0,)]


def test_a_corrected_labels_file_or_preprocessing_classifies_again(run_cli, warehouse, images_dir, tiny_model):
    # The class names and preprocessing change what a run records: a re-run with them fixed is
    # not "already classified".
    model_path, labels_path = tiny_model
    classify_tiny(run_cli, images_dir, tiny_model)
    swapped = labels_path.with_name("swapped.txt")
    swapped.write_text("\n".join([LABELS[1], LABELS[0], *LABELS[2:]]) + "\n")
    again = classify_tiny(run_cli, images_dir, (model_path, swapped))
    assert "nothing to classify" not in again.output
    assert query(warehouse, "SELECT count(DISTINCT run_id) FROM raw.prediction_runs") == [(2,)]
    classify_tiny(run_cli, images_dir, (model_path, swapped), "--preprocess", "resnet50")
    assert query(warehouse, "SELECT count(DISTINCT run_id) FROM raw.prediction_runs") == [(3,)]


def test_a_misspelt_target_is_refused_with_a_suggestion_before_anything_is_written(
        run_cli, warehouse, images_dir, tiny_model):
    model_path, labels_path = tiny_model
    result = run_cli("classify", str(images_dir), "--url-prefix", URL, "--model-path", str(model_path),
                     "--labels", str(labels_path), "--target", "Groom", expect=1)
    assert "did you mean 'groom'" in result.output
    assert not warehouse.exists()
    result = run_cli("classify", str(images_dir), "--url-prefix", URL, "--model-path", str(model_path),
                     "--labels", str(labels_path), "--top-k", str(len(LABELS) + 1), expect=1)
    assert f"--top-k {len(LABELS) + 1} is more than the model's {len(LABELS)} classes" in result.output
    assert not warehouse.exists()


def test_a_photo_is_classified_the_way_up_its_exif_orientation_shows_it(run_cli, warehouse, tmp_path):
    # Cameras store a portrait photo sideways with an EXIF orientation; browsers (and so the crowd)
    # show it upright. A model that sees where colours are must get the same scores for every way
    # the same picture is stored.
    from PIL import ImageOps

    inputs = keras.Input((2, 2, 3))
    outputs = keras.layers.Dense(len(LABELS), activation="softmax", name="scores")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    weights = np.random.default_rng(3).normal(0, 3, size=(12, len(LABELS))).astype(np.float32)
    model.get_layer("scores").set_weights([weights, np.zeros(len(LABELS), dtype=np.float32)])
    model_path, labels_path = tmp_path / "where.keras", tmp_path / "labels.txt"
    model.save(model_path)
    labels_path.write_text("\n".join(LABELS) + "\n")

    upright = Image.new("RGB", (96, 64), (255, 255, 255))  # quadrants: red, green / blue, white
    upright.paste((255, 0, 0), (0, 0, 48, 32))
    upright.paste((0, 255, 0), (48, 0, 96, 32))
    upright.paste((0, 0, 255), (0, 32, 48, 64))
    # How each orientation is stored: the inverse of what undoing it does.
    stored = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
              7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}
    folder = tmp_path / "photos" / "punjabi" / "7899"
    folder.mkdir(parents=True)
    for orientation, transpose in stored.items():
        exif = Image.Exif()
        exif[0x0112] = orientation
        image = upright if transpose is None else upright.transpose(transpose)
        image.save(folder / f"{orientation}.jpg", quality=95, subsampling=0, exif=exif)
        with Image.open(folder / f"{orientation}.jpg") as saved:  # as a browser shows it
            shown = np.asarray(ImageOps.exif_transpose(saved), dtype=int)
            assert np.abs(shown - np.asarray(upright, dtype=int)).max() <= 8

    result = run_cli("classify", str(tmp_path / "photos"), "--url-prefix", URL, "--model-path", str(model_path),
                     "--labels", str(labels_path), "--top-k", "4")
    assert "8 images classified" in result.output
    scores = {}
    for image_id, label, score in query(warehouse, "SELECT image_id, label, score FROM raw.prediction_labels"):
        scores.setdefault(image_id.rsplit("/", 1)[1], {})[label] = score
    for name, by_label in scores.items():
        assert by_label == pytest.approx(scores["1.jpg"], abs=0.01), name


def test_a_decompression_bomb_is_skipped_and_named_without_being_decoded(run_cli, warehouse, images_dir,
                                                                        tiny_model):
    # 250 KB on disk, 16,000 x 16,000 pixels: 768 MB decoded. Pillow's own guard refuses to open
    # it at all, so its size is read with the guard off, and it is never decoded.
    side = 16_000
    rows = zlib.compress(b"".join(b"\x00" * (side + 1) for _ in range(side)), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = images_dir / "marathi" / "7000" / "02.png"
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", rows) + chunk(b"IEND", b""))
    result = classify_tiny(run_cli, images_dir, tiny_model)
    assert f"{bomb}: 256,000,000 pixels, more than the 100,000,000 crowdaudit decodes" in result.output
    assert query(warehouse, "SELECT count(*) FROM raw.image_predictions") == [(N_IMAGES,)]


def test_a_gif_whose_frames_together_are_a_decompression_bomb_is_skipped_and_named(run_cli, warehouse, images_dir,
                                                                                   tiny_model):
    # 89 bytes on disk: a 6,000 x 6,000 canvas (36 MP, under the limit) and 3 frames of one pixel.
    # TensorFlow decodes every frame of a GIF as the whole canvas: 108 MP, 324 MB.
    frame = (b"\x21\xf9\x04\x00\x00\x00\x00\x00"  # graphic control extension: no delay, no disposal
             + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00")  # one pixel, LZW
    bomb = images_dir / "marathi" / "7000" / "02.gif"
    bomb.write_bytes(b"GIF89a" + struct.pack("<HHBBB", 6000, 6000, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
                     + frame * 3 + b"\x3b")
    result = classify_tiny(run_cli, images_dir, tiny_model)
    assert (f"{bomb}: 3 frames of 36,000,000 pixels, more than the 100,000,000 crowdaudit decodes "
            "(TensorFlow decodes every frame of a GIF)") in result.output
    assert query(warehouse, "SELECT count(*) FROM raw.image_predictions") == [(N_IMAGES,)]


def test_classify_leaves_tensorflows_start_up_chatter_off_the_terminal(warehouse, images_dir, tiny_model):
    # In a process of its own: TensorFlow says these things once, when it first loads.
    model_path, labels_path = tiny_model
    done = subprocess.run(
        [sys.executable, "-m", "etl.cli", "--warehouse", str(warehouse), "classify", str(images_dir), "--url-prefix",
         URL, "--model-path", str(model_path), "--labels", str(labels_path)],
        capture_output=True, text=True, check=False, cwd=Path(__file__).parent.parent,
    )
    assert done.returncode == 0, done.stderr
    assert "images classified" in done.stdout
    for chatter in ("absl::InitializeLog", "oneDNN", "cuda", "cuInit", "I0000", "W0000", "E0000"):
        assert chatter not in done.stderr
    # What is not chatter still reaches the user: the corrupt file's name, for one.
    assert "02.jpg" in done.stdout + done.stderr


def test_what_native_code_writes_that_is_not_start_up_chatter_still_reaches_standard_error(capfd):
    from etl.classify.quiet import startup_chatter_dropped

    with pytest.raises(RuntimeError), startup_chatter_dropped():
        os.write(2, b"I0000 00:00:1795470656.456698   20691 port.cc:153] oneDNN custom operations are on.\n")
        os.write(2, b"E0000 00:00:1795470659.004101   20691 cuda_platform.cc:52] failed call to cuInit: 303\n")
        os.write(2, b"E0000 00:00:1795470659.004101   20691 loader.cc:7] could not open the model\n")
        # TensorFlow before 2.17 wrote its own prefix: date, time, severity, file:line].
        os.write(2, b"2026-11-24 17:52:12.032493: I tensorflow/core/util/port.cc:113] oneDNN custom operations "
                    b"are on.\n")
        os.write(2, b"2026-11-24 17:52:12.032493: E tensorflow/core/util/util.cc:131] oneDNN supports DT_UINT8 "
                    b"only on platforms with AVX-512.\n")
        os.write(2, b"2026-11-24 17:52:13.000001: E tensorflow/core/framework/op.cc:9] the graph has no output\n")
        raise RuntimeError("the model did not load")
    captured = capfd.readouterr().err
    assert "could not open the model" in captured and "the graph has no output" in captured
    assert "oneDNN" not in captured and "cuInit" not in captured


def test_an_error_written_just_before_tensorflow_aborts_the_process_still_reaches_standard_error():
    # TensorFlow built for AVX on a CPU without it says so, then abort()s while it loads: no
    # Python code runs after that, so what was held back must already be on its way out.
    aborting = ("import os\n"
                "from etl.classify.quiet import startup_chatter_dropped\n"
                "with startup_chatter_dropped():\n"
                "    os.write(2, b'I0000 00:00:1795470656.456698   20691 port.cc:153] oneDNN custom operations are on.\\n')\n"
                "    os.write(2, b'The TensorFlow library was compiled to use AVX instructions, but these are not "
                "available on your machine.\\n')\n"
                "    os.abort()\n")
    done = subprocess.run([sys.executable, "-c", aborting], capture_output=True, text=True, check=False,
                          cwd=Path(__file__).parent.parent, timeout=60)
    assert done.returncode != 0
    assert "compiled to use AVX instructions" in done.stderr
    assert "oneDNN" not in done.stderr
