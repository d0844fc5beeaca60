"""Dawid-Skene speed: crowdaudit's vectorised EM vs crowd-kit's DawidSkene on the same votes.

1,000,000 votes (333,334 images x 3, from 2,000 simulated workers; the last image has 2 votes
dropped to make the million exact). Prints wall times and accuracies against the known truth.
Needs the bench extra: `pip install -e .[bench]` (crowd-kit, scikit-learn < 1.8).

    .venv/bin/python bench/truth.py [--skip-crowdkit]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl

from etl.truth.dawid_skene import dawid_skene
from etl.truth.synthetic import SyntheticCrowd, simulate_crowd

N_VOTES = 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-crowdkit", action="store_true")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    simulated = simulate_crowd(SyntheticCrowd(n_images=333_334, votes_per_image=3, n_workers=2000), seed=args.seed)
    votes = simulated.votes.head(N_VOTES)
    truth = simulated.truth["truth"].to_numpy().astype(bool)
    print(f"{votes.height:,} votes, {votes['task'].n_unique():,} images, {votes['worker'].n_unique():,} workers")

    task, worker = votes["task"].to_numpy(), votes["worker"].to_numpy()
    selected = votes["label"].to_numpy().astype(bool)
    n_votes = np.bincount(task, minlength=truth.size)
    n_yes = np.bincount(task, weights=selected, minlength=truth.size)
    print(f"majority vote       accuracy {((n_yes * 2 > n_votes) == truth).mean():.4f}")

    started = time.perf_counter()
    fit = dawid_skene(task, worker, selected)
    ours_seconds = time.perf_counter() - started
    ours = fit.p_yes > 0.5
    print(f"crowdaudit DS       {ours_seconds:6.2f} s  accuracy {(ours == truth).mean():.4f}  "
          f"({fit.iterations} iterations, converged={fit.converged})")
    if args.skip_crowdkit:
        return

    from crowdkit.aggregation import DawidSkene

    frame = votes.to_pandas()
    started = time.perf_counter()
    theirs_labels = DawidSkene(n_iter=100).fit_predict(frame)
    theirs_seconds = time.perf_counter() - started
    theirs = pl.DataFrame({"task": theirs_labels.index.to_numpy(), "label": theirs_labels.to_numpy()}).sort("task")
    theirs_accuracy = (theirs["label"].to_numpy().astype(bool) == truth[theirs["task"].to_numpy()]).mean()
    print(f"crowd-kit DS        {theirs_seconds:6.2f} s  accuracy {theirs_accuracy:.4f}")
    print(f"speed-up {theirs_seconds / ours_seconds:.1f}x; accuracy difference {(ours == truth).mean() - theirs_accuracy:+.4f}; "
          f"labels that differ {(ours[theirs['task'].to_numpy()] != theirs['label'].to_numpy().astype(bool)).mean():.4%}")


if __name__ == "__main__":
    main()
