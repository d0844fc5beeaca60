"""`crowdaudit classify` vs the seed's one-image-at-a-time `model.predict` loop, same model and images.

Generates JPEGs (320x240, the dataset layout), builds ResNet50 once (random weights: ImageNet's
cannot be downloaded on every machine and speed does not depend on them), then in the same run
measures images/s of:
  1. the classify job as a library call: tf.data decode/resize/preprocess in parallel, batches,
     prefetch, predictions written to a DuckDB warehouse with a commit per batch;
  2. the seed's way: for each file keras.utils.load_img, img_to_array, preprocess_input,
     model.predict on a batch of one, top 3 by argsort.
Both are warmed up once first, so neither pays for graph tracing. Prints both figures and the ratio.
Usage: python bench/classify.py [--images N] [--batch-size B]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from etl.classify.job import RunSettings, classify_images, images_to_classify
from etl.classify.model import load_application
from etl.load.images import load_images_dir
from etl.warehouse import open_warehouse


def generate(directory: Path, n_images: int, seed: int = 1) -> list[Path]:
    """Smooth colour gradients with noise: JPEGs of a realistic size, not trivially compressible."""
    rng = np.random.default_rng(seed)
    rows, columns = np.mgrid[0:240, 0:320]
    paths = []
    for number in range(n_images):
        tilt = rng.uniform(0.2, 1.0, size=3)
        pixels = (rows[..., None] * tilt + columns[..., None] * tilt[::-1]) % 256
        pixels = np.clip(pixels + rng.normal(0, 12, pixels.shape), 0, 255).astype(np.uint8)
        path = directory / ("hindi" if number % 2 else "tamil") / str(1000 + number) / "01.jpg"
        path.parent.mkdir(parents=True)
        Image.fromarray(pixels).save(path, quality=90)
        paths.append(path)
    return paths


def seed_loop(model, class_names: np.ndarray, paths: list[Path]) -> list[list[str]]:
    """The seed notebook's method: one file, one `predict` call."""
    import keras

    top = []
    for path in paths:
        image = keras.utils.load_img(path, target_size=(224, 224))
        batch = keras.applications.resnet50.preprocess_input(np.expand_dims(keras.utils.img_to_array(image), 0))
        scores = model.predict(batch, verbose=0)[0]
        top.append(class_names[np.argsort(-scores)[:3]].tolist())
    return top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    classifier = load_application("resnet50", "none")
    class_names = np.asarray(classifier.class_names, dtype=object)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "weddings"
        paths = generate(root, args.images)
        warm = generate(Path(scratch) / "warm-up", args.batch_size, seed=2)
        settings = RunSettings(top_k=3, target="groom", batch_size=args.batch_size)

        with open_warehouse(Path(scratch) / "bench.duckdb", read_only=False) as con:
            load_images_dir(con, Path(scratch) / "warm-up", url_prefix="https://example.org/warm-up")
            todo, _, _ = images_to_classify(con, classifier, settings)
            classify_images(con, classifier, todo, settings)
            load_images_dir(con, root, url_prefix="https://example.org/weddings")
            started = time.perf_counter()
            todo, _, _ = images_to_classify(con, classifier, settings, under=root)
            result = classify_images(con, classifier, todo, settings)
            job_seconds = time.perf_counter() - started
        assert result.classified == args.images, result.summary()

        seed_loop(classifier.model, class_names, warm[:2])
        started = time.perf_counter()
        seed_loop(classifier.model, class_names, paths)
        loop_seconds = time.perf_counter() - started

    job_rate, loop_rate = args.images / job_seconds, args.images / loop_seconds
    print(f"ResNet50 (random weights), {args.images} JPEGs 320x240 -> 224x224, batch size {args.batch_size}")
    print(f"classify job (tf.data, batches, DuckDB writes): {job_rate:7.1f} images/s ({job_seconds:.1f} s)")
    print(f"seed loop (model.predict per image):           {loop_rate:7.1f} images/s ({loop_seconds:.1f} s)")
    print(f"ratio: {job_rate / loop_rate:.2f}x")


if __name__ == "__main__":
    main()
