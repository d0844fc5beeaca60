"""The input pipeline: files -> decoded, resized, preprocessed batches, with tf.data.

Reading, decoding and resizing run in parallel on all cores and the next batch is prepared while
the model works on the current one (prefetch), so the model sees full batches instead of one
image per `predict` call. A file that is not a readable image is dropped from the stream rather
than aborting the run; each element carries its position so the caller can name what was dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from etl.classify.model import import_tensorflow


def image_batches(
    paths: Sequence[str],
    *,
    image_size: tuple[int, int],
    preprocess: Callable[[Any], Any],
    batch_size: int,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (positions in `paths`, model input batch); positions missing from every batch are
    files that could not be read or decoded."""
    tf = import_tensorflow()

    def load(position: Any, path: Any) -> tuple[Any, Any]:
        encoded = tf.io.read_file(path)
        image = tf.io.decode_image(encoded, channels=3, expand_animations=False, dtype=tf.uint8)
        # Resized from uint8 (the result is float32): casting first would hold a float copy of the
        # whole decoded image, 4 bytes a channel (3 GB for a 16,000-pixel-square PNG).
        resized = tf.image.resize(image, image_size)
        return position, preprocess(resized)

    dataset = (
        tf.data.Dataset.from_tensor_slices((np.arange(len(paths), dtype=np.int64), list(paths)))
        .map(load, num_parallel_calls=tf.data.AUTOTUNE)
        .ignore_errors()
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    yield from dataset.as_numpy_iterator()
