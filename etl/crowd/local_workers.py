"""The simulated workers behind `mturk-local`: they read a HIT's HTML, look at each slot's image,
and tick it as the foundation's crowd model says (`etl.simulate`: honest workers with their own
sensitivity and specificity, and spammers who tick at random or never).

A worker "sees" an image by its truth: a mapping image URL -> is it a wedding, from a truth file,
raw.gold, or the demo's generator. An image with no known truth looks like no wedding to honest
workers (they are shown something they cannot recognise as one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from etl.hits.template import slot_images
from etl.simulate import CrowdSpec, answer_probability, make_workers, stable_seed


@dataclass(frozen=True)
class SimulatedAnswer:
    worker_id: str
    selected: tuple[str, ...]  # slot names ticked, e.g. ("image2", "image7")
    work_seconds: int


class SimulatedCrowd:
    """Workers who answer HIT questions; deterministic for a seed, HIT and answer round."""

    def __init__(self, truth: Mapping[str, bool] | None = None, *, spec: CrowdSpec | None = None, seed: int = 0):
        self.truth = dict(truth or {})
        self.workers = make_workers(spec or CrowdSpec(), seed=seed)
        self.seed = seed
        self.worker_ids = self.workers["worker_id"].to_list()

    def answer(self, hit_id: str, question: str, count: int, *, exclude: Sequence[str] = ()) -> list[SimulatedAnswer]:
        """Up to `count` answers from distinct workers who have not answered this HIT yet."""
        slots = slot_images(question)
        allowed = np.array([w not in set(exclude) for w in self.worker_ids])
        count = min(count, int(allowed.sum()))
        if count <= 0 or not slots:
            return []
        rng = np.random.default_rng([self.seed, stable_seed(hit_id, len(exclude))])
        activity = self.workers["activity"].to_numpy() * allowed
        chosen = rng.choice(len(self.worker_ids), size=count, replace=False, p=activity / activity.sum())
        names = list(slots)
        truth = np.array([bool(self.truth.get(slots[name], False)) for name in names])
        worker_index = np.repeat(chosen, len(names))
        p = answer_probability(self.workers, worker_index, np.tile(truth, count)).reshape(count, len(names))
        ticked = rng.random(p.shape) < p
        seconds = self.workers["seconds_per_image"].to_numpy()[chosen] * len(names) * rng.lognormal(0, 0.3, count)
        return [
            SimulatedAnswer(self.worker_ids[w], tuple(n for n, t in zip(names, row, strict=True) if t),
                            max(5, round(float(s))))
            for w, row, s in zip(chosen, ticked, seconds, strict=True)
        ]
