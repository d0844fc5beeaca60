"""A simulated crowd that answers image HITs, and results files in the requester site's exact format.

Workers are honest with their own sensitivity and specificity (how often they tick a wedding,
and leave a non-wedding unticked), or spammers who tick at random or never tick anything, as
the second seed note describes. Everything is vectorized with numpy so a million assignments
take seconds, and deterministic for a given seed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl

from etl.atomic_file import write_text_atomically
from etl.errors import InputFileError
from etl.hits.pricing import money
from etl.load.csvfile import ROW_COLUMN, first_bad_row, without_repeats
from etl.load.gold import gold_rows

ALPHANUM = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
RESULT_HEADER = [
    "HITId", "HITTypeId", "Title", "Description", "Keywords", "Reward", "CreationTime", "MaxAssignments",
    "RequesterAnnotation", "AssignmentDurationInSeconds", "AutoApprovalDelayInSeconds", "Expiration",
    "NumberOfSimilarHITs", "LifetimeInSeconds", "AssignmentId", "WorkerId", "AssignmentStatus", "AcceptTime",
    "SubmitTime", "AutoApprovalTime", "ApprovalTime", "RejectionTime", "RequesterFeedback",
    "WorkTimeInSeconds", "LifetimeApprovalRate", "Last30DaysApprovalRate", "Last7DaysApprovalRate",
]
TITLE = "Which of these images show a wedding?"
DESCRIPTION = ("Tick every image that depicts a wedding. We are interested in both Indian weddings and "
               "Western-style weddings.")
KEYWORDS = "image, classification, wedding"


@dataclass(frozen=True)
class CrowdSpec:
    """Who is in the crowd. Sensitivity/specificity of honest workers are drawn uniformly in ranges."""

    n_workers: int = 40
    spammer_share: float = 0.1
    sensitivity: tuple[float, float] = (0.70, 0.98)
    specificity: tuple[float, float] = (0.75, 0.99)
    seconds_per_image: float = 4.0


def mturk_ids(rng: np.random.Generator, count: int, length: int, first: str = "") -> np.ndarray:
    """Random upper-case ids like MTurk's (e.g. 30-character HIT ids), unique within the call."""
    body = length - len(first)
    while True:
        chars = ALPHANUM[rng.integers(0, len(ALPHANUM), size=(count, body))]
        ids = np.char.add(first, chars.view(f"<U{body}").ravel())
        if len(np.unique(ids)) == count:
            return ids


