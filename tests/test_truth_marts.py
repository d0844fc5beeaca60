"""The truth marts on simulated crowds with known truth: labels, label_confidence, worker_quality,
needs_more_votes, and classifier_metrics' noise-corrected precision and recall."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import copy_of
from truth_simulation import write_and_build

from etl.truth.synthetic import SyntheticCrowd, simulate_crowd
from etl.warehouse import open_warehouse


def query(warehouse: Path, sql: str) -> pl.DataFrame:
    with open_warehouse(warehouse, read_only=True) as con:
        return con.sql(sql).pl()


def test_noise_corrected_precision_and_recall_intervals_hold_the_truth_in_90_percent_of_50_runs(tmp_path):
    covered = {"precision": 0, "recall": 0}
    raw_bias = []
    for seed in range(50):
        warehouse, audit = write_and_build(tmp_path / str(seed), SyntheticCrowd(n_images=3000, n_workers=200),
                                           seed=seed)
        row = query(warehouse, "SELECT * FROM classifier_metrics WHERE truth_source = 'labels' AND grouping = 'all'")
        not_gold = audit.truth.filter(~pl.col("is_gold"))
        true_precision = not_gold.filter("predicted")["truth"].mean()
        true_recall = not_gold.filter("truth")["predicted"].mean()
        covered["precision"] += row["precision_corrected_lo"][0] <= true_precision <= row["precision_corrected_hi"][0]
        covered["recall"] += row["recall_corrected_lo"][0] <= true_recall <= row["recall_corrected_hi"][0]
        raw_bias.append(true_precision - row["precision"][0])
    assert covered["precision"] >= 45
    assert covered["recall"] >= 45
    # the uncorrected figure is biased by label noise: that is what the correction is for
    assert np.mean(raw_bias) > 0.02


def test_label_posteriors_are_calibrated_in_bins_of_a_tenth(tmp_path):
    warehouse, audit = write_and_build(
        tmp_path, SyntheticCrowd(n_images=30_000, n_workers=2000, votes_per_image=3), seed=5, gold_share=0.05
    )
    confidence = query(warehouse, "SELECT image_id, label, posterior, method FROM label_confidence WHERE NOT is_gold")
    assert confidence["method"].unique().to_list() == ["dawid_skene"]
    bins = (
        confidence.join(audit.truth, on="image_id")
        .group_by((pl.col("posterior") * 10).floor().clip(0, 9).alias("bin"))
        .agg(pl.len().alias("images"), pl.col("posterior").mean(), (pl.col("label") == pl.col("truth")).mean()
             .alias("accuracy"))
        .filter(pl.col("images") >= 200)
    )
    assert bins.height >= 3
    assert (bins["accuracy"] - bins["posterior"]).abs().max() <= 0.05


def test_dawid_skene_labels_called_at_least_99_percent_sure_are_wrong_at_most_1_percent_of_the_time(tmp_path):
    # Maximum likelihood set a confusion entry to 0 or 1 for workers whose answers on one side were
    # all right, and their votes then counted as certain: labels with a posterior >= 0.99 (99.9% on
    # average) were wrong 2.8% of the time, and needs_more_votes never saw them.
    warehouse, audit = write_and_build(
        tmp_path, SyntheticCrowd(n_images=30_000, n_workers=2000, votes_per_image=3), seed=5, gold_share=0.05
    )
    confidence = query(warehouse, "SELECT image_id, label, posterior, method FROM label_confidence WHERE NOT is_gold")
    assert confidence["method"].unique().to_list() == ["dawid_skene"]
    scored = confidence.join(audit.truth, on="image_id").with_columns((pl.col("label") == pl.col("truth")).alias("right"))
    sure = scored.filter(pl.col("posterior") >= 0.99)
    assert sure.height >= 5000
    assert 1 - sure["right"].mean() <= 0.01
    assert abs(scored["posterior"].mean() - scored["right"].mean()) <= 0.01

def test_few_votes_per_worker_fall_back_to_gold_weighted_voting_and_say_so(tmp_path):
    warehouse, audit = write_and_build(
        tmp_path, SyntheticCrowd(n_images=1500, n_workers=900, votes_per_image=3), seed=8, gold_share=0.2
    )
    choice = query(warehouse, "SELECT method, reason, median_votes_per_worker FROM intermediate.int_truth_choice")
    assert choice["median_votes_per_worker"][0] < 10
    assert choice["method"][0] == "weighted_vote"
    assert "fallback" in choice["reason"][0] and "gold-weighted" in choice["reason"][0]
    median = choice["median_votes_per_worker"][0]
    said = str(int(median)) if median == int(median) else str(round(median, 1))
    assert f"median worker has only {said} votes, fewer than the 10 Dawid-Skene needs;" in choice["reason"][0]  # counts as people write them
    labels = query(warehouse, "SELECT * FROM labels")
    assert labels["method"].unique().to_list() == ["weighted_vote"]
    assert labels.height == audit.truth.height


def test_without_gold_and_few_votes_per_worker_labels_are_the_majority(tmp_path):
    warehouse, _ = write_and_build(
        tmp_path, SyntheticCrowd(n_images=600, n_workers=900, votes_per_image=3), seed=8, gold_share=0
    )
    labels = query(warehouse, "SELECT l.*, c.n_yes FROM labels AS l JOIN label_confidence AS c USING (image_id)")
    assert labels["method"].unique().to_list() == ["majority"]
    assert labels.select((pl.col("label") == (pl.col("n_yes") * 2 > pl.col("n_votes"))).all()).item()


def test_q_to_the_n_is_the_pooled_gold_error_rate_to_the_power_of_the_agreeing_votes(tmp_path):
    warehouse, _ = write_and_build(tmp_path, SyntheticCrowd(n_images=2000, n_workers=100), seed=2, gold_share=0.2)
    checked = query(
        warehouse,
        """
        SELECT c.n_votes, c.n_yes, c.all_agree_wrong_pooled, r.false_yes_rate, r.false_no_rate
        FROM label_confidence AS c CROSS JOIN intermediate.int_truth_gold_rates AS r
        """,
    )
    yes = checked.filter(pl.col("n_yes") == pl.col("n_votes"))
    no = checked.filter(pl.col("n_yes") == 0)
    split = checked.filter((pl.col("n_yes") > 0) & (pl.col("n_yes") < pl.col("n_votes")))
    assert yes.height and no.height and split.height
    assert np.allclose(yes["all_agree_wrong_pooled"], yes["false_yes_rate"] ** yes["n_votes"])
    assert np.allclose(no["all_agree_wrong_pooled"], no["false_no_rate"] ** no["n_votes"])
    assert split["all_agree_wrong_pooled"].is_null().all()


def test_worker_quality_measures_gold_accuracy_and_flags_careless_workers(tmp_path):
    warehouse, audit = write_and_build(tmp_path, SyntheticCrowd(n_images=3000, n_workers=100), seed=4,
                                       gold_share=0.3)
    quality = query(warehouse, "SELECT * FROM worker_quality")
    votes = pl.read_csv(tmp_path / "votes.csv").with_columns(pl.col("task").alias("image_id"))
    gold = votes.join(audit.truth.filter("is_gold"), on="image_id")
    expected = gold.group_by(pl.col("worker").cast(pl.String).alias("worker_id")).agg(
        pl.len().alias("answered"), (pl.col("label").cast(pl.Boolean) == pl.col("truth")).sum().alias("correct")
    )
    joined = quality.join(expected, on="worker_id")
    assert joined.height == 100
    assert (joined["gold_answered"] == joined["answered"]).all()
    assert (joined["gold_correct"] == joined["correct"]).all()
    assert (joined["gold_accuracy_lo"] <= joined["gold_accuracy"] + 1e-9).all()
    assert (joined["gold_accuracy"] <= joined["gold_accuracy_hi"] + 1e-9).all()
    low = joined.filter(pl.col("correct") / pl.col("answered") < 0.7)
    assert low.height and low["flag_low_gold_accuracy"].all() and low["flagged"].all()
    assert not joined.filter(pl.col("correct") / pl.col("answered") >= 0.7)["flag_low_gold_accuracy"].any()
    # Dawid-Skene's estimate of a spammer's confusion matrix is near chance: se + sp ~ 1
    assert quality.select(((pl.col("ds_sensitivity") + pl.col("ds_specificity")) < 1.2).sum()).item() > 0


def test_needs_more_votes_lists_unsure_images_with_extra_assignments_and_their_cost(tmp_path):
    warehouse, _ = write_and_build(
        tmp_path, SyntheticCrowd(n_images=1500, n_workers=900), seed=8, gold_share=0.2,
        settings_sql="UPDATE raw.truth_settings SET default_reward = 0.04, target_posterior = 0.95",
    )
    needs = query(
        warehouse,
        """
        SELECT n.*, r.sensitivity AS se, r.specificity AS sp
        FROM needs_more_votes AS n CROSS JOIN intermediate.int_truth_gold_rates AS r
        """,
    )
    unsure = query(warehouse, "SELECT count(*) AS n FROM label_confidence WHERE posterior < 0.95 AND NOT is_gold")
    assert needs.height == unsure["n"][0] > 0
    assert (needs["posterior"] < 0.95).all()
    se, sp = needs["se"].to_numpy(), needs["sp"].to_numpy()
    label = needs["label"].to_numpy()
    gain = np.where(label, se * np.log(se / (1 - sp)) + (1 - se) * np.log((1 - se) / sp),
                    sp * np.log(sp / (1 - se)) + (1 - sp) * np.log((1 - sp) / se))
    logit = np.log(needs["posterior"].to_numpy() / (1 - needs["posterior"].to_numpy()))
    extra = needs["extra_assignments"].to_numpy()
    target = np.log(0.95 / 0.05)
    # the fewest typical votes that lift the posterior to the target
    assert (logit + extra * gain >= target - 1e-9).all()
    assert ((extra == 1) | (logit + (extra - 1) * gain < target)).all()
    # $0.04 reward + MTurk's fee: 20% of it, but at least $0.01
    assert np.allclose(needs["fee_per_assignment"].cast(pl.Float64), 0.01)
    assert np.allclose(needs["cost"].cast(pl.Float64), extra * 0.05)
    # money stays exact: no column of the bill is a binary fraction
    assert all(needs.schema[c] == pl.Decimal for c in ("reward", "fee_per_assignment", "cost", "hit_cost")), needs.schema


def test_weighted_voting_fits_the_crowds_rates_when_gold_is_sparse_and_spammers_never_tick(tmp_path):
    # 30 gold images, spammers who (almost) never tick: the rates measured on gold alone are
    # noisy, and with seed 6 they once put the prior at 0.99 and labelled every image with three
    # "no"s "yes". Fitted to all the votes (EM, anchored by gold), they do not.
    for seed in (6, 0, 3):
        warehouse, audit = write_and_build(
            tmp_path / str(seed), SyntheticCrowd(n_images=300, n_workers=150, prevalence=0.75, careful_share=0.55,
                                                 sloppy_share=0.2, spammer_yes_rate=(0.0, 0.05)),
            seed=seed, gold_share=0.1, settings_sql="UPDATE raw.truth_settings SET method = 'weighted_vote'",
        )
        labels = query(warehouse, "SELECT l.image_id, l.label, v.n_yes, w.prior_yes FROM labels AS l "
                                  "JOIN vote_counts AS v USING (image_id) "
                                  "JOIN intermediate.int_truth_weighted_vote AS w USING (image_id)")
        scored = labels.join(audit.truth, on="image_id").filter(~pl.col("is_gold"))
        accuracy = scored.select((pl.col("label") == pl.col("truth")).mean()).item()
        majority_accuracy = scored.select(((pl.col("n_yes") >= 2) == pl.col("truth")).mean()).item()
        assert accuracy >= majority_accuracy + 0.05, seed
        assert abs(labels["prior_yes"][0] - scored["truth"].mean()) < 0.1, seed
        unanimous_no = scored.filter(pl.col("n_yes") == 0)
        assert unanimous_no["label"].mean() <= unanimous_no["truth"].mean(), seed


def test_a_warehouse_without_votes_says_so_instead_of_a_median_of_zero(run_cli, warehouse):
    run_cli("build")
    choice = query(warehouse, "SELECT method, reason FROM intermediate.int_truth_choice")
    assert choice.rows() == [("majority", "no votes yet: majority until there are some")]


def load_and_build(directory: Path, votes: pl.DataFrame, gold: pl.DataFrame) -> Path:
    from etl.load.gold import load_gold
    from etl.load.votes import load_votes
    from etl.models import build

    directory.mkdir(parents=True)
    votes.write_csv(directory / "votes.csv")
    gold.write_csv(directory / "gold.csv")
    warehouse = directory / "crowdaudit.duckdb"
    with open_warehouse(warehouse, read_only=False) as con:
        load_votes(con, directory / "votes.csv")
        load_gold(con, directory / "gold.csv")
        build(con)
    return warehouse


def test_held_out_gold_posteriors_do_not_depend_on_the_order_the_files_list_votes_and_gold(tmp_path):
    # The cross-fitting folds came from the order a join returned gold in: the same votes and gold
    # in another order moved held-out posteriors by up to 0.14, and with them the labels' measured
    # sensitivity and specificity that correct classifier_metrics.
    simulated = simulate_crowd(SyntheticCrowd(n_images=2000, n_workers=60), seed=3)
    votes = simulated.votes.with_columns(pl.format("https://x.example/{}.jpg", "task").alias("task"))
    gold = simulated.truth.with_columns(pl.format("https://x.example/{}.jpg", "task").alias("task")).gather_every(5)
    held_out = []
    shuffled = (votes.sample(fraction=1.0, shuffle=True, seed=1), gold.sample(fraction=1.0, shuffle=True, seed=2))
    for name, (these_votes, this_gold) in (("as_simulated", (votes, gold)), ("shuffled", shuffled)):
        warehouse = load_and_build(tmp_path / name, these_votes, this_gold)
        held_out.append(query(warehouse, "SELECT image_id, p_yes_held_out FROM intermediate.int_truth_dawid_skene "
                                         "WHERE p_yes_held_out IS NOT NULL"))
    both = held_out[0].join(held_out[1], on="image_id")
    assert both.height == gold.height
    assert (both["p_yes_held_out"] - both["p_yes_held_out_right"]).abs().max() < 1e-9


def test_a_dawid_skene_step_failing_in_duckdb_names_its_error_and_keeps_the_last_good_labels(
        demo_warehouse_template, tmp_path, monkeypatch):
    # Its cleanup ran in the aborted transaction and replaced the reason (out of memory, a full
    # disk) with "Current transaction is aborted".
    import dataclasses

    import etl.truth.model as truth_model
    from etl.models import BuildFailed, build

    warehouse = copy_of(demo_warehouse_template, tmp_path / "wh.duckdb")
    labels_before = query(warehouse, "SELECT * FROM labels ORDER BY image_id")
    fit = truth_model.fit_dawid_skene
    monkeypatch.setattr(truth_model, "fit_dawid_skene",
                        lambda *args, **kwargs: dataclasses.replace(fit(*args, **kwargs), prior="not a number"))
    with pytest.raises(BuildFailed, match="int_truth_dawid_skene.*Conversion Error") as failed, \
            open_warehouse(warehouse, read_only=False) as con:
        build(con)
    assert "transaction is aborted" not in str(failed.value)
    assert query(warehouse, "SELECT * FROM labels ORDER BY image_id").equals(labels_before)


def test_worker_confusion_rates_use_the_pseudo_count_the_labels_were_fitted_with(demo_warehouse_template, tmp_path,
                                                                                  monkeypatch):
    """int_truth_ds_workers repeats the fit's last M-step in SQL; with another PSEUDO_COUNT in the
    Python fit it must add that one, not a half written into the SQL."""
    import etl.truth.model
    from etl.models import build

    monkeypatch.setattr(etl.truth.model, "PSEUDO_COUNT", 2.0)
    warehouse = copy_of(demo_warehouse_template, tmp_path / "wh.duckdb")
    with open_warehouse(warehouse, read_only=False) as con:
        build(con)
    rates = query(warehouse, "SELECT worker_id, sensitivity, specificity FROM intermediate.int_truth_ds_workers")
    votes = query(warehouse, "SELECT v.worker_id, v.selected, d.p_yes FROM votes AS v "
                             "JOIN intermediate.int_truth_dawid_skene AS d USING (image_id)")
    expected = votes.group_by("worker_id").agg(
        ((pl.col("p_yes").filter("selected").sum() + 2.0) / (pl.col("p_yes").sum() + 4.0)).alias("sensitivity"),
        (((1 - pl.col("p_yes")).filter(~pl.col("selected")).sum() + 2.0) / ((1 - pl.col("p_yes")).sum() + 4.0))
        .alias("specificity"),
    )
    compared = rates.join(expected, on="worker_id", suffix="_expected")
    assert compared.height == rates.height > 10
    for column in ("sensitivity", "specificity"):
        assert (compared[column] - compared[f"{column}_expected"]).abs().max() < 1e-9
