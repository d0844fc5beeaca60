"""The classify job: which images still need this model, inference in batches, one commit per batch.

Rows land in the tables the CSV predictions loader writes (raw.prediction_runs, image_predictions,
prediction_labels), with source 'classify' and a score per label, so the `predictions` mart serves
both. Each batch is its own transaction and the run row is written with the first one: a run
killed at any point leaves only whole batches, and the next run skips exactly those images. A run
is finished (prediction_runs.finished_at) when its last batch is in; the marts leave an unfinished
one out, and the next run with the same settings continues it under its run id and finishes it.
"""

from __future__ import annotations

import difflib
import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from etl.classify.model import Classifier
from etl.classify.pipeline import image_batches
from etl.errors import CrowdauditError
from etl.load.loadlog import next_load_id, record_load
from etl.load.transaction import staged
from etl.quality.gate import check_batch
from etl.warehouse import transaction


@dataclass(frozen=True)
class RunSettings:
    """What makes two runs the same job: a re-run with equal settings skips what is done."""

    top_k: int = 3
    target: str = "groom"
    batch_size: int = 32
    current: bool = True      # whether the marts use this run's predictions


@dataclass
class ClassifyResult:
    run_id: str | None        # None when there was nothing to classify
    model: str
    weights: str
    continued: str | None = None  # the unfinished run (killed or stopped half-way) this one finished
    classified: int = 0
    already_classified: int = 0
    without_path: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    seconds: float = 0.0

    @property
    def images_per_second(self) -> float:
        return self.classified / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        lines = [f"{self.model} (weights {self.weights}): "
                 + (f"{self.classified} images classified in {self.seconds:.1f} s "
                    f"({self.images_per_second:.1f} images/s), run {self.run_id}" if self.run_id
                    else "nothing to classify")]
        if self.continued:
            lines.append(f"run {self.continued} was left half-way by an earlier classify; it is finished now")
        if self.already_classified:
            lines.append(f"{self.already_classified} images already classified by this model and weights: skipped")
        if self.without_path:
            lines.append(f"{self.without_path} images have no local file (load images with a path): skipped")
        if self.skipped:
            lines.append(f"{len(self.skipped)} file(s) skipped:")
            lines += [f"  {path}: {why}" for path, why in self.skipped]
        return "\n".join(lines)


# A classify run (prediction_runs AS r) of the same job as the parameters of `_job` name.
SAME_JOB = ("r.source = 'classify' AND r.model = $model AND r.weights IS NOT DISTINCT FROM $weights "
            "AND r.top_k = $top_k AND r.target IS NOT DISTINCT FROM $target")


def _job(classifier: Classifier, settings: RunSettings) -> dict[str, object]:
    """The query parameters of SAME_JOB, and whether the run is meant for the marts."""
    return {"model": classifier.name, "weights": classifier.weights, "top_k": settings.top_k,
            "target": settings.target, "current": settings.current}


def images_to_classify(
    con: duckdb.DuckDBPyConnection, classifier: Classifier, settings: RunSettings, *, under: Path | None = None
) -> tuple[pl.DataFrame, int, int]:
    """(image_id, path) of the registered images this model, weights, top k and target have not
    classified yet, optionally only those below a directory; plus how many were already done and
    how many have no local file. A run kept out of the marts (--not-current) does not count as done
    for a run meant for them: a model tried with --not-current and then meant classifies again."""
    prefix = str(Path(under).resolve()) + "/" if under else ""
    candidates = con.sql(
        f"""
        SELECT i.image_id, i.path, EXISTS (
            SELECT 1 FROM raw.image_predictions AS p JOIN raw.prediction_runs AS r USING (run_id)
            WHERE p.image_id = i.image_id AND {SAME_JOB} AND (r.is_current OR NOT $current)
        ) AS done
        FROM (SELECT image_id, max(path) AS path FROM raw.images GROUP BY image_id) AS i
        WHERE $prefix = '' OR starts_with(i.path, $prefix)
        ORDER BY i.image_id
        """,
        params={**_job(classifier, settings), "prefix": prefix},
    ).pl()
    todo = candidates.filter(~pl.col("done") & pl.col("path").is_not_null()).select("image_id", "path")
    return todo, int(candidates["done"].sum()), int((~candidates["done"] & candidates["path"].is_null()).sum())


