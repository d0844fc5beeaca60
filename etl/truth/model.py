"""Dawid-Skene as a build step: `intermediate.int_truth_dawid_skene`, one row per voted image.

Votes come from the `votes` mart (MTurk assignments and long-format votes alike) and known
answers from raw gold; DuckDB codes images and workers as integers so the EM in
`etl.truth.dawid_skene` runs on plain arrays, and the result goes back as a table.
"""

from __future__ import annotations

import duckdb
import polars as pl

from etl.models import PythonModel, register_python_model
from etl.truth.dawid_skene import dawid_skene

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
    fit = dawid_skene(
        coded["task"].to_numpy(),
        coded["worker"].to_numpy(),
        coded["selected"].to_numpy(),
        n_tasks=images.height,
        n_workers=int(coded["worker"].max()) + 1 if coded.height else 0,
        gold_task=gold["task"].to_numpy(),
        gold_truth=gold["truth"].to_numpy(),
    )
    dawid_skene_result = images.with_columns(  # noqa: F841  (read by DuckDB below)
        pl.Series("p_yes", fit.p_yes, dtype=pl.Float64),
        pl.Series("p_yes_votes", fit.p_yes_votes, dtype=pl.Float64),
        pl.lit(fit.prior, dtype=pl.Float64).alias("prior"),
        pl.lit(fit.iterations, dtype=pl.Int32).alias("iterations"),
        pl.lit(fit.converged).alias("converged"),
    ).drop("task")
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {RELATION} AS
        SELECT image_id::VARCHAR AS image_id, p_yes, p_yes_votes, prior, iterations, converged
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
