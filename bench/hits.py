"""`hits publish | status | results | extend | expire` on a large warehouse, against mturk-local, in ms per HIT.

Makes a warehouse that already holds H published HITs (default 345,000, as a 1M-assignment
warehouse does: their rows in raw.hits and raw.hit_items, random platform ids), plans a batch of
N new HITs (default 2,000), starts mturk-local in this process, and times each command's library
call on that batch: publish, status, results, extend (+1 assignment each), expire. What grows
with the warehouse (a query per HIT that scans raw.hits) shows up as ms per HIT rising with H.
Usage: python bench/hits.py [--held-hits H] [--hits N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from etl.crowd.local_server import LocalTurkServer, local_turk
from etl.crowd.mturk import MTurkPlatform, target_for
from etl.crowd.platform import seed_qualifications
from etl.hits.manage import batch_progress, expire_batch, extend_batch, plan_extension
from etl.hits.plan import HitDesign, build_hits
from etl.hits.publish import publish_batch
from etl.hits.results import results_from_platform
from etl.warehouse import open_warehouse

PER_HIT = 12


def fill(warehouse: Path, *, held_hits: int, new_images: int) -> None:
    """H published HITs of 12 images each, with platform-like random ids, and N x 12 images with no HIT."""
    with open_warehouse(warehouse, read_only=False) as con:
        con.execute(f"""
            INSERT INTO raw.hits (hit_id, batch_id, max_assignments, n_slots, status, reward, load_id)
            SELECT '3' || upper(substr(md5(i::VARCHAR), 1, 29)), 'old', 3, {PER_HIT}, 'published', 0.01, 1
            FROM range({held_hits}) t(i)""")
        con.execute(f"""
            INSERT INTO raw.hit_items
            SELECT '3' || upper(substr(md5(i::VARCHAR), 1, 29)), s, 'https://old.example/' || i || '/' || s || '.jpg', false
            FROM range({held_hits}) t(i), range(1, {PER_HIT + 1}) u(s)""")
        con.execute(f"""
            INSERT INTO raw.images (image_id, load_id)
            SELECT 'https://new.example/hindi/' || i || '/01.jpg', 1 FROM range({new_images}) t(i)""")


def timed(name: str, n_hits: int, call) -> None:
    started = time.perf_counter()
    call()
    seconds = time.perf_counter() - started
    print(f"{name:8} {seconds:7.2f} s  {seconds / n_hits * 1000:6.2f} ms per HIT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held-hits", type=int, default=345_000)
    parser.add_argument("--hits", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = Path(tmp) / "bench.duckdb"
        fill(warehouse, held_hits=args.held_hits, new_images=args.hits * PER_HIT)
        with LocalTurkServer(local_turk({}, seed=3)) as server, open_warehouse(warehouse, read_only=False) as con:
            batch = build_hits(con, HitDesign(per_hit=PER_HIT), seed=1,
                               variables_csv=Path(tmp) / "variables.csv")
            platform = MTurkPlatform(target_for(endpoint_url=server.url))
            print(f"{batch.n_hits:,} HITs on a warehouse already holding {args.held_hits:,}")
            timed("publish", batch.n_hits, lambda: publish_batch(
                con, platform, batch_id=batch.batch_id, budget=Decimal(10**6), qualifications=seed_qualifications()))
            timed("status", batch.n_hits, lambda: batch_progress(con, platform, batch.batch_id))
            timed("results", batch.n_hits, lambda: results_from_platform(con, platform, batch.batch_id))
            plan = plan_extension(con, batch.batch_id, extra=1, from_needs_more_votes=False)
            timed("extend", batch.n_hits, lambda: extend_batch(con, platform, plan, budget=Decimal(10**6)))
            timed("expire", batch.n_hits, lambda: expire_batch(con, platform, batch.batch_id))


if __name__ == "__main__":
    main()
