"""`crowdaudit demo`: the whole audit on generated data, from images to report, deterministically.

The data mimic the seed's study: MMID-style folders of wedding images for 8 Indian and several
European languages, a classifier that misses non-Western weddings far more often than Western
ones, ~10% gold images, and a simulated crowd of honest workers and a few spammers. Part of the
answers arrive as an archived requester-site batch results file; the rest are bought through the
API path against a local MTurk-compatible endpoint (`etl.hits.loop`).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from etl.errors import CrowdauditError
from etl.hits.loop import run_local_loop
from etl.load.batch_results import ingest_results
from etl.load.gold import load_gold
from etl.load.images import load_images_dir
from etl.load.predictions import load_predictions
from etl.models import build
from etl.report import write_report
from etl.simulate import CrowdSpec, simulate_batch, write_results_csv
from etl.warehouse import open_warehouse

INDIAN = ("bengali", "gujarati", "hindi", "malayalam", "marathi", "punjabi", "tamil", "telugu")
EUROPEAN = ("spanish", "french", "german", "italian")
URL_PREFIX = "https://images.crowdaudit.example"
# How often the classifier puts "groom" in its top 3 for a real wedding, by region: the seed's finding.
RECALL = {"Western": 0.80, "non-Western": 0.35}
FALSE_POSITIVE_RATE = 0.06
# Words per language whose answers come from the archived batch; the rest go through the local endpoint.
ARCHIVED_WORDS = 2
OTHER_CLASSES = ("vestment", "abaya", "cloak", "kimono", "stole", "academic_gown", "suit", "gown",
                 "altar", "church", "restaurant", "bow_tie", "jersey", "fountain", "umbrella")


DEMO_WAREHOUSE = "crowdaudit.duckdb"
# Everything a demo writes at the top of its --out folder: the only names it will delete there.
DEMO_WRITES = frozenset({
    "images", "image_paths_and_predictions.csv", "gold.csv", "truth.csv", "Batch_1000001_batch_results.csv",
    "Batch_crowdaudit-1_results.csv", "Batch_crowdaudit-1_results.variables.csv", DEMO_WAREHOUSE,
    f"{DEMO_WAREHOUSE}.wal", "report.html", "quarantine",
})
# Every load a demo makes, as raw.load_log has it: kind/file name. A warehouse in --out whose log
# names anything else is someone's own under the demo's file name (`--out` of a team's folder).
DEMO_LOADS = (
    "images/images", "predictions/image_paths_and_predictions.csv", "gold/gold.csv",
    "results/Batch_1000001_batch_results.csv", "hit_plan/Batch_crowdaudit-1_results.variables.csv",
    "results/Batch_crowdaudit-1_results.csv",
)


@dataclass(frozen=True)
class DemoFiles:
    images_dir: Path
    predictions_csv: Path
    gold_csv: Path
    truth: pl.DataFrame
    truth_csv: Path
    archive_csv: Path


def demo_truth(*, words_per_language: int, images_per_word: int, seed: int) -> pl.DataFrame:
    """image_id, relative path, language, region, word, truth (is it a wedding?) for the generated set."""
    rng = np.random.default_rng([seed, 10])
    rows = [
        (dataset, language, region, 7000 + 37 * li + w, k)
        for dataset, languages, region in (
            ("weddings-indian-languages", INDIAN, "non-Western"),
            ("weddings-european-language", EUROPEAN, "Western"),
        )
        for li, language in enumerate(languages)
        for w in range(words_per_language)
        for k in range(1, images_per_word + 1)
    ]
    frame = pl.DataFrame(rows, schema=["dataset", "language", "region", "word", "k"], orient="row")
    frame = frame.with_columns(
        pl.format("{}/{}/{}/{}.jpg", "dataset", "language", "word", pl.col("k").cast(pl.String).str.zfill(2))
        .alias("relative"),
    ).with_columns(
        (pl.lit(URL_PREFIX + "/") + pl.col("relative")).alias("image_id"),
        pl.Series("truth", rng.random(frame.height) < 0.75),
    )
    return frame.select("image_id", "relative", "language", "region", "word", "truth")


def draw_images(truth: pl.DataFrame, images_dir: Path, *, seed: int) -> None:
    """Small synthetic JPEGs: warm palettes and two figures for weddings, anything else otherwise."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng([seed, 11])
    colors = rng.integers(0, 256, size=(truth.height, 3, 3))
    for (relative, is_wedding), palette in zip(truth.select("relative", "truth").iter_rows(), colors, strict=True):
        path = images_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        image = Image.new("RGB", (64, 64), tuple(int(c) for c in palette[0]))
        draw = ImageDraw.Draw(image)
        if is_wedding:
            draw.ellipse((10, 14, 28, 58), fill=(250, 250, 245))
            draw.ellipse((36, 14, 54, 58), fill=(30, 30, 40))
        else:
            draw.rectangle((8, 20, 56, 50), fill=tuple(int(c) for c in palette[1]))
        image.save(path, format="JPEG", quality=70)


