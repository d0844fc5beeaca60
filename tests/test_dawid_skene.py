"""Dawid & Skene (1979) EM on simulated crowds with known truth."""

from __future__ import annotations

import itertools

import numpy as np

from etl.truth.dawid_skene import _softplus, dawid_skene, fit_dawid_skene, vote_matrices
from etl.truth.synthetic import SyntheticCrowd, simulate_crowd


def arrays(crowd: SyntheticCrowd, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    simulated = simulate_crowd(crowd, seed=seed)
    votes = simulated.votes
    return (
        votes["task"].to_numpy(),
        votes["worker"].to_numpy(),
        votes["label"].to_numpy().astype(bool),
        simulated.truth["truth"].to_numpy().astype(bool),
    )


def majority_accuracy(task: np.ndarray, selected: np.ndarray, truth: np.ndarray) -> float:
    votes = np.bincount(task, minlength=truth.size)
    yes = np.bincount(task, weights=selected, minlength=truth.size)
    return float(((yes * 2 > votes) == truth).mean())


def test_dawid_skene_beats_majority_by_1_5_points_at_3_votes_per_image_from_2000_workers():
    for seed in (1, 2, 3):
        task, worker, selected, truth = arrays(SyntheticCrowd(n_images=100_000, votes_per_image=3), seed)
        fit = dawid_skene(task, worker, selected)
        assert fit.converged
        ds_accuracy = float(((fit.p_yes > 0.5) == truth).mean())
        assert ds_accuracy >= majority_accuracy(task, selected, truth) + 0.015


def test_dawid_skene_recovers_each_workers_sensitivity_and_specificity():
    simulated = simulate_crowd(SyntheticCrowd(n_images=60_000, votes_per_image=5, n_workers=300), seed=7)
    votes = simulated.votes
    fit = dawid_skene(votes["task"].to_numpy(), votes["worker"].to_numpy(), votes["label"].to_numpy().astype(bool))
    true_sensitivity = simulated.workers["sensitivity"].to_numpy()
    true_specificity = simulated.workers["specificity"].to_numpy()
    assert np.abs(fit.sensitivity - true_sensitivity).mean() < 0.03
    assert np.abs(fit.specificity - true_specificity).mean() < 0.03
    assert abs(fit.prior - simulated.truth["truth"].mean()) < 0.01


def test_gold_images_are_clamped_to_their_answer_and_improve_the_rest():
    task, worker, selected, truth = arrays(SyntheticCrowd(n_images=20_000, n_workers=2000), 11)
    gold = np.arange(0, 20_000, 10)  # 10% gold
    fit_gold = dawid_skene(task, worker, selected, gold_task=gold, gold_truth=truth[gold])
    fit_plain = dawid_skene(task, worker, selected)
    assert np.array_equal(fit_gold.p_yes[gold], truth[gold].astype(float))
    rest = np.setdiff1d(np.arange(truth.size), gold)
    accuracy_gold = ((fit_gold.p_yes[rest] > 0.5) == truth[rest]).mean()
    accuracy_plain = ((fit_plain.p_yes[rest] > 0.5) == truth[rest]).mean()
    assert accuracy_gold >= accuracy_plain - 0.002
    # p_yes_votes leaves gold unclamped: what the votes alone say
    assert not np.array_equal(fit_gold.p_yes_votes[gold], fit_gold.p_yes[gold])


def test_em_never_lowers_the_log_likelihood_and_stops_at_the_tolerance():
    task, worker, selected, _ = arrays(SyntheticCrowd(n_images=5_000, n_workers=200), 5)
    likelihoods = [dawid_skene(task, worker, selected, max_iter=n, tol=0).log_likelihood for n in range(2, 12)]
    assert all(later >= earlier - 1e-6 for earlier, later in itertools.pairwise(likelihoods))
    fit = dawid_skene(task, worker, selected, tol=1e-6, max_iter=500)
    assert fit.converged and fit.iterations < 500


def test_no_votes_gives_an_empty_fit():
    fit = dawid_skene(np.array([], int), np.array([], int), np.array([], bool), n_tasks=0, n_workers=0)
    assert fit.p_yes.size == 0 and fit.converged


def test_posterior_is_the_e_step_of_the_returned_confusion_matrices_image_by_image():
    # The EM splits its products and element-wise steps over two threads; recomputing the last
    # E-step in one plain pass with np.bincount must give the same posterior for every image
    # (an odd number of images, so the two halves differ in size).
    task, worker, selected, _ = arrays(SyntheticCrowd(n_images=2_001, n_workers=60), 11)
    fit = dawid_skene(task, worker, selected, max_iter=7, tol=0)
    se, sp = fit.sensitivity[worker], fit.specificity[worker]
    vote_ratio = np.where(selected, np.log(se) - np.log1p(-sp), np.log1p(-se) - np.log(sp))
    logit = np.log(fit.prior) - np.log1p(-fit.prior) + np.bincount(task, weights=vote_ratio, minlength=2_001)
    np.testing.assert_allclose(fit.p_yes_votes, 1 / (1 + np.exp(-logit)), rtol=1e-9, atol=1e-12)


def test_fits_sharing_one_set_of_vote_matrices_equal_fits_each_made_from_the_votes():
    # The build's three fits (all gold, and each cross-fitting fold) share one set of matrices.
    task, worker, selected, truth = arrays(SyntheticCrowd(n_images=5_000, n_workers=200), 5)
    shared = vote_matrices(task.astype(np.int32), worker.astype(np.int32), selected)
    gold = np.arange(0, 5_000, 7)
    for chosen in (gold, gold[::2], gold[1::2], np.array([], dtype=np.int64)):
        alone = dawid_skene(task, worker, selected, gold_task=chosen, gold_truth=truth[chosen], pseudo_count=0.5)
        from_shared = fit_dawid_skene(shared, gold_task=chosen, gold_truth=truth[chosen], pseudo_count=0.5)
        assert from_shared.iterations == alone.iterations
        for field in ("p_yes", "p_yes_votes", "sensitivity", "specificity"):
            assert np.array_equal(getattr(from_shared, field), getattr(alone, field)), field


def test_softplus_is_numpys_logaddexp_of_zero_and_the_logit_even_at_the_extremes():
    logits = np.concatenate([np.linspace(-800, 800, 100_001), [0.0, -0.0, 1e-300, -1e-300, 710.0, -745.0, 1e308,
                                                                  -1e308]])
    np.testing.assert_allclose(_softplus(logits), np.logaddexp(0.0, logits), rtol=1e-15, atol=0)
    assert np.isfinite(_softplus(logits)).all()
