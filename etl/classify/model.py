"""Load the classifier a run uses: a Keras application (ResNet50) or any saved Keras classifier.

What is loaded is also what the warehouse records (`prediction_runs.model` and `.weights`), so a
re-run can tell which images this very model and these very weights have already classified.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etl.classify.labels import imagenet_class_names, read_labels
from etl.errors import CrowdauditError


@dataclass(frozen=True)
class Application:
    """A model from keras.applications trained on ImageNet, and where Keras caches its weights."""

    constructor: str          # attribute of keras.applications
    preprocessing: str        # module of keras.applications with the matching preprocess_input
    image_size: tuple[int, int]
    weights_file: str         # file name Keras downloads into ~/.keras/models


APPLICATIONS = {
    "resnet50": Application("ResNet50", "resnet50", (224, 224), "resnet50_weights_tf_dim_ordering_tf_kernels.h5"),
}

# `--weights none`: random initial weights. Only for testing the plumbing (and the benchmark):
# the labels it writes mean nothing.
NO_WEIGHTS = "none"


@dataclass
class Classifier:
    """A loaded model, its class names in output order, and how to turn an RGB image into its input."""

    name: str                 # recorded as prediction_runs.model
    weights: str              # recorded as prediction_runs.weights
    model: Any                # keras.Model
    class_names: list[str]
    image_size: tuple[int, int]
    preprocess: Callable[[Any], Any]  # float32 RGB in [0, 255] -> model input (a tf function)
    # Whether the model's last layer is a softmax or sigmoid (True), returns logits (False), or
    # cannot be told (None): decided once per model, not per batch of scores.
    outputs_probabilities: bool | None = None


def ends_in_probabilities(model: Any) -> bool | None:
    """True when the last layer applies softmax or sigmoid, False for a plain linear output."""
    last = model.layers[-1] if getattr(model, "layers", None) else None
    if last is None:
        return None
    if type(last).__name__ == "Softmax":
        return True
    activation = getattr(last, "activation", None)
    name = getattr(activation, "__name__", None)
    if name is None:
        return None
    return name in ("softmax", "sigmoid")


def import_tensorflow() -> Any:
    """TensorFlow, or an error that says how to install it (it is the optional extra `classify`)."""
    # TensorFlow's C++ start-up chatter (no GPU found, CPU flags) is not for crowdaudit's users.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow
    except ImportError as error:
        raise CrowdauditError(
            "crowdaudit classify needs TensorFlow, which is an optional extra: "
            "pip install 'crowdaudit[classify]'"
        ) from error
    return tensorflow


def keras_cache_dir() -> Path:
    """Where Keras keeps downloaded weights: $KERAS_HOME/models, else ~/.keras/models."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def file_fingerprint(path: Path) -> str:
    """`name@sha256:<first 16 hex>`: two different files with the same name are different weights."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"{path.name}@sha256:{digest.hexdigest()[:16]}"


def preprocessing_function(name: str | None) -> Callable[[Any], Any]:
    """keras.applications.<name>.preprocess_input, or scaling to [0, 1] when no name is given."""
    if name is None:
        return lambda images: images / 255.0
    import keras

    module = getattr(keras.applications, name, None)
    preprocess = getattr(module, "preprocess_input", None)
    if preprocess is None:
        raise CrowdauditError(
            f"--preprocess {name!r} names no Keras preprocessing; use a module of keras.applications "
            "such as resnet50, mobilenet_v2, efficientnet, inception_v3 or vgg16"
        )
    return preprocess


def load_application(name: str, weights: str) -> Classifier:
    """A keras.applications model with ImageNet weights from Keras' cache (downloaded there when
    missing, as Keras does), from a local weights file, or random (`none`)."""
    import_tensorflow()
    import keras

    application = APPLICATIONS[name]
    constructor = getattr(keras.applications, application.constructor)
    if weights == "imagenet":
        cached = keras_cache_dir() / application.weights_file
        # Keras checks a cached file's hash; one that fails it (a download cut off, another file
        # put there by hand) is deleted and downloaded again: say so when that download fails.
        cached_bytes = cached.stat().st_size if cached.is_file() else None
        try:
            # Keras writes "Downloading data from ..." and its progress bar to standard output, the
            # stream a script reads a command's results from; they are progress, so stderr.
            with contextlib.redirect_stdout(sys.stderr):
                model = constructor(weights="imagenet")
        except Exception as error:  # Keras raises a bare Exception when the download fails
            found = (f"{cached} is missing" if cached_bytes is None else
                     f"{cached} ({cached_bytes:,} bytes) is not the file Keras publishes (a download cut off, "
                     "or another file), which Keras deletes,")
            raise CrowdauditError(
                f"cannot load the ImageNet weights of {name}: {found} and downloading it failed ({error}). "
                f"Put {application.weights_file} there (or set KERAS_HOME), or pass --weights PATH to a local "
                "weights file"
            ) from error
        recorded = "imagenet"
    elif weights == NO_WEIGHTS:
        # Same random weights on every run, so a re-run really is the same model.
        keras.utils.set_random_seed(0)
        model = constructor(weights=None)
        recorded = NO_WEIGHTS
    else:
        path = Path(weights)
        if not path.is_file():
            raise CrowdauditError(f"--weights {weights}: no such file (or use imagenet)")
        try:
            model = constructor(weights=str(path))
        except Exception as error:
            raise CrowdauditError(f"cannot load {name} weights from {path}: {error}") from error
        recorded = file_fingerprint(path)
    return Classifier(
        name=name,
        weights=recorded,
        model=model,
        class_names=imagenet_class_names(),
        image_size=application.image_size,
        preprocess=preprocessing_function(application.preprocessing),
        outputs_probabilities=True,  # keras.applications end in a softmax
    )


def load_saved_classifier(
    model_path: Path, labels_path: Path, *, preprocessing: str | None = None, name: str | None = None
) -> Classifier:
    """Any saved Keras classifier (.keras) with a labels file; input size is read from the model."""
    import_tensorflow()
    import keras

    model_path, labels_path = Path(model_path), Path(labels_path)
    try:
        model = keras.models.load_model(model_path, compile=False)
    except Exception as error:
        hint = "" if model_path.suffix == ".keras" else " (Keras 3 loads .keras files: save the model with model.save('x.keras'))"
        raise CrowdauditError(f"cannot load a Keras model from {model_path}: {error}{hint}") from error
    input_shape = model.input_shape
    if not (len(input_shape) == 4 and input_shape[1] and input_shape[2] and input_shape[3] == 3):
        raise CrowdauditError(
            f"{model_path}: expects input of shape {input_shape}; crowdaudit feeds RGB images and needs a "
            "fixed height and width (None, H, W, 3)"
        )
    class_names = read_labels(labels_path)
    output_shape = model.output_shape
    if isinstance(output_shape, list) or len(output_shape) != 2 or not output_shape[1]:
        raise CrowdauditError(
            f"{model_path}: its output is {output_shape}; crowdaudit needs a classifier with one output of "
            "shape (None, classes): a score per class for each image"
        )
    n_outputs = output_shape[-1]
    if n_outputs == 1:
        raise CrowdauditError(
            f"{model_path} has a single output (a binary score); crowdaudit ranks classes and needs one score per "
            "class: save the model with two outputs, e.g. a softmax over [other, groom]"
        )
    if n_outputs != len(class_names):
        raise CrowdauditError(
            f"{labels_path} names {len(class_names)} classes but {model_path} has {n_outputs} outputs; "
            "the labels file needs one class name per output, in output order"
        )
    # The class names and the preprocessing change what a run records as much as the weights do:
    # a re-run with a corrected labels file must classify again, not be skipped as done.
    identity = f"{file_fingerprint(model_path)}+{file_fingerprint(labels_path)}+preprocess:{preprocessing or 'scale'}"
    return Classifier(
        name=name or model_path.stem,
        weights=identity,
        model=model,
        class_names=class_names,
        image_size=(int(input_shape[1]), int(input_shape[2])),
        preprocess=preprocessing_function(preprocessing),
        outputs_probabilities=ends_in_probabilities(model),
    )
