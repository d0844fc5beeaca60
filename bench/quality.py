"""Overhead of the data-quality gate on `crowdaudit ingest`.

Generates a batch results file with bench/ingest.py's generator, then ingests it into fresh
warehouses: once with the gate switched off, once with it on in a process that has not imported
Great Expectations yet (as `crowdaudit ingest` runs), and once more with it on and GX already
imported. Prints the seconds of each and the gate's overhead in percent of the ungated ingest.
Usage: python bench/quality.py [--assignments N]
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

from etl.load import batch_results
from etl.load.batch_results import ingest_results
from etl.warehouse import open_warehouse


def _generator():
    spec = importlib.util.spec_from_file_location("bench_ingest", Path(__file__).with_name("ingest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate


def timed_ingest(warehouse: Path, csv_path: Path) -> float:
    with open_warehouse(warehouse, read_only=False) as con:
        started = time.perf_counter()
        result = ingest_results(con, csv_path)
        seconds = time.perf_counter() - started
    assert result.counts and result.counts.inserted > 0
    return seconds


def timed_ingest_without_gate(warehouse: Path, csv_path: Path) -> float:
    gate = batch_results.check_batch
    batch_results.check_batch = lambda *_, **__: []
    try:
        return timed_ingest(warehouse, csv_path)
    finally:
        batch_results.check_batch = gate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "Batch_1_batch_results.csv"
        started = time.perf_counter()
        _generator()(args.assignments, csv_path)
        print(f"generated {args.assignments:,} assignments ({csv_path.stat().st_size / 1e6:,.0f} MB) "
              f"in {time.perf_counter() - started:.1f} s")

        ungated_first = timed_ingest_without_gate(Path(tmp) / "ungated1.duckdb", csv_path)
        cold = timed_ingest(Path(tmp) / "cold.duckdb", csv_path)
        warm = timed_ingest(Path(tmp) / "warm.duckdb", csv_path)
        # Run to run noise on a shared machine is of the gate's size: time the ungated ingest twice.
        ungated = min(ungated_first, timed_ingest_without_gate(Path(tmp) / "ungated2.duckdb", csv_path))
    print(f"ingest without the gate:             {ungated:6.2f} s")
    print(f"ingest with the gate, GX import cold: {cold:6.2f} s  (+{100 * (cold / ungated - 1):.0f}%)")
    print(f"ingest with the gate, GX warm:        {warm:6.2f} s  (+{100 * (warm / ungated - 1):.0f}%)")


if __name__ == "__main__":
    main()
