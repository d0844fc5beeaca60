"""Dawid-Skene truth inference for yes/no votes, as a vectorised EM over integer-coded votes.

A. P. Dawid and A. M. Skene, "Maximum Likelihood Estimation of Observer Error-Rates Using the EM
Algorithm", Journal of the Royal Statistical Society, Series C (Applied Statistics) 28(1), 1979,
pp. 20-28. https://doi.org/10.2307/2346806

Model: each image has a hidden true label z (yes with prior probability pi); worker w answers
yes to a true yes with probability se_w (sensitivity) and no to a true no with probability sp_w
(specificity): the 2x2 confusion matrix of the paper, one per worker, answers independent given z.
EM alternates
  E-step  logit P(z_i = yes | votes) = logit(pi) + sum over i's votes of the vote's log-likelihood ratio,
          log(se_w / (1 - sp_w)) for a yes and log((1 - se_w) / sp_w) for a no;
  M-step  se_w, sp_w = the posterior-weighted share of w's answers that are right, pi = mean posterior.
It starts from the soft majority (each image's share of yes votes), as the paper suggests, and
images with a known answer (gold) are clamped to it in every E-step, so gold informs the
confusion matrices directly. It stops when the observed-data log-likelihood per vote changes by
less than `tol`, or after `max_iter` iterations.

Every step is a sparse matrix-vector product over the votes (images x workers, one matrix for
the yes votes and one for the no votes, and their transposes): no Python loop over votes, images
or workers. scipy's CSR products run three times faster than gathers plus `np.bincount` over the
vote arrays, which is what twelve million votes (a million assignments of 12 images) need.
Neither scipy's products nor numpy's element-wise functions use a second core, but both release
the GIL: the yes and no products run in two threads, and the per-image sigmoid and log-likelihood
in two halves (12M votes: 0.24 s per iteration -> 0.13 s on two cores). Each result is computed
exactly as in one thread; only the log-likelihood's sum is added in two parts.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import sparse

# Confusion-matrix entries are kept inside [EPS, 1 - EPS] so a perfect worker's log-ratio stays finite.
EPS = 1e-10


@dataclass(frozen=True)
class DawidSkeneFit:
    """The fitted model. Arrays are indexed by the integer codes passed in."""

    p_yes: np.ndarray  # per image: P(true label = yes | votes), gold clamped to its answer
    p_yes_votes: np.ndarray  # per image: the same from the votes alone (gold not clamped)
    sensitivity: np.ndarray  # per worker: P(yes | truly yes)
    specificity: np.ndarray  # per worker: P(no | truly no)
    prior: float  # P(truly yes)
    iterations: int
    converged: bool
    log_likelihood: float


def _sigmoid(logit: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * logit))


def _softplus(logit: np.ndarray) -> np.ndarray:
    """log(1 + e^logit), without overflow, as max(logit, 0) + log(1 + e^-|logit|): within 3 ulp of
    np.logaddexp(0, logit) (it only feeds the stopping rule) in less than half its time (30 vs 69 ms
    for 4M images), computed in its one result array."""
    result = np.abs(logit)
    np.negative(result, out=result)
    np.exp(result, out=result)
    np.log1p(result, out=result)
    result += np.maximum(logit, 0.0)
    return result


def _votes_matrix(rows: np.ndarray, columns: np.ndarray, n_rows: int, n_columns: int) -> sparse.csr_array:
    """A 0/1 CSR matrix with a one per (row, column) pair (a pair given twice counts twice).

    32-bit indices when they fit: half the memory traffic of a product, which is what bounds it."""
    ones = np.ones(rows.size)
    index_type = np.int32 if max(n_rows, n_columns, rows.size) < np.iinfo(np.int32).max else np.int64
    return sparse.csr_array((ones, (rows.astype(index_type, copy=False), columns.astype(index_type, copy=False))),
                            shape=(n_rows, n_columns))


@dataclass(frozen=True)
class VoteMatrices:
    """The votes as two 0/1 matrices, images x workers, one for the yes votes and one for the no
    votes. Building them sorts every vote (0.45 s for 12M): fits that differ only in their gold
    (the cross-fitting's) share one."""

    yes_votes: sparse.csr_array
    no_votes: sparse.csr_array
    n_votes: int  # every vote, a worker's repeated vote on an image included (the stopping rule's scale)

    @property
    def n_tasks(self) -> int:
        return self.yes_votes.shape[0]

    @property
    def n_workers(self) -> int:
        return self.yes_votes.shape[1]


def vote_matrices(task: np.ndarray, worker: np.ndarray, selected: np.ndarray, *,
                  n_tasks: int | None = None, n_workers: int | None = None) -> VoteMatrices:
    """task, worker: integer codes (0..n-1) of each vote's image and worker; selected: the vote (bool)."""
    task, worker = _integer_codes(task), _integer_codes(worker)
    selected = np.asarray(selected, dtype=bool)
    n_tasks = (int(task.max()) + 1 if task.size else 0) if n_tasks is None else n_tasks
    n_workers = (int(worker.max()) + 1 if worker.size else 0) if n_workers is None else n_workers
    return VoteMatrices(
        yes_votes=_votes_matrix(task[selected], worker[selected], n_tasks, n_workers),
        no_votes=_votes_matrix(task[~selected], worker[~selected], n_tasks, n_workers),
        n_votes=task.size,
    )


def _integer_codes(codes: np.ndarray) -> np.ndarray:
    """The codes as they come when they are integers (DuckDB hands over int32: no 12M-row copy)."""
    codes = np.asarray(codes)
    return codes if np.issubdtype(codes.dtype, np.integer) else codes.astype(np.int64)


class _TwoCores:
    """Runs two independent numpy/scipy calls at once, or one element-wise call over two halves."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool

    def products(self, first: tuple[sparse.sparray, np.ndarray],
                 second: tuple[sparse.sparray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(matrix @ vector) for two (matrix, vector) pairs."""
        other = self.pool.submit(operator.matmul, *second)
        return operator.matmul(*first), other.result()

    def halves(self, function: Callable[[np.ndarray], np.ndarray], values: np.ndarray) -> np.ndarray:
        middle = values.size // 2
        other = self.pool.submit(function, values[middle:])
        return np.concatenate((function(values[:middle]), other.result()))

    def sum_halves(self, function: Callable[[np.ndarray], np.ndarray], values: np.ndarray) -> float:
        middle = values.size // 2
        other = self.pool.submit(lambda: function(values[middle:]).sum())
        return float(function(values[:middle]).sum() + other.result())


def dawid_skene(
    task: np.ndarray,
    worker: np.ndarray,
    selected: np.ndarray,
    *,
    n_tasks: int | None = None,
    n_workers: int | None = None,
    gold_task: np.ndarray | None = None,
    gold_truth: np.ndarray | None = None,
    tol: float = 1e-7,
    max_iter: int = 200,
    pseudo_count: float = 0.0,
) -> DawidSkeneFit:
    """Fit Dawid & Skene (1979)'s binary model by EM.

    task, worker: integer codes (0..n-1) of each vote's image and worker; selected: the vote (bool).
    gold_task, gold_truth: codes of images with a known answer and that answer (bool).
    tol: stop when the log-likelihood per vote improves by less than this.
    pseudo_count: added to both the right and the wrong answers of every worker in the M-step
        (a symmetric Beta prior on each confusion entry); 0 is the paper's maximum likelihood.
    """
    votes = vote_matrices(task, worker, selected, n_tasks=n_tasks, n_workers=n_workers)
    return fit_dawid_skene(votes, gold_task=gold_task, gold_truth=gold_truth, tol=tol, max_iter=max_iter,
                           pseudo_count=pseudo_count)


def fit_dawid_skene(
    votes: VoteMatrices,
    *,
    gold_task: np.ndarray | None = None,
    gold_truth: np.ndarray | None = None,
    tol: float = 1e-7,
    max_iter: int = 200,
    pseudo_count: float = 0.0,
) -> DawidSkeneFit:
    """`dawid_skene` on votes already in matrices."""
    n_tasks, n_workers = votes.n_tasks, votes.n_workers
    if votes.n_votes == 0:
        empty = np.full(n_tasks, np.nan)
        return DawidSkeneFit(empty, empty, np.full(n_workers, np.nan), np.full(n_workers, np.nan),
                             float("nan"), 0, True, 0.0)

    gold_task = np.asarray([] if gold_task is None else gold_task, dtype=np.int64)
    gold_truth = np.asarray([] if gold_truth is None else gold_truth, dtype=np.float64)

    # Counts are constant; each EM step is four matrix-vector products, two with the transposes.
    yes_per_task = votes.yes_votes.sum(axis=1)
    votes_per_task = yes_per_task + votes.no_votes.sum(axis=1)

    p_yes = np.divide(yes_per_task, votes_per_task, out=np.full(n_tasks, 0.5), where=votes_per_task > 0)
    p_yes[gold_task] = gold_truth

    with ThreadPoolExecutor(max_workers=1) as pool:
        return _em(_TwoCores(pool), votes.yes_votes, votes.no_votes, p_yes, gold_task, gold_truth,
                   n_votes=votes.n_votes, tol=tol, max_iter=max_iter, pseudo_count=pseudo_count)


def _em(
    cores: _TwoCores,
    yes_votes: sparse.csr_array,
    no_votes: sparse.csr_array,
    p_yes: np.ndarray,
    gold_task: np.ndarray,
    gold_truth: np.ndarray,
    *,
    n_votes: int,
    tol: float,
    max_iter: int,
    pseudo_count: float,
) -> DawidSkeneFit:
    """The EM iterations, apart so the helper thread lives exactly as long as they run.
    n_votes: every vote, a worker's repeated vote on an image included (the stopping rule's scale)."""
    n_tasks = p_yes.size
    yes_by_worker, no_by_worker = yes_votes.T, no_votes.T  # CSC views: no copies
    yes_per_worker, no_per_worker = yes_votes.sum(axis=0), no_votes.sum(axis=0)
    votes_per_worker = yes_per_worker + no_per_worker

    log_likelihood = -np.inf
    converged = False
    iterations = 0
    logit_votes = np.zeros(n_tasks)
    for iterations in range(1, max_iter + 1):
        # M-step: posterior-weighted right and wrong answers per worker.
        yes_mass_said_yes, yes_mass_said_no = cores.products((yes_by_worker, p_yes), (no_by_worker, p_yes))
        yes_mass = yes_mass_said_yes + yes_mass_said_no
        no_mass = votes_per_worker - yes_mass
        no_mass_said_yes = yes_per_worker - yes_mass_said_yes
        sensitivity = np.clip(
            (yes_mass_said_yes + pseudo_count) / (yes_mass + 2 * pseudo_count + EPS), EPS, 1 - EPS
        )
        specificity = np.clip(
            (no_mass - no_mass_said_yes + pseudo_count) / (no_mass + 2 * pseudo_count + EPS), EPS, 1 - EPS
        )
        prior = float(np.clip(p_yes.mean(), EPS, 1 - EPS))

        # E-step: each vote's log-likelihood ratio, summed per image.
        ratio_yes = np.log(sensitivity) - np.log1p(-specificity)
        ratio_no = np.log1p(-sensitivity) - np.log(specificity)
        from_yes, from_no = cores.products((yes_votes, ratio_yes), (no_votes, ratio_no))
        logit_votes = np.log(prior) - np.log1p(-prior) + from_yes + from_no
        p_yes = cores.halves(_sigmoid, logit_votes)
        p_yes[gold_task] = gold_truth

        # log P(votes) = sum_i log(pi P(votes_i | yes) + (1 - pi) P(votes_i | no)), via the no branch.
        log_no_branch = (
            n_tasks * np.log1p(-prior)
            + yes_per_worker @ np.log1p(-specificity)
            + no_per_worker @ np.log(specificity)
        )
        new_log_likelihood = float(log_no_branch + cores.sum_halves(_softplus, logit_votes))
        if abs(new_log_likelihood - log_likelihood) < tol * n_votes:
            log_likelihood = new_log_likelihood
            converged = True
            break
        log_likelihood = new_log_likelihood

    return DawidSkeneFit(
        p_yes=p_yes,
        p_yes_votes=_sigmoid(logit_votes),
        sensitivity=sensitivity,
        specificity=specificity,
        prior=prior,
        iterations=iterations,
        converged=converged,
        log_likelihood=log_likelihood,
    )
