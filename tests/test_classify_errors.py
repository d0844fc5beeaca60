"""`crowdaudit classify` refusals: one clear message (exit 1 or 2), never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from etl.classify.job import as_probabilities
from etl.classify.labels import imagenet_class_names
from etl.classify.model import import_tensorflow
from etl.errors import CrowdauditError


def test_the_shipped_imagenet_index_has_keras_names_in_output_order():
    names = imagenet_class_names()
    assert len(names) == 1000
    assert (names[0], names[982], names[887]) == ("tench", "groom", "vestment")


def test_missing_imagenet_weights_name_the_file_and_where_to_put_it(run_cli, tmp_path, monkeypatch):
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        # What Keras raises when the download fails: a bare Exception.
        raise Exception("URL fetch failure: [Errno -2] Name or service not known")  # noqa: TRY002

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setattr(file_utils, "get_file", offline)
    result = run_cli("classify", "--from-images", "--model", "resnet50", "--weights", "imagenet", expect=1)
    expected = tmp_path / "keras-home" / "models" / "resnet50_weights_tf_dim_ordering_tf_kernels.h5"
    assert f"{expected} is missing" in result.output
    assert "Traceback" not in result.output


def test_keras_download_messages_go_to_stderr_not_to_the_output_scripts_read(run_cli, tmp_path, monkeypatch):
    from keras.src.utils import file_utils, io_utils

    def download_that_fails(*args, **kwargs):
        io_utils.print_msg("Downloading data from https://storage.googleapis.com/resnet50.h5")  # as Keras does
        raise Exception("URL fetch failure: [Errno -2] Name or service not known")  # noqa: TRY002

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setattr(file_utils, "get_file", download_that_fails)
    result = run_cli("classify", "--from-images", "--model", "resnet50", "--weights", "imagenet", expect=1)
    assert "Downloading data from" in result.stderr
    assert "Downloading data from" not in result.stdout


def test_an_incomplete_download_in_the_keras_cache_is_not_called_missing(run_cli, tmp_path, monkeypatch):
    # A download cut off half-way leaves a file Keras' hash check rejects; it then downloads again.
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -2] Name or service not known")  # noqa: TRY002

    cached = tmp_path / "keras-home" / "models" / "resnet50_weights_tf_dim_ordering_tf_kernels.h5"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(1000))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setattr(file_utils, "get_file", offline)
    result = run_cli("classify", "--from-images", "--model", "resnet50", "--weights", "imagenet", expect=1)
    assert "is missing" not in result.output
    assert f"{cached} (1,008 bytes) is not the file Keras publishes" in result.output
    assert "--weights PATH" in result.output


def test_a_weights_path_that_does_not_exist_is_refused(run_cli, tmp_path):
    result = run_cli("classify", "--from-images", "--weights", str(tmp_path / "nope.h5"), expect=1)
    assert "no such file" in result.output


def test_without_tensorflow_classify_says_how_to_install_it(run_cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    with pytest.raises(CrowdauditError, match=r"pip install 'crowdaudit\[classify\]'"):
        import_tensorflow()
    result = run_cli("classify", "--from-images", expect=1)
    assert "optional extra" in result.output


def test_the_cli_starts_without_importing_tensorflow():
    code = "import sys, etl.cli; sys.exit('tensorflow' in sys.modules or 'keras' in sys.modules)"
    started = subprocess.run([sys.executable, "-c", code], check=False, cwd=Path(__file__).parent.parent)
    assert started.returncode == 0


def classify_with(run_cli, tmp_path: Path, n_outputs: int, labels: list[str]):
    """Run classify with a saved 8x8 model of `n_outputs` outputs and a labels file of `labels`."""
    inputs = keras.Input((8, 8, 3))
    keras.Model(inputs, keras.layers.Dense(n_outputs)(keras.layers.Flatten()(inputs))).save(tmp_path / "m.keras")
    (tmp_path / "labels.txt").write_text("\n".join(labels) + "\n")
    return run_cli("classify", "--from-images", "--model-path", str(tmp_path / "m.keras"),
                   "--labels", str(tmp_path / "labels.txt"), expect=1)


def test_a_labels_file_must_name_one_class_per_model_output(run_cli, tmp_path):
    result = classify_with(run_cli, tmp_path, 3, ["cat", "groom"])
    assert "names 2 classes but" in result.output and "has 3 outputs" in result.output


def test_a_target_the_model_cannot_predict_is_refused(run_cli, tmp_path):
    result = classify_with(run_cli, tmp_path, 2, ["cat", "dog"])
    assert "--target 'groom' is not one of the model's 2 classes" in result.output


def test_either_a_directory_or_from_images_is_required(run_cli, tmp_path):
    assert "either a DIRECTORY or --from-images" in run_cli("classify", expect=2).output
    assert "--url-prefix" in run_cli("classify", str(tmp_path), expect=2).output


def test_logits_become_probabilities_with_the_same_ranking():
    logits = np.array([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3]])
    scores = as_probabilities(logits)
    assert np.allclose(scores.sum(axis=1), 1)
    assert (np.argsort(scores, axis=1) == np.argsort(logits, axis=1)).all()
    probabilities = np.array([[0.7, 0.2, 0.1]])
    assert np.array_equal(as_probabilities(probabilities), probabilities)


def test_a_model_whose_output_is_not_a_score_per_class_is_refused(run_cli, tmp_path):
    inputs = keras.Input((8, 8, 3))
    keras.Model(inputs, keras.layers.Conv2D(3, 1)(inputs)).save(tmp_path / "features.keras")
    (tmp_path / "labels.txt").write_text("a\nb\ngroom\n")
    result = run_cli("classify", "--from-images", "--model-path", str(tmp_path / "features.keras"),
                     "--labels", str(tmp_path / "labels.txt"), expect=1)
    assert "(None, 8, 8, 3)" in result.output and "(None, classes)" in result.output
    assert "Traceback" not in result.output


def test_a_single_output_binary_model_is_refused(run_cli, tmp_path):
    result = classify_with(run_cli, tmp_path, 1, ["groom"])
    assert "single output" in result.output and "one score per class" in result.output


def test_sigmoid_scores_are_kept_and_logits_get_a_softmax():
    multi_label = np.array([[0.49, 0.2, 0.9]])
    assert np.array_equal(as_probabilities(multi_label), multi_label)
    logits = np.array([[2.0, -1.0, 0.5]])
    probabilities = as_probabilities(logits)
    assert np.allclose(probabilities.sum(axis=1), 1) and probabilities.argmax() == 0


def test_url_prefix_without_a_directory_is_refused(run_cli):
    assert "--url-prefix goes with a DIRECTORY" in run_cli("classify", "--from-images", "--url-prefix",
                                                           "https://x.example", expect=2).output


def test_whether_scores_are_logits_is_decided_by_the_models_last_layer_not_by_each_batch():
    from etl.classify.model import ends_in_probabilities

    inputs = keras.Input((4,))
    linear = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    softmax = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    sigmoid = keras.Model(inputs, keras.layers.Dense(3, activation="sigmoid")(inputs))
    assert (ends_in_probabilities(linear), ends_in_probabilities(softmax), ends_in_probabilities(sigmoid)) == (
        False, True, True)
    # A batch of logits that happens to lie in [0, 1] still gets its softmax.
    logits_in_range = np.array([[0.9, 0.1, 0.3]])
    assert np.allclose(as_probabilities(logits_in_range, False).sum(axis=1), 1)
    assert np.array_equal(as_probabilities(logits_in_range, True), logits_in_range)


def test_a_labels_file_that_is_not_utf8_is_refused_naming_its_line(run_cli, tmp_path):
    inputs = keras.Input((8, 8, 3))
    keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(inputs))).save(tmp_path / "m.keras")
    (tmp_path / "labels.txt").write_bytes("groom\ncaf\u00e9\nbride\n".encode("latin-1"))
    result = run_cli("classify", "--from-images", "--model-path", str(tmp_path / "m.keras"),
                     "--labels", str(tmp_path / "labels.txt"), expect=1)
    assert f"{tmp_path / 'labels.txt'}, row 2: bytes that are not UTF-8" in result.output
    assert "Traceback" not in result.output


def test_a_labels_file_saved_with_a_byte_order_mark_names_its_first_class_as_written(run_cli, warehouse, tmp_path):
    # Windows Notepad's "UTF-8 with BOM": the BOM is not part of the first class's name.
    from PIL import Image

    inputs = keras.Input((8, 8, 3))
    keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(inputs))).save(tmp_path / "m.keras")
    (tmp_path / "labels.txt").write_bytes("groom\r\ncat\r\nbride\r\n".encode("utf-8-sig"))
    folder = tmp_path / "weddings" / "punjabi" / "7899"
    folder.mkdir(parents=True)
    Image.new("RGB", (8, 8), (200, 30, 30)).save(folder / "01.png")
    result = run_cli("classify", str(tmp_path / "weddings"), "--url-prefix", "https://example.org/w",
                     "--model-path", str(tmp_path / "m.keras"), "--labels", str(tmp_path / "labels.txt"))
    assert "1 images classified" in result.output
    from conftest import query

    assert {label for (label,) in query(warehouse, "SELECT label FROM raw.prediction_labels")} <= {
        "groom", "cat", "bride"}


def test_a_batch_size_no_machine_could_hold_is_refused_before_anything_loads(run_cli):
    result = run_cli("classify", "--from-images", "--weights", "none", "--batch-size", "10000", expect=2)
    assert "--batch-size" in result.output and "1<=x<=1024" in result.output


def test_the_seeds_bridegroom_as_a_target_suggests_imagenets_groom(run_cli):
    result = run_cli("classify", "--from-images", "--weights", "none", "--target", "bridegroom", expect=1)
    assert "--target 'bridegroom' is not one of the model's 1000 classes; did you mean 'groom'?" in result.output