def as_probabilities(outputs: np.ndarray, are_probabilities: bool | None = None) -> np.ndarray:
    """Scores as probabilities. A model ending in a softmax (Keras' ImageNet models) or in sigmoids
    (multi-label) is kept as it is; one returning logits gets a softmax, which keeps its ranking.
    When the model's last layer does not tell, scores in [0, 1] are taken as probabilities."""
    outputs = outputs.astype(np.float64)
    if are_probabilities is None:
        are_probabilities = bool(outputs.min() >= 0 and outputs.max() <= 1)
    if are_probabilities:
        return outputs
    shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def top_k_frame(image_ids: list[str], scores: np.ndarray, class_names: np.ndarray, k: int) -> pl.DataFrame:
    """One row per image and rank (1 = most likely): image_id, rank, label, score."""
    k = min(k, scores.shape[1])
    best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return pl.DataFrame({
        "image_id": np.repeat(np.asarray(image_ids, dtype=object), k).tolist(),
        "rank": np.tile(np.arange(1, k + 1, dtype=np.int32), len(image_ids)),
        "label": class_names[best].ravel().tolist(),
        "score": np.take_along_axis(scores, best, axis=1).ravel(),
    })


def _insert_run(con: duckdb.DuckDBPyConnection, run_id: str, classifier: Classifier, settings: RunSettings,
                started_at: datetime) -> None:
    con.execute(
        "INSERT INTO raw.prediction_runs (run_id, model, weights, top_k, target, source, started_at, "
        "is_current, load_id) VALUES (?, ?, ?, ?, ?, 'classify', ?, ?, NULL)",
        [run_id, classifier.name, classifier.weights, settings.top_k, settings.target, started_at,
         settings.current],
    )


def _unfinished_run(con: duckdb.DuckDBPyConnection, classifier: Classifier, settings: RunSettings) -> str | None:
    """The newest run with these settings that was killed or stopped before its last batch."""
    found = con.execute(
        f"""
        SELECT r.run_id FROM raw.prediction_runs AS r
        WHERE {SAME_JOB} AND r.finished_at IS NULL AND r.is_current = $current
        ORDER BY r.started_at DESC, r.run_id DESC
        LIMIT 1
        """,
        _job(classifier, settings),
    ).fetchall()
    return found[0][0] if found else None