def demo_predictions(truth: pl.DataFrame, *, seed: int) -> pl.DataFrame:
    """The seed's image_paths_and_predictions.csv: top-3 classes and whether 'groom' is among them."""
    rng = np.random.default_rng([seed, 12])
    n = truth.height
    recall = truth["region"].replace_strict(RECALL, return_dtype=pl.Float64).to_numpy()
    p_groom = np.where(truth["truth"].to_numpy(), recall, FALSE_POSITIVE_RATE)
    has_groom = rng.random(n) < p_groom
    others = np.array(OTHER_CLASSES)[np.argsort(rng.random((n, len(OTHER_CLASSES))), axis=1)[:, :3]]
    groom_rank = rng.integers(0, 3, n)
    others[has_groom, groom_rank[has_groom]] = "groom"
    as_list = pl.Series(others.tolist()).list.eval(pl.format("'{}'", pl.element())).list.join(", ")
    return pl.DataFrame({
        "path": truth["image_id"],
        "predictions": ("[" + as_list + "]"),
        "predictions_include_groom_or_bridegroom": np.where(has_groom, "True", "False"),
    })


def write_demo_files(out: Path, *, seed: int, words_per_language: int = 5, images_per_word: int = 5) -> DemoFiles:
    truth = demo_truth(words_per_language=words_per_language, images_per_word=images_per_word, seed=seed)
    images_dir = out / "images"
    draw_images(truth, images_dir, seed=seed)
    predictions_csv = out / "image_paths_and_predictions.csv"
    # As pandas writes it (the seed's notebook): an unnamed index column first.
    demo_predictions(truth, seed=seed).to_pandas().to_csv(predictions_csv)
    gold = truth.sample(fraction=0.1, seed=seed, shuffle=True).select(
        pl.col("image_id").alias("url"), pl.col("truth").cast(pl.String).str.to_lowercase()
    )
    gold_csv = out / "gold.csv"
    gold.write_csv(gold_csv)
    truth_csv = out / "truth.csv"
    truth.select(pl.col("image_id").alias("url"), "truth").write_csv(truth_csv)
    # The archive: the first words of every language were labelled before Mechanical Turk closed,
    # and their answers survive as a requester-site batch results file.
    # (Gold images are among them: workers saw gold in every HIT then too.)
    archived = truth.filter((pl.col("word").rank("dense").over("language") <= ARCHIVED_WORDS)
                            | pl.col("image_id").is_in(gold["url"].implode()))
    results, workers = simulate_batch(
        archived.select("image_id", "truth"),
        crowd=CrowdSpec(n_workers=40, spammer_share=0.1),
        gold_ids=gold["url"].to_list(),
        gold_per_hit=1,
        seed=seed,
    )
    # Reject what the never-ticking spammers sent, as a requester would after looking at gold.
    never = workers.filter(pl.col("kind") == "never")["worker_id"].implode()
    results = results.with_columns(
        pl.when(pl.col("WorkerId").is_in(never)).then(pl.lit("Rejected")).otherwise("AssignmentStatus")
        .alias("AssignmentStatus"),
        pl.when(pl.col("WorkerId").is_in(never)).then(pl.col("ApprovalTime")).otherwise(pl.lit(""))
        .alias("RejectionTime"),
        pl.when(pl.col("WorkerId").is_in(never)).then(pl.lit("")).otherwise("ApprovalTime").alias("ApprovalTime"),
    )
    archive_csv = write_results_csv(results, out / "Batch_1000001_batch_results.csv")
    return DemoFiles(images_dir, predictions_csv, gold_csv, truth, truth_csv, archive_csv)


