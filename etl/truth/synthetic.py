"""Long-format yes/no votes from a simulated crowd with known truth, for tests and bench/truth.py.

Workers follow Dawid & Skene (1979)'s two-coin model: each has a sensitivity and a specificity.
A crowd mixes careful workers, sloppy ones and spammers (who answer yes at random, whatever
the image shows), the mix that makes majority vote lose to methods that weigh workers.
For MTurk-shaped batches (HITs, assignments, results CSVs) use `etl.simulate` instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl


@dataclass(frozen=True)
class SyntheticCrowd:
    n_images: int
    votes_per_image: int = 3
    n_workers: int = 2000
    prevalence: float = 0.3  # share of images whose true label is yes
    careful_share: float = 0.6  # sensitivity and specificity in [0.85, 0.98]
    sloppy_share: float = 0.25  # in [0.60, 0.85]; the rest are spammers
    spammer_yes_rate: tuple[float, float] = (0.2, 0.8)


@dataclass(frozen=True)
class SyntheticVotes:
    votes: pl.DataFrame  # task (Int64), worker (Int64), label (Int8, 1 = yes)
    truth: pl.DataFrame  # task, truth (Int8)
    workers: pl.DataFrame  # worker, sensitivity, specificity


def simulate_crowd(crowd: SyntheticCrowd, *, seed: int) -> SyntheticVotes:
    """Each image gets `votes_per_image` distinct workers drawn uniformly from the crowd."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(3, size=crowd.n_workers,
                      p=[crowd.careful_share, crowd.sloppy_share, 1 - crowd.careful_share - crowd.sloppy_share])
    low = np.array([0.85, 0.60, 0.0])[kind]
    high = np.array([0.98, 0.85, 0.0])[kind]
    sensitivity = rng.uniform(low, high)
    specificity = rng.uniform(low, high)
    spam_yes = rng.uniform(*crowd.spammer_yes_rate, size=crowd.n_workers)
    is_spammer = kind == 2
    sensitivity = np.where(is_spammer, spam_yes, sensitivity)
    specificity = np.where(is_spammer, 1 - spam_yes, specificity)

    truth = rng.random(crowd.n_images) < crowd.prevalence
    k = crowd.votes_per_image
    # k distinct workers per image: sorted draws from n - k + 1 values, spread by 0..k-1, then shuffled ids.
    draws = np.sort(rng.integers(0, crowd.n_workers - k + 1, size=(crowd.n_images, k)), axis=1) + np.arange(k)
    worker = rng.permutation(crowd.n_workers)[draws].ravel()
    task = np.repeat(np.arange(crowd.n_images), k)
    says_yes_prob = np.where(truth[task], sensitivity[worker], 1 - specificity[worker])
    label = rng.random(task.size) < says_yes_prob
    return SyntheticVotes(
        votes=pl.DataFrame({"task": task, "worker": worker, "label": label.astype(np.int8)}),
        truth=pl.DataFrame({"task": np.arange(crowd.n_images), "truth": truth.astype(np.int8)}),
        workers=pl.DataFrame({"worker": np.arange(crowd.n_workers), "sensitivity": sensitivity,
                              "specificity": specificity}),
    )