def _finish_run(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Mark the run whole and log it as a load (kind 'classify', source_file its run id), as `hits
    plan` logs a plan: the marts' build_info then tells `report` and `validate` whether they have it."""
    with transaction(con):
        load_id = next_load_id(con)
        started_at, n_images = con.execute(
            "SELECT started_at, (SELECT count(*) FROM raw.image_predictions WHERE run_id = $run_id) "
            "FROM raw.prediction_runs WHERE run_id = $run_id", {"run_id": run_id}).fetchall()[0]
        con.execute("UPDATE raw.prediction_runs SET finished_at = ?, load_id = ? WHERE run_id = ?",
                    [datetime.now(UTC).replace(tzinfo=None), load_id, run_id])
        record_load(con, load_id=load_id, kind="classify", source_file=Path(run_id),
                    sha256=hashlib.sha256(run_id.encode()).hexdigest(), rows_in_file=n_images,
                    rows_inserted=n_images, rows_updated=0, started_at=started_at)


def _write_batch(con: duckdb.DuckDBPyConnection, run_id: str, labels: pl.DataFrame, target: str) -> None:
    flags = labels.group_by("image_id").agg((pl.col("label") == target).any().alias("target_in_top_k"))
    # Registered under names no mart uses: a table in the catalog would shadow a Python variable.
    with staged(con, classify_batch_flags=flags, classify_batch_labels=labels):
        con.execute("INSERT INTO raw.image_predictions SELECT ?, image_id, target_in_top_k FROM classify_batch_flags",
                    [run_id])
        con.execute("INSERT INTO raw.prediction_labels SELECT ?, image_id, rank, label, score "
                    "FROM classify_batch_labels", [run_id])


# A decoded image takes 3 bytes a pixel, and two decode at once: 100 megapixels is 600 MB, while a
# small, highly compressed PNG can claim 16,000 x 16,000 (a "decompression bomb"). TensorFlow
# decodes every frame of a GIF, each the whole canvas, before the first is kept: a 300 KB GIF of
# 400 frames, each changing one pixel of a 2,000 x 2,000 canvas, takes 4.8 GB.
MAX_PIXELS = 100_000_000
EXIF_ORIENTATION = 0x0112


def _header(path: str) -> tuple[int, int, int]:
    """(width x height, frames TensorFlow decodes, EXIF orientation) from the file's header and
    frame headers, nothing decoded; (0, 1, 1) when Pillow cannot tell (the decoder then decides
    whether it is an image)."""
    import warnings

    from PIL import Image

    # Pillow's own bomb guard raises on the very files this looks for (over ~179 MP): read the size.
    guard = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                # Only GIFs: TensorFlow's PNG decoder reads an animated PNG's first frame alone.
                frames = image.n_frames if image.format == "GIF" else 1
                orientation = image.getexif().get(EXIF_ORIENTATION, 1)
    except Exception:  # noqa: BLE001 - any unreadable header is the decoder's to judge
        return 0, 1, 1
    finally:
        Image.MAX_IMAGE_PIXELS = guard
    return width * height, frames, orientation if isinstance(orientation, int) else 1


def _not_a_file(path: str) -> str:
    """Why an image's path names no file to classify."""
    if Path(path).is_dir():
        return "is a folder, not an image file"
    if Path(path).is_absolute():
        return "no such file"
    return (f"no such file in {Path.cwd()} (a relative path, left by a load from before manifests' "
            "paths were stored absolute, is read from the current folder)")


def _too_large(pixels: int, frames: int) -> str:
    """Why an image of `pixels` a frame and `frames` frames is not decoded."""
    if frames == 1:
        return f"{pixels:,} pixels, more than the {MAX_PIXELS:,} crowdaudit decodes"
    return (f"{frames:,} frames of {pixels:,} pixels, more than the {MAX_PIXELS:,} crowdaudit decodes "
            "(TensorFlow decodes every frame of a GIF)")


def check_run_settings(classifier: Classifier, settings: RunSettings) -> None:
    """Refuse a target the model cannot name or a top k it cannot fill, before anything is written."""
    names = classifier.class_names
    if settings.target not in names:
        target = settings.target.casefold()
        by_case = [n for n in names if n.casefold() == target]
        # ... or a class inside the word typed: ImageNet's 'groom' for the seed's 'bridegroom'.
        close = by_case or difflib.get_close_matches(settings.target, names, n=3, cutoff=0.75) or \
            [n for n in names if target in n.casefold()][:3] or \
            [n for n in names if len(n) >= 4 and n.casefold() in target][:3]
        raise CrowdauditError(
            f"--target {settings.target!r} is not one of the model's {len(names)} classes"
            + (f"; did you mean {' or '.join(repr(n) for n in close)}?" if close else "")
        )
    if settings.top_k > len(names):
        raise CrowdauditError(f"--top-k {settings.top_k} is more than the model's {len(names)} classes")


def classify_images(
    con: duckdb.DuckDBPyConnection,
    classifier: Classifier,
    images: pl.DataFrame,
    settings: RunSettings,
    *,
    on_batch: Callable[[int], None] | None = None,
) -> ClassifyResult:
    """Classify `images` (image_id, path) under a new run id, or continuing the unfinished run with
    these settings, committing after every batch and finishing the run after the last;
    `on_batch(n)` is called after each commit with the number of images it held."""
    check_run_settings(classifier, settings)
    result = ClassifyResult(run_id=None, model=classifier.name, weights=classifier.weights)
    paths = images["path"].to_list()
    image_ids = images["image_id"].to_list()
    exists = [Path(path).is_file() for path in paths]
    result.skipped += [(path, _not_a_file(path)) for path, ok in zip(paths, exists, strict=True) if not ok]
    headers = {position: _header(paths[position]) for position, ok in enumerate(exists) if ok}
    too_large = {position for position, (pixels, frames, _) in headers.items() if pixels * frames > MAX_PIXELS}
    result.skipped += [(paths[p], _too_large(*headers[p][:2])) for p in sorted(too_large)]
    readable = [position for position in headers if position not in too_large]
    result.continued = _unfinished_run(con, classifier, settings)
    run_id = result.continued or f"classify-{uuid.uuid4().hex[:12]}"
    started_at = datetime.now(UTC).replace(tzinfo=None)
    class_names = np.asarray(classifier.class_names, dtype=object)
    seen: set[int] = set()
    clock = time.perf_counter()
    batches = image_batches(
        [paths[p] for p in readable], [headers[p][2] for p in readable], image_size=classifier.image_size,
        preprocess=classifier.preprocess, batch_size=settings.batch_size,
    ) if readable else []
    for positions, inputs in batches:
        scores = as_probabilities(np.asarray(classifier.model.predict_on_batch(inputs)),
                                  classifier.outputs_probabilities)
        batch_ids = [image_ids[readable[p]] for p in positions]
        labels = top_k_frame(batch_ids, scores, class_names, settings.top_k).with_columns(
            pl.col("score").fill_nan(None))
        # The quality gate, as on every load: a refused batch stops the run before it is written;
        # the batches committed before it stay (a re-run resumes after them).
        check_batch("classify", Path(paths[readable[positions[0]]]), {"labels": labels})
        with transaction(con):
            if result.run_id is None and result.continued is None:
                _insert_run(con, run_id, classifier, settings, started_at)
            _write_batch(con, run_id, labels, settings.target)
        result.run_id = run_id
        result.classified += len(batch_ids)
        seen.update(int(p) for p in positions)
        if on_batch:
            on_batch(len(batch_ids))
    if result.run_id or result.continued:
        _finish_run(con, run_id)
    result.seconds = time.perf_counter() - clock
    result.skipped += [(paths[readable[p]], "not a readable image") for p in range(len(readable)) if p not in seen]
    return result
