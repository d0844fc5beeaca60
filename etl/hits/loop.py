"""The whole crowd loop on one machine, for `crowdaudit demo` and tests: plan a batch, publish it
through boto3 to an mturk-local server started in this process, let its simulated workers answer,
fetch the assignments back with ListAssignmentsForHIT, and write (optionally ingest) the results
file in the web site's format. Every step is the production code path; only the endpoint is local.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl

from etl.crowd.local_server import LocalTurkServer, local_turk
from etl.crowd.mturk import MTurkPlatform, target_for
from etl.crowd.platform import seed_qualifications
from etl.errors import CrowdauditError
from etl.hits.plan import HitDesign, build_hits
from etl.hits.publish import publish_batch
from etl.hits.results import results_from_platform
from etl.simulate import write_results_csv
from etl.warehouse import open_warehouse


@dataclass(frozen=True)
class LocalLoopResult:
    batch_id: str
    n_hits: int
    n_assignments: int
    price: Decimal
    results_csv: Path
    ingest_summary: str | None


def truth_mapping(truth: Mapping[str, bool] | pl.DataFrame) -> dict[str, bool]:
    """image URL -> truth, from a mapping or a frame with (image_id | url) and truth columns."""
    if isinstance(truth, pl.DataFrame):
        key = "image_id" if "image_id" in truth.columns else "url"
        return dict(zip(truth[key].to_list(), truth["truth"].cast(pl.Boolean).to_list(), strict=True))
    return dict(truth)


def run_local_loop(
    warehouse: Path,
    truth: Mapping[str, bool] | pl.DataFrame,
    results_csv: Path,
    *,
    design: HitDesign | None = None,
    where: str | None = None,
    seed: int = 0,
    budget: Decimal | None = None,
    ingest: bool = False,
    say: Callable[[str], None] = lambda _: None,
) -> LocalLoopResult:
    """build -> publish (boto3, local endpoint) -> simulated workers answer -> fetch -> results CSV.

    `truth` tells the simulated workers what each image shows (URL -> is it a wedding). The
    warehouse must already hold the images (and gold, to mix it in). With `ingest`, the results
    file is loaded with the foundation's `ingest_results`; `budget` defaults to the batch's price.
    """
    results_csv = Path(results_csv)
    turk = local_turk(truth_mapping(truth), seed=seed)
    with LocalTurkServer(turk) as server, open_warehouse(warehouse, read_only=False) as con:
        batch = build_hits(con, design or HitDesign(), where=where, seed=seed,
                           variables_csv=results_csv.with_name(results_csv.stem + ".variables.csv"))
        if batch is None:
            raise CrowdauditError("every image already has a HIT: nothing to publish")
        say(f"planned {batch.n_hits} HITs in {batch.batch_id} ({batch.gold_per_hit} gold per HIT)")
        platform = MTurkPlatform(target_for(endpoint_url=server.url))
        report = publish_batch(con, platform, batch_id=batch.batch_id,
                               budget=budget if budget is not None else batch.price.total,
                               qualifications=seed_qualifications())
        say(report.summary())
        results = results_from_platform(con, platform, batch.batch_id)
        write_results_csv(results, results_csv)
        n_assignments = results.height
        say(f"{n_assignments} assignments fetched from {server.url} into {results_csv}")
        summary = None
        if ingest:
            from etl.load.batch_results import ingest_results

            summary = ingest_results(con, results_csv).summary()
            say(summary)
    return LocalLoopResult(batch.batch_id, batch.n_hits, n_assignments, report.price.total, results_csv, summary)
