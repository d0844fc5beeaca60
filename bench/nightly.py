"""A nightly `crowdaudit ingest FOLDER`: many small results files onto a large warehouse, in ms per file.

Builds a base warehouse of N assignments (default 1,000,000: bench/ingest.py's generator, then one
ingest; 333k HITs, 4M hit items and images) and a folder of F files of M assignments each (default
200 x 50), each showing new HITs and new images, as a night's downloads do. Each run copies the
base warehouse and times `crowdaudit ingest FOLDER` in a fresh process (the command as cron runs
it: start, open, every file, close), then the same command again, when every file was loaded
before. Prints seconds and ms per file.

--code DIR (repeatable) runs the command with that checkout on PYTHONPATH instead of this one;
with several, runs alternate between them, so old and new code meet the same data and the same
load of a shared machine. --workdir keeps the base warehouse and the folder between invocations.
Usage: python bench/nightly.py [--assignments N] [--files F] [--per-file M] [--runs R]
                               [--workdir DIR] [--code DIR ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
PER_HIT = 12
ASSIGNMENTS_PER_HIT = 3


def _generator():
    spec = importlib.util.spec_from_file_location("bench_ingest", Path(__file__).with_name("ingest.py"))
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    return generator


def build_base(warehouse: Path, n_assignments: int) -> None:
    """The warehouse a nightly job finds: one large batch ingested."""
    from etl.load.batch_results import ingest_results
    from etl.warehouse import open_warehouse

    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "Batch_1_batch_results.csv"
        _generator().generate(n_assignments, csv_path)
        with open_warehouse(warehouse, read_only=False) as con:
            ingest_results(con, csv_path)


def write_night(folder: Path, n_files: int, per_file: int, first_image: int) -> None:
    """F small batches, each of new HITs (its own seed) and new images (numbered past the base's)."""
    generate = _generator().generate
    folder.mkdir(parents=True)
    images_per_file = -(-per_file // ASSIGNMENTS_PER_HIT) * PER_HIT
    for k in range(n_files):
        generate(per_file, folder / f"Batch_{1000 + k}_batch_results.csv", seed=1000 + k,
                 first_image=first_image + k * images_per_file)


def ingest_seconds(code: Path, warehouse: Path, folder: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of `crowdaudit --silent ingest FOLDER` in a fresh process running `code`.
    CPU time (user + system, all threads) varies less than wall time on a machine others share."""
    # Run from `code` too: `python -m` puts the working folder first on sys.path, before PYTHONPATH.
    env = {**os.environ, "PYTHONPATH": str(code)}
    cpu_before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "etl.cli", "--warehouse", str(warehouse), "--silent", "ingest",
                           str(folder)], env=env, cwd=code, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"ingest with {code} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds, _children_cpu() - cpu_before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", type=int, default=1_000_000, help="in the base warehouse")
    parser.add_argument("--files", type=int, default=200, help="small files in the night's folder")
    parser.add_argument("--per-file", type=int, default=50, help="assignments in each small file")
    parser.add_argument("--runs", type=int, default=1, help="runs for each --code")
    parser.add_argument("--workdir", type=Path, help="keep the base warehouse and the folder here")
    parser.add_argument("--code", type=Path, action="append",
                        help="a checkout to run the ingest with (repeatable; default: this one)")
    args = parser.parse_args()
    codes = [c.resolve() for c in args.code or [REPOSITORY]]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        name = f"{args.assignments}-{args.files}x{args.per_file}"
        base, folder = workdir / f"base-{args.assignments}.duckdb", workdir / f"night-{name}"
        if not base.exists():
            started = time.perf_counter()
            build_base(base, args.assignments)
            print(f"base warehouse of {args.assignments:,} assignments built in {time.perf_counter() - started:.0f} s")
        if not folder.exists():
            base_images = -(-args.assignments // ASSIGNMENTS_PER_HIT) * PER_HIT
            write_night(folder, args.files, args.per_file, first_image=base_images)
        timings: dict[Path, list[tuple[float, float, float]]] = {code: [] for code in codes}
        for run in range(args.runs):
            for code in codes:
                warehouse = Path(tmp) / "night.duckdb"
                shutil.copyfile(base, warehouse)
                first, cpu = ingest_seconds(code, warehouse, folder)
                again, _ = ingest_seconds(code, warehouse, folder)
                timings[code].append((first, cpu, again))
                warehouse.unlink()
                print(f"run {run + 1} {code}: {first:.2f} s = {1000 * first / args.files:.0f} ms per file "
                      f"(CPU {1000 * cpu / args.files:.0f} ms); again (all loaded before) {again:.2f} s", flush=True)
    print(f"{args.files} files x {args.per_file} assignments onto {args.assignments:,}:")
    for code, runs in timings.items():
        first, cpu, again = (statistics.median(run[i] for run in runs) for i in range(3))
        print(f"  {code}: median {1000 * first / args.files:.0f} ms per file, CPU {1000 * cpu / args.files:.0f} ms "
              f"(again: {1000 * again / args.files:.0f} ms per file) over {len(runs)} run(s)")


if __name__ == "__main__":
    main()