def make_workers(spec: CrowdSpec, *, seed: int) -> pl.DataFrame:
    """worker_id, kind ('honest' | 'random' | 'never'), sensitivity, specificity, tick_rate, speed."""
    rng = np.random.default_rng([seed, 1])
    n = spec.n_workers
    n_spammers = round(n * spec.spammer_share)
    kind = np.array(["honest"] * (n - n_spammers) + ["random", "never"] * (n_spammers // 2)
                    + ["random"] * (n_spammers % 2))
    rng.shuffle(kind)
    return pl.DataFrame({
        "worker_id": mturk_ids(rng, n, 14, "A"),
        "kind": kind,
        "sensitivity": rng.uniform(*spec.sensitivity, n),
        "specificity": rng.uniform(*spec.specificity, n),
        "tick_rate": rng.uniform(0.3, 0.7, n),
        # spammers click through fast; honest workers take their time
        "seconds_per_image": np.where(kind == "honest", rng.uniform(0.6, 1.6, n), rng.uniform(0.1, 0.3, n))
        * spec.seconds_per_image,
        "activity": rng.pareto(1.5, n) + 1.0,
    })


def distinct_draws(
    rng: np.random.Generator, rows: int, per_row: int, population: int, *, weights: np.ndarray | None = None,
    attempts: int = 10_000,
) -> np.ndarray:
    """(rows, per_row) indexes below `population`, distinct within each row, drawn uniformly or in
    proportion to `weights`: a HIT never shows one gold image twice (ingest refuses such a HIT),
    and a worker answers a HIT once. Rows with a repeat are drawn again, `attempts` times; rows
    still repeating then draw without replacement. Redrawing alone is not enough when per_row is
    near population: 8 of 8 gold images come out distinct in only 0.2% of draws (a thousand
    redraws still left one HIT in ten showing a gold image twice), 10 of 10 workers in under 0.04%."""
    if per_row > population:
        raise ValueError(f"cannot draw {per_row} different ones of {population} for a HIT")
    if per_row == 0:
        return np.zeros((rows, 0), dtype=np.int64)
    p = None if weights is None else weights / weights.sum()

    def draw(n: int) -> np.ndarray:
        if p is None:
            return rng.integers(0, population, size=(n, per_row))
        return rng.choice(population, size=(n, per_row), p=p)

    draws = draw(rows)
    for _ in range(attempts):
        repeats = _rows_repeating(draws)
        if not repeats.any():
            return draws
        draws[repeats] = draw(int(repeats.sum()))
    repeats = _rows_repeating(draws)
    if weights is None:
        draws[repeats] = without_replacement(rng, int(repeats.sum()), per_row, population)
    else:  # weighted alike: the largest U^(1/weight) (Efraimidis & Spirakis 2006)
        keys = rng.random((int(repeats.sum()), population)) ** (1 / weights)
        draws[repeats] = np.argsort(-keys, axis=1)[:, :per_row]
    return draws


def _rows_repeating(draws: np.ndarray) -> np.ndarray:
    """Which rows of `draws` hold an index twice."""
    ordered = np.sort(draws, axis=1)
    return (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)


def without_replacement(rng: np.random.Generator, rows: int, per_row: int, population: int) -> np.ndarray:
    """(rows, per_row) distinct indexes per row, vectorized over rows: slot k draws among the
    population - k indexes not taken yet, then steps over the taken ones in ascending order."""
    picks = np.zeros((rows, per_row), dtype=np.int64)
    for column in range(per_row):
        pick = rng.integers(0, population - column, size=rows)
        for taken in np.sort(picks[:, :column], axis=1).T:
            pick += pick >= taken
        picks[:, column] = pick
    return picks


def read_truth_and_gold(truth_csv: Path, gold_csv: Path | None) -> tuple[pl.DataFrame, list[str]]:
    """(image_id, truth of every image to label; the gold image ids) from `simulate`'s --truth and
    --gold files. Images go into the file's Input.imageK columns, which ingest takes only as URLs.
    The simulated workers answer by --truth while the warehouse scores them by the gold loaded from
    --gold: a gold answer --truth lacks or contradicts would score honest workers as wrong, so the
    gold file is refused at that row."""
    truth_rows, _ = gold_rows(truth_csv, urls_only=True)
    truth, _ = without_repeats(truth_rows, "image_id")
    if gold_csv is None:
        return truth.select("image_id", "truth"), []
    gold, key = gold_rows(gold_csv, urls_only=True)
    compared = gold.join(truth.rename({"truth": "truth_says", ROW_COLUMN: "truth_row"}), on="image_id", how="left")
    missing = first_bad_row(compared, pl.col("truth_says").is_null())
    if missing:
        raise InputFileError(str(gold_csv), f"gold image {missing['image_id']} is not in {truth_csv} (--truth), "
                             "which says what the simulated workers see", row=missing[ROW_COLUMN], column=key)
    bad = first_bad_row(compared, pl.col("truth") != pl.col("truth_says"))
    if bad:
        raise InputFileError(
            str(gold_csv), f"gold says {bad['image_id']} is {str(bad['truth']).lower()}, {truth_csv} (--truth) says "
            f"{str(bad['truth_says']).lower()} at row {bad['truth_row']}: the simulated workers answer by --truth, "
            "so this gold would score the honest ones as wrong", row=bad[ROW_COLUMN], column="truth")
    return truth.select("image_id", "truth"), without_repeats(gold, "image_id")[0]["image_id"].to_list()


def plan_hits(
    image_ids: list[str], *, per_hit: int, gold_ids: list[str] = (), gold_per_hit: int = 0, seed: int
) -> pl.DataFrame:
    """(hit_number, slot, image_id): images shuffled into full HITs of `per_hit` (the last one may be
    short), `gold_per_hit` gold images mixed in at random slots of every HIT."""
    rng = np.random.default_rng([seed, 2])
    gold = pl.Series("image_id", list(gold_ids), dtype=pl.String)
    images = pl.DataFrame({"image_id": image_ids}, schema={"image_id": pl.String})
    fresh = images.filter(~pl.col("image_id").is_in(gold.implode())).sample(fraction=1.0, shuffle=True, seed=seed)
    with_gold = gold.len() > 0 and gold_per_hit > 0
    fresh_per_hit = per_hit - gold_per_hit if with_gold else per_hit
    if fresh_per_hit < 1:
        raise ValueError(f"{gold_per_hit} gold images per HIT leave no slot of {per_hit} for an image that is not gold")
    fresh = fresh.with_row_index("position").select(
        (pl.col("position") // fresh_per_hit).cast(pl.Int64).alias("hit_number"), "image_id"
    )
    n_hits = int(fresh["hit_number"].max() or 0) + 1
    parts = [fresh]
    if with_gold:
        draws = distinct_draws(rng, n_hits, gold_per_hit, gold.len())
        parts.append(pl.DataFrame({
            "hit_number": np.repeat(np.arange(n_hits), gold_per_hit),
            "image_id": gold.gather(draws.ravel()),
        }))
    return (
        pl.concat(parts)
        .with_columns(pl.Series("order", rng.random(sum(p.height for p in parts))))
        .sort("hit_number", "order")
        .with_columns((pl.col("order").rank("ordinal").over("hit_number")).cast(pl.Int64).alias("slot"))
        .select("hit_number", "slot", "image_id")
    )


def assign_workers(
    n_hits: int, assignments: int, workers: pl.DataFrame, *, seed: int
) -> np.ndarray:
    """(n_hits, assignments) worker indexes: distinct workers per HIT, busier workers more often."""
    rng = np.random.default_rng([seed, 3])
    weights = workers["activity"].to_numpy()
    return distinct_draws(rng, n_hits, assignments, len(weights), weights=weights, attempts=1000)


def answer_probability(workers: pl.DataFrame, worker_index: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """P(tick) for each (worker, image truth) pair."""
    kind = workers["kind"].to_numpy()[worker_index]
    sensitivity = workers["sensitivity"].to_numpy()[worker_index]
    specificity = workers["specificity"].to_numpy()[worker_index]
    tick_rate = workers["tick_rate"].to_numpy()[worker_index]
    honest = np.where(truth, sensitivity, 1.0 - specificity)
    return np.select([kind == "honest", kind == "random"], [honest, tick_rate], default=0.0)


def simulate_votes(
    hit_items: pl.DataFrame,
    truth: pl.DataFrame,
    workers: pl.DataFrame,
    *,
    assignments: int,
    seed: int,
) -> pl.DataFrame:
    """One row per (HIT, assignment, slot): hit_number, assignment_number, worker index, slot, selected."""
    rng = np.random.default_rng([seed, 4])
    n_hits = hit_items["hit_number"].max() + 1
    chosen = assign_workers(n_hits, assignments, workers, seed=seed)
    items = hit_items.join(truth.select("image_id", "truth"), on="image_id", how="left")
    if items["truth"].null_count():
        missing = items.filter(pl.col("truth").is_null())["image_id"][0]
        raise ValueError(f"no truth for image {missing}")
    per_assignment = items.join(
        pl.DataFrame({"assignment_number": np.arange(assignments)}), how="cross"
    )
    worker_index = chosen[per_assignment["hit_number"].to_numpy(), per_assignment["assignment_number"].to_numpy()]
    p = answer_probability(workers, worker_index, per_assignment["truth"].to_numpy())
    return per_assignment.with_columns(
        pl.Series("worker_index", worker_index),
        pl.Series("selected", rng.random(len(p)) < p),
    )


def pacific(ts: pl.Expr) -> pl.Expr:
    """Format a UTC timestamp as the site does, in Pacific time (PDT in summer, PST otherwise)."""
    # US daylight saving: second Sunday of March to first Sunday of November (approximate by month
    # and day is enough for simulated data, which stays away from the switch days).
    summer = ts.dt.month().is_between(4, 10) | ((ts.dt.month() == 3) & (ts.dt.day() > 14))
    local = pl.when(summer).then(ts - pl.duration(hours=7)).otherwise(ts - pl.duration(hours=8))
    zone = pl.when(summer).then(pl.lit("PDT")).otherwise(pl.lit("PST"))
    return pl.format("{} {} {}", local.dt.strftime("%a %b %d %H:%M:%S"), zone, local.dt.year())


def results_frame(
    hit_items: pl.DataFrame,
    votes: pl.DataFrame,
    workers: pl.DataFrame,
    *,
    per_hit: int,
    reward: Decimal | float,
    seed: int,
    start: datetime = datetime(2019, 2, 20, 19, 0, 0),
) -> pl.DataFrame:
    """The batch results file as the requester site writes it, one row per assignment.

    HIT and assignment ids depend on the batch as well as the seed: with the seed alone, two
    batches simulated with the same seed (the default 0) got the same ids, and ingest refused the
    second as changing the images of the first's HITs."""
    batch = stable_seed(hashlib.sha256(hit_items.write_csv().encode()).hexdigest(), votes.height)
    rng = np.random.default_rng([seed, 5, batch])
    n_hits = int(hit_items["hit_number"].max()) + 1
    hit_ids = mturk_ids(rng, n_hits, 30, "3")
    hit_type_id = mturk_ids(rng, 1, 30, "3")[0]
    inputs = (
        hit_items.with_columns(pl.format("Input.image{}", "slot").alias("column"))
        .pivot(on="column", index="hit_number", values="image_id")
    )
    for slot in range(1, per_hit + 1):
        if f"Input.image{slot}" not in inputs.columns:
            inputs = inputs.with_columns(pl.lit(None, pl.String).alias(f"Input.image{slot}"))
    # Answer.selected lists ticked slots in the order the worker clicked: a random order.
    assignments = (
        votes.with_columns(pl.Series("click_order", rng.random(votes.height)))
        .group_by("hit_number", "assignment_number", "worker_index")
        .agg(
            pl.col("slot").filter(pl.col("selected")).sort_by(pl.col("click_order").filter(pl.col("selected")))
            .alias("ticked"),
            pl.len().alias("n_images"),
        )
        .sort("hit_number", "assignment_number")
    )
    n = assignments.height
    worker_rows = workers.with_row_index("worker_index").with_columns(pl.col("worker_index").cast(pl.Int64))
    assignments = assignments.with_columns(pl.col("worker_index").cast(pl.Int64)).join(
        worker_rows, on="worker_index", how="left"
    )
    created = pl.lit(start)
    accept_offset = rng.uniform(60, 3 * 24 * 3600, n)
    work = np.maximum(
        5, assignments["seconds_per_image"].to_numpy() * assignments["n_images"].to_numpy()
        * rng.lognormal(0, 0.3, n)
    ).round()
    approved = rng.integers(50, 5000, n)
    frame = assignments.with_columns(
        pl.Series("accept", accept_offset),
        pl.Series("work", work.astype(np.int64)),
        pl.Series("approved_before", approved),
        pl.Series("AssignmentId", mturk_ids(rng, n, 30, "3")),
    ).join(
        inputs.with_columns(pl.Series("HITId", hit_ids)), on="hit_number", how="left"
    ).with_columns(
        (created + pl.duration(seconds=pl.col("accept"))).alias("accept_ts"),
    ).with_columns(
        (pl.col("accept_ts") + pl.duration(seconds=pl.col("work"))).alias("submit_ts"),
    )
    rows = frame.select(
        "HITId",
        pl.lit(hit_type_id).alias("HITTypeId"),
        pl.lit(TITLE).alias("Title"),
        pl.lit(DESCRIPTION).alias("Description"),
        pl.lit(KEYWORDS).alias("Keywords"),
        pl.lit(f"${money(reward):.2f}").alias("Reward"),
        pacific(created).alias("CreationTime"),
        pl.lit(str(votes["assignment_number"].max() + 1)).alias("MaxAssignments"),
        pl.lit("BatchId:1;").alias("RequesterAnnotation"),
        pl.lit("3600").alias("AssignmentDurationInSeconds"),
        pl.lit("259200").alias("AutoApprovalDelayInSeconds"),
        pacific(created + pl.duration(days=7)).alias("Expiration"),
        pl.lit("").alias("NumberOfSimilarHITs"),
        pl.lit("").alias("LifetimeInSeconds"),
        "AssignmentId",
        "WorkerId" if "WorkerId" in frame.columns else pl.col("worker_id").alias("WorkerId"),
        pl.lit("Approved").alias("AssignmentStatus"),
        pacific(pl.col("accept_ts")).alias("AcceptTime"),
        pacific(pl.col("submit_ts")).alias("SubmitTime"),
        pacific(pl.col("submit_ts") + pl.duration(days=3)).alias("AutoApprovalTime"),
        pacific(pl.col("submit_ts") + pl.duration(hours=20)).alias("ApprovalTime"),
        pl.lit("").alias("RejectionTime"),
        pl.lit("").alias("RequesterFeedback"),
        pl.col("work").cast(pl.String).alias("WorkTimeInSeconds"),
        pl.lit("0% (0/0)").alias("LifetimeApprovalRate"),
        pl.lit("0% (0/0)").alias("Last30DaysApprovalRate"),
        pl.lit("0% (0/0)").alias("Last7DaysApprovalRate"),
        *[pl.col(f"Input.image{slot}").fill_null("") for slot in range(1, per_hit + 1)],
        pl.col("ticked").list.eval(pl.format("image{}", pl.element())).list.join("|").alias("Answer.selected"),
    )
    return rows


def write_results_csv(results: pl.DataFrame, path: Path) -> Path:
    """Write as the site does: every field quoted, CRLF, a header ending in Approve,Reject that the
    data rows leave out (the rows are two fields shorter than the header)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ",".join(f'"{name}"' for name in [*results.columns, "Approve", "Reject"])
    body = results.write_csv(include_header=False, quote_style="always", line_terminator="\r\n")
    return write_text_atomically(path, header + "\r\n" + body)


def simulate_batch(
    truth: pl.DataFrame,
    *,
    per_hit: int = 12,
    assignments: int = 3,
    reward: Decimal | float = 0.01,
    crowd: CrowdSpec = CrowdSpec(),
    gold_ids: list[str] = (),
    gold_per_hit: int = 1,
    seed: int = 0,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(results frame in the site's format, the workers who answered) for images with known truth."""
    workers = make_workers(crowd, seed=seed)
    hit_items = plan_hits(
        truth["image_id"].to_list(), per_hit=per_hit, gold_ids=list(gold_ids), gold_per_hit=gold_per_hit,
        seed=seed,
    )
    votes = simulate_votes(hit_items, truth, workers, assignments=assignments, seed=seed)
    return results_frame(hit_items, votes, workers, per_hit=per_hit, reward=reward, seed=seed), workers


def stable_seed(*parts: object) -> int:
    return int(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:8], 16)
