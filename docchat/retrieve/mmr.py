"""Maximal marginal relevance: trade a little relevance for less repetition among hits.

Useful where a collection holds near-duplicate passages (versions of one file, overlapping
chunks); off by default (lambda = 1 is plain relevance order).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def mmr(
    ranked: Sequence[tuple[int, float]], vectors: dict[int, np.ndarray], k: int, lam: float
) -> list[tuple[int, float]]:
    """Re-order `ranked` (id, relevance) greedily by lam·rel − (1−lam)·max cos to those picked.

    Relevance is min-max scaled first so it is on the same 0..1 footing as cosine. Ids with
    no vector keep their relevance and are never penalised.
    """
    if lam >= 1.0 or len(ranked) <= 1:
        return list(ranked[:k])
    scores = np.array([s for _, s in ranked], dtype=np.float64)
    span = scores.max() - scores.min()
    rel = (scores - scores.min()) / span if span > 0 else np.ones_like(scores)
    dim = next((len(v) for v in vectors.values()), 0)
    mat = np.stack([vectors.get(cid, np.zeros(dim, np.float32)) for cid, _ in ranked])
    picked: list[int] = []
    best_sim = np.zeros(len(ranked))
    left = list(range(len(ranked)))
    while left and len(picked) < k:
        gains = [lam * rel[i] - (1 - lam) * best_sim[i] for i in left]
        i = left.pop(int(np.argmax(gains)))
        picked.append(i)
        best_sim = np.maximum(best_sim, mat @ mat[i])
    return [ranked[i] for i in picked]
