"""Ingest + build of 1,000,000 assignments x 12 images vs the seed's pandas + Counter loop.

Generates a batch results CSV in the requester site's exact format (quoted fields, CRLF, short
rows, PST timestamps), then in the same run measures:
  1. `crowdaudit ingest` (as a library call, one transaction) and `crowdaudit build`;
  2. for reference, the issue's plain read_csv + UNPIVOT query into one table of votes, then a
     GROUP BY of those votes per image: the seed's result with nothing checked or kept;
  3. the seed's method: pandas.read_csv, then for every row split Answer.selected and count
     votes per Input.image<N> URL in a collections.Counter.
Prints assignments/s for each and the ratio. Usage: python bench/ingest.py [--assignments N] [--ingest-runs K]
"""

# ruff: noqa: I001 (etl is imported first, as the CLI does: it configures polars' allocator,
# which must happen before polars loads)
from __future__ import annotations

import etl  # noqa: F401

import argparse
import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl

from etl.load.batch_results import ingest_results
from etl.models import build
from etl.simulate import mturk_ids, pacific, write_results_csv
from etl.warehouse import open_warehouse

PER_HIT = 12
ASSIGNMENTS_PER_HIT = 3
LANGUAGES = ("hindi", "tamil", "spanish", "french")
N_WORKERS = 2_000
SEED_EQUIVALENT_MODELS = ("stg_assignments", "stg_hit_items", "stg_images", "images", "votes", "vote_counts",
                          "majority_labels")


