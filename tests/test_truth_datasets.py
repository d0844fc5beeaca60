"""Truth inference on public MTurk-era label sets with ground truth (../shared/datasets).

The reference figures are the folder README's (crowd-kit 1.4.2 on the same files): the labels
crowdaudit infers must match or beat its Dawid-Skene accuracy, and its majority vote (ties to
no) must reproduce the README's majority accuracy.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from etl.cli import cli
from etl.warehouse import open_warehouse

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
# name: (label value meaning yes, README majority accuracy, README Dawid-Skene accuracy)
README_FIGURES = {
    "bluebirds": ("1", 0.759, 0.889),
    "temp": ("2", 0.939, 0.942),
}


def accuracy_by_method(warehouse: Path, name: str, positive: str, *, exclude: list[str] = ()) -> dict[str, float]:
    """Accuracy of `labels` and of every method's candidate labels against the truth file."""
    truth_csv = DATASETS / f"{name}_truth.csv"
    with open_warehouse(warehouse, read_only=True) as con:
        rows = con.execute(
            f"""
            WITH truth AS (
                SELECT task::VARCHAR AS image_id, truth::VARCHAR = ? AS truth
                FROM read_csv('{truth_csv}', all_varchar = true)
            ),
            scored AS (
                SELECT 'labels' AS method, l.image_id, l.label FROM main.labels AS l
                UNION ALL
                SELECT method, image_id, label FROM intermediate.int_truth_candidates
            )
            SELECT method, avg((s.label = t.truth)::INTEGER)
            FROM scored AS s
            JOIN truth AS t USING (image_id)
            WHERE NOT list_contains(?, image_id)
            GROUP BY method
            """,
            [positive, list(exclude)],
        ).fetchall()
    return dict(rows)


@pytest.mark.parametrize("name", sorted(README_FIGURES))
def test_labels_from_votes_alone_match_or_beat_the_readmes_dawid_skene_accuracy(run_cli, warehouse, name):
    positive, majority_figure, dawid_skene_figure = README_FIGURES[name]
    run_cli("load", "votes", str(DATASETS / f"{name}_votes.csv"), "--positive", positive)
    run_cli("build")
    accuracy = accuracy_by_method(warehouse, name, positive)
    assert accuracy["labels"] >= dawid_skene_figure - 0.002
    assert round(accuracy["majority"], 3) == majority_figure
    with open_warehouse(warehouse, read_only=True) as con:
        methods = con.sql("SELECT DISTINCT method FROM labels").fetchall()
        n_labels = con.sql("SELECT count(*) FROM labels").fetchall()[0][0]
    assert methods == [("dawid_skene",)]
    assert n_labels == pl.read_csv(DATASETS / f"{name}_truth.csv").height


def run_in(warehouse: Path, *args: str) -> None:
    result = CliRunner().invoke(cli, ["--warehouse", str(warehouse), "--silent", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", sorted(README_FIGURES))
def test_gold_on_a_fifth_of_tasks_keeps_the_other_tasks_labels_as_accurate(tmp_path, name):
    positive, _, dawid_skene_figure = README_FIGURES[name]
    truth = pl.read_csv(DATASETS / f"{name}_truth.csv", infer_schema=False)
    gold = truth.sample(fraction=0.2, seed=3)
    gold_csv = tmp_path / "gold.csv"
    # `load gold` takes true/false; this dataset's truth column uses the vote labels.
    gold.select("task", (pl.col("truth") == positive).alias("truth")).write_csv(gold_csv)
    accuracy = {}
    for with_gold in (False, True):
        warehouse = tmp_path / f"with_gold_{with_gold}.duckdb"
        run_in(warehouse, "load", "votes", str(DATASETS / f"{name}_votes.csv"), "--positive", positive)
        if with_gold:
            run_in(warehouse, "load", "gold", str(gold_csv))
        run_in(warehouse, "build")
        accuracy[with_gold] = accuracy_by_method(warehouse, name, positive, exclude=gold["task"].to_list())
    # one task in 300 may flip either way; gold must not make the rest worse than that
    assert accuracy[True]["labels"] >= accuracy[False]["labels"] - 0.003
    assert accuracy[True]["labels"] >= dawid_skene_figure - 0.03
    with open_warehouse(tmp_path / "with_gold_True.duckdb", read_only=True) as con:
        gold_labels_right = con.sql(
            "SELECT bool_and(l.label = g.truth) FROM labels AS l JOIN raw.gold AS g USING (image_id)"
        ).fetchall()[0][0]
    assert gold_labels_right


def test_fleiss_kappa_and_krippendorff_alpha_equal_the_reference_packages_on_both_datasets(run_cli, warehouse):
    import krippendorff
    from statsmodels.stats.inter_rater import fleiss_kappa

    for name, (positive, _, _) in README_FIGURES.items():
        votes = pl.read_csv(DATASETS / f"{name}_votes.csv", infer_schema=False).with_columns(
            (pl.col("label") == positive).cast(pl.Int8).alias("yes")
        )
        run_cli("load", "votes", str(DATASETS / f"{name}_votes.csv"), "--positive", positive)
        table = votes.group_by("task").agg(
            (pl.col("yes") == 0).sum().alias("no"), (pl.col("yes") == 1).sum().alias("yes")
        )
        expected_kappa = fleiss_kappa(table.select("no", "yes").to_numpy(), method="fleiss")
        reliability = votes.pivot(on="task", index="worker", values="yes").drop("worker").to_numpy()
        expected_alpha = krippendorff.alpha(
            reliability_data=reliability.astype(float), level_of_measurement="nominal"
        )
        run_cli("build")
        with open_warehouse(warehouse, read_only=True) as con:
            kappa, alpha = con.sql(
                "SELECT fleiss_kappa, krippendorff_alpha FROM agreement WHERE grouping = 'all'"
            ).fetchall()[0]
        assert kappa == pytest.approx(expected_kappa, abs=1e-6)
        assert alpha == pytest.approx(expected_alpha, abs=1e-6)
        warehouse.unlink()


def test_votes_and_task_gold_alone_pass_validation(run_cli, warehouse):
    """The README's bluebirds example: task ids are neither URLs nor registered images, and the
    warehouse's checks must not call that a fault."""
    run_cli("load", "votes", str(DATASETS / "bluebirds_votes.csv"))
    run_cli("load", "gold", str(DATASETS / "bluebirds_truth.csv"))
    run_cli("build")
    result = run_cli("validate")
    assert "0 failed" in result.output
