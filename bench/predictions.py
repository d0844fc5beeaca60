"""`crowdaudit load predictions` of the seed's relative paths, or of URLs, against a warehouse of many images.

The seed writes `path` as `weddings-indian-languages/punjabi/7899/01.jpg`; when images came from
results files (URLs only), each path is matched to the one URL ending with it. A file of URLs
(`--urls`) names its images directly. Prints the load's time and the process's peak memory.
Usage: python bench/predictions.py [--images N] [--rows M] [--urls]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import polars as pl

from etl.load.predictions import load_predictions
from etl.warehouse import open_warehouse

LANGUAGES = ("hindi", "tamil", "spanish", "french", "marathi")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5_000_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--urls", action="store_true", help="paths written as the images' URLs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = Path(tmp) / "bench.duckdb"
        with open_warehouse(warehouse, read_only=False) as con:
            con.execute(
                "INSERT INTO raw.images (image_id, load_id) "
                "SELECT 'https://example.org/weddings-indian-languages/' || "
                f"{list(LANGUAGES)}[i % {len(LANGUAGES)} + 1] || '/' || i // 10 || '/' || lpad((i % 10)::VARCHAR, 2, '0') "
                f"|| '.jpg', 1 FROM range({args.images}) t(i)"
            )
        step = max(args.images // args.rows, 1)
        i = pl.col("i")
        pl.DataFrame({"i": pl.int_range(0, args.rows * step, step, eager=True)}).select(
            path=pl.concat_str(pl.lit("https://example.org/" if args.urls else ""), pl.lit("weddings-indian-languages/"),
                               pl.lit(pl.Series(LANGUAGES)).gather(i % len(LANGUAGES)), pl.lit("/"),
                               (i // 10).cast(pl.String), pl.lit("/"), (i % 10).cast(pl.String).str.zfill(2),
                               pl.lit(".jpg")),
            predictions=pl.lit("['groom', 'suit', 'bow_tie']"),
            predictions_include_groom_or_bridegroom=pl.lit("True"),
        ).write_csv(Path(tmp) / "p.csv")
        with open_warehouse(warehouse, read_only=False) as con:
            started = time.perf_counter()
            result = load_predictions(con, Path(tmp) / "p.csv")
            seconds = time.perf_counter() - started
        assert result.counts and result.counts.inserted == args.rows, result.summary()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(f"load predictions: {args.rows:,} {'URLs' if args.urls else 'relative paths'} against "
              f"{args.images:,} images in {seconds:.2f} s (peak RSS of the process {peak:.1f} GB)")


if __name__ == "__main__":
    main()