def generate(n_assignments: int, path: Path, seed: int = 1, first_image: int = 0) -> None:
    """A batch of n_assignments (3 to a HIT of 12 images); images are numbered from first_image,
    so batches generated with other numbers show other images."""
    rng = np.random.default_rng(seed)
    n_hits = -(-n_assignments // ASSIGNMENTS_PER_HIT)
    hit_ids = mturk_ids(rng, n_hits, 30, "3")
    image_number = np.arange(first_image, first_image + n_hits * PER_HIT).reshape(n_hits, PER_HIT)
    hits = pl.DataFrame({"HITId": hit_ids}).with_columns(
        pl.Series(f"Input.image{k + 1}", [
            f"https://s3.amazonaws.com/mmid/weddings/{LANGUAGES[i % 4]}/{i // 10}/{i % 10:02d}.jpg"
            for i in image_number[:, k]
        ]) for k in range(PER_HIT)
    )
    rows = hits.select(pl.all().repeat_by(ASSIGNMENTS_PER_HIT).explode()).head(n_assignments)
    n = rows.height
    workers = np.char.add("A", (10**12 + np.arange(N_WORKERS)).astype(str))
    # Each image is a wedding or not; workers tick 85% of weddings and 10% of the rest.
    truth = rng.random(n_hits * PER_HIT).reshape(n_hits, PER_HIT) < 0.6
    truth_per_row = np.repeat(truth, ASSIGNMENTS_PER_HIT, axis=0)[:n_assignments]
    ticks = rng.random((n, PER_HIT)) < np.where(truth_per_row, 0.85, 0.10)
    slot_names = np.array([f"image{k}" for k in range(1, PER_HIT + 1)])
    selected = pl.Series(np.where(ticks, slot_names, "")).arr.to_list().list.eval(pl.element().filter(pl.element() != ""))
    accept = pl.Series((np.datetime64("2019-02-20T19:00:00") + rng.integers(0, 10**6, n).astype("timedelta64[s]")).astype("datetime64[us]"))
    frame = rows.with_columns(
        pl.Series("AssignmentId", mturk_ids(rng, n, 30, "3")),
        # 2,000 workers, each answering a HIT at most once (as MTurk enforces).
        pl.Series("WorkerId", workers[(np.arange(n) % ASSIGNMENTS_PER_HIT
                                       + ASSIGNMENTS_PER_HIT * rng.integers(0, N_WORKERS // ASSIGNMENTS_PER_HIT,
                                                                            n))]),
        pl.Series("WorkTimeInSeconds", rng.integers(20, 200, n).astype(str)),
        pl.Series("Answer.selected", selected).list.join("|"),
        accept.alias("accept"),
    )
    results = frame.select(
        "HITId", pl.lit("3TYPE00000000000000000000000000").alias("HITTypeId"),
        pl.lit("Which of these images show a wedding?").alias("Title"),
        pl.lit("Tick every image that depicts a wedding.").alias("Description"),
        pl.lit("image, wedding").alias("Keywords"), pl.lit("$0.01").alias("Reward"),
        pl.lit("Wed Feb 20 11:00:00 PST 2019").alias("CreationTime"),
        pl.lit("3").alias("MaxAssignments"), pl.lit("").alias("RequesterAnnotation"),
        pl.lit("3600").alias("AssignmentDurationInSeconds"), pl.lit("259200").alias("AutoApprovalDelayInSeconds"),
        pl.lit("Wed Feb 27 11:00:00 PST 2019").alias("Expiration"), pl.lit("").alias("NumberOfSimilarHITs"),
        pl.lit("").alias("LifetimeInSeconds"), "AssignmentId", "WorkerId",
        pl.lit("Submitted").alias("AssignmentStatus"),
        pacific(pl.col("accept")).alias("AcceptTime"),
        pacific(pl.col("accept") + pl.duration(seconds=90)).alias("SubmitTime"),
        pacific(pl.col("accept") + pl.duration(days=3)).alias("AutoApprovalTime"),
        pl.lit("").alias("ApprovalTime"), pl.lit("").alias("RejectionTime"), pl.lit("").alias("RequesterFeedback"),
        "WorkTimeInSeconds", pl.lit("100% (94/94)").alias("LifetimeApprovalRate"),
        pl.lit("100% (12/12)").alias("Last30DaysApprovalRate"), pl.lit("100% (3/3)").alias("Last7DaysApprovalRate"),
        *[f"Input.image{k}" for k in range(1, PER_HIT + 1)], "Answer.selected",
    )
    write_results_csv(results, path)


def seed_method(path: Path) -> Counter:
    """The seed assignment's step 7, as written there."""
    frame = pd.read_csv(path)
    counts: Counter = Counter()
    for _, row in frame.iterrows():
        true_images = str(row["Answer.selected"]).split("|")
        for k in range(1, PER_HIT + 1):
            url = row[f"Input.image{k}"]
            if f"image{k}" in true_images:
                counts[url] += 1
            else:
                counts[url] += 0
    return counts


def disk_settled() -> None:
    """Write out every dirty page before a timed phase: the generator leaves 1.3 GB of the file to
    be written back, and the write-back it does while ingest runs (and commits, which waits for
    the disk) moved ingest's time by a second from run to run."""
    os.sync()


def plain_unpivot(path: Path, warehouse: Path) -> float:
    """The issue's reference point: DuckDB's read_csv + UNPIVOT into one table of votes, with no
    typing, checks, HIT/assignment tables or image registration. Returns seconds."""
    image_columns = ", ".join(f'"Input.image{k}"' for k in range(1, PER_HIT + 1))
    started = time.perf_counter()
    con = duckdb.connect(str(warehouse))
    con.execute(f"""
        CREATE TABLE votes AS
        SELECT AssignmentId, WorkerId, HITId, slot, url,
               list_contains(string_split("Answer.selected", '|'), replace(slot, 'Input.', '')) AS selected
        FROM (UNPIVOT (SELECT * FROM read_csv('{path}', all_varchar = true, null_padding = true))
              ON {image_columns} INTO NAME slot VALUE url)
    """)
    con.close()
    return time.perf_counter() - started


def plain_counts(warehouse: Path) -> float:
    """After plain_unpivot, the seed's whole result (votes and yes votes per image) by one GROUP BY:
    the least any DuckDB pipeline does to match the seed. Returns seconds."""
    started = time.perf_counter()
    con = duckdb.connect(str(warehouse))
    con.execute("CREATE TABLE vote_counts AS SELECT url, count(*) AS n_votes, count(*) FILTER (WHERE selected) "
                "AS n_yes FROM votes GROUP BY url")
    con.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", type=int, default=1_000_000)
    parser.add_argument("--ingest-runs", type=int, default=3, help="ingests of the file, each into a new "
                        "warehouse; the median counts (default 3)")
    parser.add_argument("--seed-sample", type=int, default=0,
                        help="rows the seed's loop runs on (its rate is then applied to the whole file); "
                             "0 = the whole file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "Batch_1_batch_results.csv"
        started = time.perf_counter()
        generate(args.assignments, csv_path)
        print(f"generated {args.assignments:,} assignments ({csv_path.stat().st_size / 1e6:,.0f} MB) "
              f"in {time.perf_counter() - started:.1f} s")

        # Ingest runs this machine's disk and CPU for seconds, and its time varies by a tenth from
        # run to run: each run loads the file into a new warehouse, and the median one counts.
        ingest_runs = []
        for run in range(args.ingest_runs):
            warehouse = Path(tmp) / f"bench-{run}.duckdb"
            disk_settled()
            with open_warehouse(warehouse, read_only=False) as con:
                started = time.perf_counter()
                result = ingest_results(con, csv_path)
                ingest_runs.append(time.perf_counter() - started)
                assert result.counts and result.counts.inserted == args.assignments
            if run < args.ingest_runs - 1:
                warehouse.unlink()
        ingest_seconds = statistics.median(ingest_runs)
        with open_warehouse(warehouse, read_only=False) as con:
            started = time.perf_counter()
            model_seconds: dict[str, float] = {}
            build(con, on_model=model_seconds.__setitem__)
            build_seconds = time.perf_counter() - started
            votes = con.execute("SELECT count(*) FROM votes").fetchall()[0][0]
        print(f"ingest: {ingest_seconds:.2f} s = {args.assignments / ingest_seconds:,.0f} assignments/s "
              f"(median of {len(ingest_runs)}: {', '.join(f'{t:.2f}' for t in ingest_runs)} s)")
        print(f"build:  {build_seconds:.2f} s ({votes:,} votes; {len(model_seconds)} models and the SQL tests)")
        # What the seed's loop computes (a vote count per image) is these models; the rest of the
        # build (truth inference, agreement, confidence, metrics) has no counterpart in the seed.
        seed_like = sum(model_seconds.get(name, 0.0) for name in SEED_EQUIVALENT_MODELS)
        print(f"  of which {' + '.join(SEED_EQUIVALENT_MODELS)}: {seed_like:.2f} s; "
              f"slowest: {', '.join(f'{n} {t:.1f} s' for n, t in sorted(model_seconds.items(), key=lambda x: -x[1])[:4])}")
        ours = ingest_seconds + build_seconds
        print(f"ingest + build: {ours:.2f} s = {args.assignments / ours:,.0f} assignments/s")
        disk_settled()
        plain = plain_unpivot(csv_path, Path(tmp) / "plain.duckdb")
        print(f"for reference, a plain read_csv + UNPIVOT into one table: {plain:.2f} s = "
              f"{args.assignments / plain:,.0f} assignments/s")
        plain_total = plain + plain_counts(Path(tmp) / "plain.duckdb")
        print(f"  and a GROUP BY of its votes per image (the seed's result, nothing checked): {plain_total:.2f} s "
              f"in all = {args.assignments / plain_total:,.0f} assignments/s")

        sample_path = csv_path
        if args.seed_sample and args.seed_sample < args.assignments:
            sample_path = Path(tmp) / "sample.csv"
            with open(csv_path, "rb") as source, open(sample_path, "wb") as sample:
                for i, line in enumerate(source):
                    if i > args.seed_sample:
                        break
                    sample.write(line)
        disk_settled()
        started = time.perf_counter()
        counts = seed_method(sample_path)
        seed_seconds = time.perf_counter() - started
        seed_rows = min(args.seed_sample or args.assignments, args.assignments)
        seed_rate = seed_rows / seed_seconds
        print(f"seed's pandas + Counter: {seed_rows:,} rows in {seed_seconds:.1f} s = {seed_rate:,.0f} "
              f"assignments/s ({len(counts):,} images counted)")
        print(f"ratio (ingest + build vs seed, per assignment): {(args.assignments / ours) / seed_rate:.1f}x")
        seed_like_total = ingest_seconds + seed_like
        print(f"ratio (ingest + {SEED_EQUIVALENT_MODELS[-1]} and what it needs vs seed): "
              f"{(args.assignments / seed_like_total) / seed_rate:.1f}x")
        print(f"ratio (plain read_csv + UNPIVOT + GROUP BY vs seed): {(args.assignments / plain_total) / seed_rate:.1f}x")


if __name__ == "__main__":
    main()