def empty_earlier_demo(out: Path) -> None:
    """Make `out` an empty folder, deleting only what an earlier demo wrote there: a folder that
    holds anything else (`--out .` in a project, `--out ~`) is refused, never emptied. The old
    demo warehouse is opened read-write first, so one that another process is using is not
    deleted under it (that waits, then fails as every writer does), and one that holds loads no
    demo makes is refused: the name alone does not make it a demo's."""
    if out.exists() and not out.is_dir():
        raise CrowdauditError(f"--out {out} is a file, not a folder")
    entries = sorted(out.iterdir()) if out.exists() else []
    foreign = [entry.name for entry in entries if entry.name not in DEMO_WRITES]
    if foreign:
        raise CrowdauditError(
            f"--out {out} holds {', '.join(foreign[:3])}{' ...' if len(foreign) > 3 else ''}, which the demo did "
            "not write; it empties its folder first, so give it a new or empty one"
        )
    if (out / DEMO_WAREHOUSE).exists():
        with open_warehouse(out / DEMO_WAREHOUSE, read_only=False) as con:
            others = loads_a_demo_did_not_make(con)
        if others:
            raise CrowdauditError(
                f"--out {out} holds {DEMO_WAREHOUSE}, a warehouse the demo did not make (it loaded "
                f"{', '.join(others[:3])}{' ...' if len(others) > 3 else ''}); the demo never replaces a warehouse, "
                "so give it a new or empty folder"
            )
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    out.mkdir(parents=True, exist_ok=True)


def loads_a_demo_did_not_make(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The source files of the warehouse's loads that are none of a demo's (DEMO_LOADS)."""
    return [source for (source,) in con.execute(
        "SELECT DISTINCT source_file FROM raw.load_log "
        "WHERE NOT list_contains(?, kind || '/' || parse_filename(source_file)) ORDER BY source_file",
        [list(DEMO_LOADS)],
    ).fetchall()]


def run_demo(out: Path, *, seed: int = 7, warehouse: Path | None = None,
             say: Callable[[str], None] = print) -> Path:
    """Generate the demo data, load it into a fresh warehouse, build, and write the report."""
    out = Path(out)
    if warehouse and Path(warehouse).exists():
        raise CrowdauditError(f"{warehouse} exists; the demo loads into a new warehouse and never replaces one: "
                              "remove it or pass another --warehouse")
    empty_earlier_demo(out)
    warehouse = Path(warehouse) if warehouse else out / DEMO_WAREHOUSE
    say(f"generating demo data in {out} (seed {seed})")
    files = write_demo_files(out, seed=seed)
    with open_warehouse(warehouse, read_only=False) as con:
        say(load_images_dir(con, files.images_dir, url_prefix=URL_PREFIX).summary())
        say(load_predictions(con, files.predictions_csv, model="resnet50 (simulated)").summary())
        say(load_gold(con, files.gold_csv).summary())
        say(ingest_results(con, files.archive_csv).summary())
    # The images the archive does not cover go through the API path: build HITs, publish them with
    # boto3 to an mturk-local endpoint, let its simulated workers answer, fetch and ingest.
    run_local_loop(warehouse, files.truth, out / "Batch_crowdaudit-1_results.csv", seed=seed, ingest=True, say=say)
    with open_warehouse(warehouse, read_only=False) as con:
        built = build(con)
        say(f"built {len(built.built)} models; {built.tests_run} SQL tests passed")
    with open_warehouse(warehouse, read_only=True) as con:
        report = write_report(con, out / "report.html")
    say(f"warehouse: {warehouse}")
    return report.resolve()
