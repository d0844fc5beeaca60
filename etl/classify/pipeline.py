"""The input pipeline: files -> decoded, resized, preprocessed batches, with tf.data.

Reading, decoding and resizing run in parallel on all cores and the next batch is prepared while
the model works on the current one (prefetch), so the model sees full batches instead of one
image per `predict` call. A file that is not a readable image is dropped from the stream rather
than aborting the run; each element carries its position so the caller can name what was dropped.

TensorFlow's decoders ignore a photo's EXIF orientation, which browsers (and so the crowd) apply:
a portrait a camera stored sideways would be classified sideways. The caller reads the
orientation from the file's header (EXIF tag 274, 1-8) and each image is turned upright here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from etl.classify.model import import_tensorflow


def upright(image: Any, orientation: Any) -> Any:
    """`image` (height, width, channels) turned as EXIF orientation 1-8 says to show it, as
    Pillow's ImageOps.exif_transpose does; any other value leaves it as stored."""
    import tensorflow as tf  # imported by image_batches; here inside the traced tf.data function

    def as_stored() -> Any:
        return image

    def mirrored() -> Any:
        return tf.reverse(image, [1])

    def upside_down() -> Any:
        return tf.reverse(image, [0, 1])

    def flipped() -> Any:
        return tf.reverse(image, [0])

    def transposed() -> Any:
        return tf.transpose(image, [1, 0, 2])

    def turned_clockwise() -> Any:
        return tf.reverse(transposed(), [1])

    def transversed() -> Any:
        return tf.reverse(transposed(), [0, 1])

    def turned_anticlockwise() -> Any:
        return tf.reverse(transposed(), [0])

    # index = the orientation (0 is none); each undoes how the camera stored the picture
    return tf.switch_case(orientation, [as_stored, as_stored, mirrored, upside_down, flipped, transposed,
                                        turned_clockwise, transversed, turned_anticlockwise], default=as_stored)


def image_batches(
    paths: Sequence[str],
    orientations: Sequence[int],
    *,
    image_size: tuple[int, int],
    preprocess: Callable[[Any], Any],
    batch_size: int,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (positions in `paths`, model input batch); positions missing from every batch are
    files that could not be read or decoded. `orientations` holds each file's EXIF orientation."""
    tf = import_tensorflow()

    def load(position: Any, path: Any, orientation: Any) -> tuple[Any, Any]:
        encoded = tf.io.read_file(path)
        image = upright(tf.io.decode_image(encoded, channels=3, expand_animations=False, dtype=tf.uint8),
                        orientation)
        # Resized from uint8 (the result is float32): casting first would hold a float copy of the
        # whole decoded image, 4 bytes a channel (3 GB for a 16,000-pixel-square PNG).
        resized = tf.image.resize(image, image_size)
        return position, preprocess(resized)

    dataset = (
        tf.data.Dataset.from_tensor_slices((np.arange(len(paths), dtype=np.int64), list(paths),
                                            np.asarray(orientations, dtype=np.int32)))
        .map(load, num_parallel_calls=tf.data.AUTOTUNE)
        .ignore_errors()
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    yield from dataset.as_numpy_iterator()


def warm_up(image_size: tuple[int, int], preprocess: Callable[[Any], Any]) -> None:
    """Run one tiny image through the pipeline. TensorFlow logs a line ("oneDNN supports DT_UINT8
    only on platforms with AVX-512", as an error) the first time a process decodes and resizes;
    done during start-up, it is dropped with the rest of the start-up chatter (see etl.classify.quiet)."""
    with tempfile.TemporaryDirectory() as folder:
        sample = Path(folder) / "warm-up.png"
        Image.new("RGB", (2, 2)).save(sample)
        for _ in image_batches([str(sample)], [1], image_size=image_size, preprocess=preprocess, batch_size=1):
            pass
