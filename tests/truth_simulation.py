"""Helpers for the truth tests: write a simulated crowd, gold and classifier predictions as the
files users load, and load them with the loaders `crowdaudit load votes/gold/predictions` use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from etl.load.gold import load_gold
from etl.load.predictions import load_predictions
from etl.load.votes import load_votes
from etl.models import build
from etl.truth.synthetic import SyntheticCrowd, simulate_crowd
from etl.warehouse import open_warehouse

URL = "https://img.example.org/{}.jpg"


@dataclass(frozen=True)
class AuditTruth:
    truth: pl.DataFrame  # image_id, truth, predicted, is_gold


def write_and_build(
    directory: Path,
    crowd: SyntheticCrowd,
    *,
    seed: int,
    gold_share: float = 0.1,
    classifier_recall: float = 0.8,
    classifier_false_positive_rate: float = 0.1,
    settings_sql: str | None = None,
) -> tuple[Path, AuditTruth]:
    """Simulate, write votes.csv/gold.csv/predictions.csv, load them into a new warehouse and build."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 1_000_003)
    simulated = simulate_crowd(crowd, seed=seed)
    votes = simulated.votes.with_columns(pl.format(URL, "task").alias("task"))
    truth = simulated.truth.with_columns(pl.format(URL, "task").alias("image_id"))
    is_true = truth["truth"].to_numpy().astype(bool)
    predicted = rng.random(truth.height) < np.where(is_true, classifier_recall, classifier_false_positive_rate)
    is_gold = rng.random(truth.height) < gold_share
    truth = truth.select(
        "image_id",
        pl.Series("truth", is_true),
        pl.Series("predicted", predicted),
        pl.Series("is_gold", is_gold),
    )
    votes.write_csv(directory / "votes.csv")
    truth.filter("is_gold").select("image_id", "truth").write_csv(directory / "gold.csv")
    truth.select(
        pl.col("image_id").alias("path"),
        pl.when("predicted").then(pl.lit("['groom', 'suit']")).otherwise(pl.lit("['cake']")).alias("predictions"),
        pl.col("predicted").alias("predictions_include_groom_or_bridegroom"),
    ).write_csv(directory / "predictions.csv")
    warehouse = directory / "crowdaudit.duckdb"
    with open_warehouse(warehouse, read_only=False) as con:
        load_votes(con, directory / "votes.csv")
        if gold_share > 0:
            load_gold(con, directory / "gold.csv")
        load_predictions(con, directory / "predictions.csv")
        if settings_sql:
            con.execute(settings_sql)
        build(con)
    return warehouse, AuditTruth(truth)
