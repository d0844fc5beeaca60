"""Dawid-Skene as a build step: `intermediate.int_truth_dawid_skene`, one row per voted image.

Votes come from the `votes` mart (MTurk assignments and long-format votes alike) and known
answers from raw gold; DuckDB codes images and workers as integers so the EM in
`etl.truth.dawid_skene` runs on plain arrays, and the result goes back as a table.

How right are the labels? Comparing a gold image's votes-alone posterior with its answer would
flatter the model: its answer, clamped, helped fit the confusion matrices of the very workers who
voted on it. So gold is cross-fitted: split in two folds (alternate gold images in image_id order,
so the same gold makes the same folds in every build), each fold's images are scored by a fit
that clamps only the other fold (`p_yes_held_out`), as if they were ordinary images.

How sure are they? The paper's maximum likelihood puts a confusion entry at 0 or 1 whenever a
worker's answers on one side were all right, and a vote of such a worker then counts as certain:
with 3 votes per image, labels it called at least 99% sure (on average 99.9%) were wrong 2.8% of
the time. Each entry therefore gets half a right and half a wrong answer (`PSEUDO_COUNT`, the
Jeffreys prior Beta(1/2, 1/2)), which made those posteriors as right as they claim on simulated
crowds of 600 to 30,000 images, at the same accuracy.
"""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl

from etl.load.transaction import staged
from etl.models import PythonModel, create_table_as, register_python_model
from etl.truth.dawid_skene import DawidSkeneFit, fit_dawid_skene, vote_matrices

RELATION = "intermediate.int_truth_dawid_skene"
# Added to each worker's right and wrong answers on each side. The fit's table carries it
# (pseudo_count), so int_truth_ds_workers.sql computes the confusion matrices with this value.
PSEUDO_COUNT = 0.5


def build_dawid_skene(con: duckdb.DuckDBPyConnection) -> None:
    """Fit Dawid & Skene (1979) on every vote in the warehouse; clamp gold images to their answer."""
    # Integer codes for images and workers, made by hash joins on the distinct keys (sorting
    # millions of URL strings for a dense_rank costs far more), fetched as plain numpy arrays.
    # vote_counts already holds each voted image once: numbering it skips a DISTINCT over every
    # vote (0.2 s instead of 0.9 s for 12M votes).
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE ds_images AS
        SELECT image_id, (row_number() OVER () - 1)::INTEGER AS task
        FROM main.vote_counts
        """
    )
    coded = con.execute(
        """
        WITH workers AS (
            SELECT worker_id, (row_number() OVER () - 1)::INTEGER AS worker
            FROM (SELECT DISTINCT worker_id FROM main.votes)
        )
        SELECT i.task, w.worker, v.selected
        FROM main.votes AS v
        JOIN ds_images AS i USING (image_id)
        JOIN workers AS w USING (worker_id)
        """
    ).fetchnumpy()
    # Gold and the result travel as integer task codes; the URLs never leave DuckDB. Gold comes
    # in image_id order: its position picks its cross-fitting fold, and a join's order (like the
    # task codes) changes from build to build, which moved held-out posteriors by up to 0.14.
    n_tasks = con.execute("SELECT count(*) FROM ds_images").fetchall()[0][0]
    gold = con.execute(
        "SELECT i.task, g.truth FROM ds_images AS i JOIN staging.stg_gold AS g USING (image_id) "
        "ORDER BY g.image_id"
    ).fetchnumpy()
    # One set of vote matrices for the three fits below, which differ only in the gold they clamp.
    votes = vote_matrices(coded["task"], coded["worker"], coded["selected"], n_tasks=n_tasks)
    del coded
    gold_task, gold_truth = gold["task"].astype(np.int64), np.asarray(gold["truth"], dtype=bool)

    def fit_clamping(chosen: np.ndarray) -> DawidSkeneFit:
        return fit_dawid_skene(votes, gold_task=gold_task[chosen], gold_truth=gold_truth[chosen],
                               pseudo_count=PSEUDO_COUNT)

    fit = fit_clamping(np.ones(gold_task.size, dtype=bool))
    p_yes_held_out = np.full(n_tasks, np.nan)
    fold = np.arange(gold_task.size) % 2
    if gold_task.size >= 2:
        for held in (0, 1):
            held_out = fold == held
            p_yes_held_out[gold_task[held_out]] = fit_clamping(~held_out).p_yes_votes[gold_task[held_out]]
    result = pl.DataFrame({
        "task": pl.int_range(n_tasks, dtype=pl.Int32, eager=True),
        "p_yes": pl.Series(fit.p_yes, dtype=pl.Float64),
        "p_yes_votes": pl.Series(fit.p_yes_votes, dtype=pl.Float64),
        "p_yes_held_out": pl.Series(p_yes_held_out, dtype=pl.Float64, nan_to_null=True),
    })
    # On a failure the build's rollback drops ds_images: dropping it here as well would fail in the
    # aborted transaction and put "transaction is aborted" in place of the reason (out of memory, disk full).
    with staged(con, dawid_skene_result=result):
        create_table_as(
            con,
            RELATION,
            """
            SELECT i.image_id::VARCHAR AS image_id, r.p_yes, r.p_yes_votes, r.p_yes_held_out,
                   ?::DOUBLE AS prior, ?::INTEGER AS iterations, ?::BOOLEAN AS converged,
                   ?::DOUBLE AS pseudo_count
            FROM ds_images AS i JOIN dawid_skene_result AS r USING (task)
            """,
            [fit.prior, fit.iterations, fit.converged, PSEUDO_COUNT],
        )
    con.execute("DROP TABLE ds_images")


register_python_model(
    PythonModel(
        name="int_truth_dawid_skene",
        relation=RELATION,
        depends_on=frozenset({"votes", "vote_counts", "stg_gold"}),
        build=build_dawid_skene,
    )
)
