"""Fusing the dense and keyword result lists into one ranking (pure functions).

Three methods, compared in benchmarks/README.md:
- "rrf": weighted reciprocal-rank fusion, w / (rrf_k + rank); uses ranks only.
- "minmax": each list's scores scaled to [0, 1] over its candidates, then a weighted sum.
- "zscore": each list's scores standardised (mean 0, sd 1), then a weighted sum.
A chunk missing from one list gets that list's lowest value: it ranked below the cutoff.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

Ranked = Sequence[tuple[int, float]]  # (chunk id, score), best first

METHODS = ("rrf", "minmax", "zscore")


def rrf(lists: Mapping[str, Ranked], weights: Mapping[str, float], k: int = 60) -> dict[int, float]:
    fused: dict[int, float] = {}
    for name, results in lists.items():
        w = weights.get(name, 1.0)
        for rank, (cid, _) in enumerate(results, start=1):
            fused[cid] = fused.get(cid, 0.0) + w / (k + rank)
    return fused


def normalise(results: Ranked, method: str) -> dict[int, float]:
    """Scores of one list mapped to a common scale; `method` is "minmax" or "zscore"."""
    if not results:
        return {}
    scores = [s for _, s in results]
    if method == "minmax":
        low, high = min(scores), max(scores)
        span = high - low
        return {cid: (s - low) / span if span > 0 else 1.0 for cid, s in results}
    mean = sum(scores) / len(scores)
    sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
    return {cid: (s - mean) / sd if sd > 0 else 0.0 for cid, s in results}


def score_fusion(
    lists: Mapping[str, Ranked], weights: Mapping[str, float], method: str = "minmax"
) -> dict[int, float]:
    normed = {name: normalise(results, method) for name, results in lists.items()}
    ids = {cid for scores in normed.values() for cid in scores}
    fused = dict.fromkeys(ids, 0.0)
    for name, scores in normed.items():
        if not scores:
            continue
        w = weights.get(name, 1.0)
        floor = min(scores.values())
        for cid in ids:
            fused[cid] += w * scores.get(cid, floor)
    return fused


def fuse(
    lists: Mapping[str, Ranked], method: str, dense_weight: float = 0.5, rrf_k: int = 60
) -> list[tuple[int, float]]:
    """One ranking, best first. `dense_weight` in [0, 1]; keyword gets the rest."""
    weights = {"dense": dense_weight, "keyword": 1.0 - dense_weight}
    if method == "rrf":
        fused = rrf(lists, weights, rrf_k)
    elif method in ("minmax", "zscore"):
        fused = score_fusion(lists, weights, method)
    else:
        raise ValueError(f"unknown fusion method {method!r} (known: {', '.join(METHODS)})")
    # Ties (common with RRF) break by chunk id so results are deterministic.
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))
