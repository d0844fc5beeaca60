"""Dawid-Skene as a build step: `intermediate.int_truth_dawid_skene`, one row per voted image.

Votes come from the `votes` mart (MTurk assignments and long-format votes alike) and known
answers from raw gold; DuckDB codes images and workers as integers so the EM in
`etl.truth.dawid_skene` runs on plain arrays, and the result goes back as a table.

How right are the labels? Comparing a gold image's votes-alone posterior with its answer would
flatter the model: its answer, clamped, helped fit the confusion matrices of the very workers who
voted on it. So gold is cross-fitted: split in two folds, each fold's images are scored by a fit
that clamps only the other fold (`p_yes_held_out`), as if they were ordinary images.
"""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl

from etl.models import PythonModel, register_python_model
from etl.truth.dawid_skene import DawidSkeneFit, dawid_skene

RELATION = "intermediate.int_truth_dawid_skene"


def build_dawid_skene(con: duckdb.DuckDBPyConnection) -> None:
    """Fit Dawid & Skene (1979) on every vote in the warehouse; clamp gold images to their answer."""
    coded = con.sql(
        """
        SELECT
            (dense_rank() OVER (ORDER BY image_id) - 1)::INTEGER AS task,
            (dense_rank() OVER (ORDER BY worker_id) - 1)::INTEGER AS worker,
            selected,
            image_id
        FROM main.votes
        """
    ).pl()
    images = coded.select("task", "image_id").unique("task").sort("task")
    gold = images.join(
        con.sql("SELECT image_id, truth FROM staging.stg_gold").pl(), on="image_id", how="inner"
    )
    task, worker, selected = coded["task"].to_numpy(), coded["worker"].to_numpy(), coded["selected"].to_numpy()
    gold_task, gold_truth = gold["task"].to_numpy(), gold["truth"].to_numpy()
    n_workers = int(coded["worker"].max()) + 1 if coded.height else 0

    def fit_clamping(chosen: np.ndarray) -> DawidSkeneFit:
        return dawid_skene(task, worker, selected, n_tasks=images.height, n_workers=n_workers,
                           gold_task=gold_task[chosen], gold_truth=gold_truth[chosen])

    fit = fit_clamping(np.ones(gold_task.size, dtype=bool))
    p_yes_held_out = np.full(images.height, np.nan)
    fold = np.arange(gold_task.size) % 2
    if gold_task.size >= 2:
        for held in (0, 1):
            held_out = fold == held
            p_yes_held_out[gold_task[held_out]] = fit_clamping(~held_out).p_yes_votes[gold_task[held_out]]
    dawid_skene_result = images.with_columns(  # noqa: F841  (read by DuckDB below)
        pl.Series("p_yes", fit.p_yes, dtype=pl.Float64),
        pl.Series("p_yes_votes", fit.p_yes_votes, dtype=pl.Float64),
        pl.Series("p_yes_held_out", p_yes_held_out, dtype=pl.Float64, nan_to_null=True),
        pl.lit(fit.prior, dtype=pl.Float64).alias("prior"),
        pl.lit(fit.iterations, dtype=pl.Int32).alias("iterations"),
        pl.lit(fit.converged).alias("converged"),
    ).drop("task")
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {RELATION} AS
        SELECT image_id::VARCHAR AS image_id, p_yes, p_yes_votes, p_yes_held_out, prior, iterations, converged
        FROM dawid_skene_result
        """
    )


register_python_model(
    PythonModel(
        name="int_truth_dawid_skene",
        relation=RELATION,
        depends_on=frozenset({"votes", "stg_gold"}),
        build=build_dawid_skene,
    )
)
