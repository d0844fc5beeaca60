"""Wall time and peak memory of `crowdaudit validate` on a warehouse of 1,000,000 assignments.

Builds the warehouse once (bench/ingest.py's generator, then ingest and build: about 1.5 min for
1M assignments) unless --warehouse names one that exists, then runs validate as the CLI does
(validate_warehouse, record_results) in a fresh process and prints its seconds and peak RSS.
Usage: python bench/validate.py [--assignments N] [--warehouse PATH]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

# This process only starts the others and stays small on purpose: a child's peak RSS as
# getrusage reports it starts from the parent's at fork, so building the warehouse here would
# show up in validate's figure.


def build_warehouse(warehouse: Path, n_assignments: int) -> None:
    """Generate a results file, ingest it and build the marts (run in its own process)."""
    import importlib.util

    from etl.load.batch_results import ingest_results
    from etl.models import build
    from etl.warehouse import open_warehouse

    spec = importlib.util.spec_from_file_location("bench_ingest", Path(__file__).with_name("ingest.py"))
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "Batch_1_batch_results.csv"
        generator.generate(n_assignments, csv_path)
        with open_warehouse(warehouse, read_only=False) as con:
            ingest_results(con, csv_path)
            build(con)


def measure(warehouse: Path) -> None:
    """Run validate once and print its wall time and this process's peak RSS."""
    import resource
    import time

    import etl  # noqa: F401  (configures polars' allocator before polars loads, as the CLI does)
    from etl.quality.results import record_results, validate_warehouse
    from etl.warehouse import open_warehouse

    with open_warehouse(warehouse, read_only=False) as con:
        votes = con.execute("SELECT count(*) FROM main.votes").fetchall()[0][0]
        started = time.perf_counter()
        outcomes, skipped = validate_warehouse(con)
        record_results(con, outcomes)
        seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    failed = sum(not o.success for o in outcomes)
    print(f"validate: {seconds:.1f} s, peak RSS {peak_mb:,.0f} MB ({votes:,} votes; {len(outcomes)} expectations, "
          f"{failed} failed; skipped: {', '.join(skipped) or 'none'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", type=int, default=1_000_000)
    parser.add_argument("--warehouse", type=Path, help="reuse this warehouse, or build it here if it does not exist")
    parser.add_argument("--step", choices=("build", "measure"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "build":
        build_warehouse(args.warehouse, args.assignments)
        return
    if args.step == "measure":
        measure(args.warehouse)
        return
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = args.warehouse or Path(tmp) / "bench.duckdb"
        if not warehouse.exists():
            print(f"building a warehouse of {args.assignments:,} assignments in {warehouse} ...", flush=True)
            subprocess.run([sys.executable, __file__, "--step", "build", "--warehouse", str(warehouse),
                            "--assignments", str(args.assignments)], check=True)
        subprocess.run([sys.executable, __file__, "--step", "measure", "--warehouse", str(warehouse)], check=True)


if __name__ == "__main__":
    main()
