"""Fusion math: RRF and normalised score fusion on hand-checked numbers."""

from __future__ import annotations

import math

import pytest

from docchat.retrieve.fusion import fuse, normalise, rrf, score_fusion
from docchat.retrieve.mmr import mmr

DENSE = [(1, 1.0), (2, 0.75), (3, 0.5)]
KEYWORD = [(3, 12.0), (4, 8.0), (1, 4.0)]


def test_rrf_weights_and_ranks() -> None:
    fused = rrf({"dense": DENSE, "keyword": KEYWORD}, {"dense": 0.6, "keyword": 0.4}, k=10)
    assert fused[1] == pytest.approx(0.6 / 11 + 0.4 / 13)
    assert fused[3] == pytest.approx(0.6 / 13 + 0.4 / 11)
    assert fused[4] == pytest.approx(0.4 / 12)


def test_minmax_normalise() -> None:
    assert normalise(DENSE, "minmax") == pytest.approx({1: 1.0, 2: 0.5, 3: 0.0})
    assert normalise([(7, 3.0)], "minmax") == {7: 1.0}
    assert normalise([], "minmax") == {}


def test_zscore_normalise() -> None:
    z = normalise([(1, 3.0), (2, 1.0)], "zscore")
    assert z == pytest.approx({1: 1.0, 2: -1.0})


def test_score_fusion_missing_gets_the_lists_floor() -> None:
    fused = score_fusion({"dense": DENSE, "keyword": KEYWORD}, {"dense": 0.5, "keyword": 0.5})
    # keyword minmax: 3 -> 1, 4 -> 0.5, 1 -> 0; dense: 1 -> 1, 2 -> 0.5, 3 -> 0
    assert fused[1] == pytest.approx(0.5 * 1.0 + 0.5 * 0.0)
    assert fused[2] == pytest.approx(0.5 * 0.5 + 0.5 * 0.0)  # absent from keyword: floor 0
    assert fused[4] == pytest.approx(0.5 * 0.0 + 0.5 * 0.5)


def test_fuse_orders_and_breaks_ties_by_id() -> None:
    out = fuse({"dense": DENSE, "keyword": KEYWORD}, "minmax", dense_weight=0.5)
    assert [cid for cid, _ in out] == [1, 3, 2, 4]  # 1 and 3 tie at 0.5: lower id first
    only_dense = fuse({"dense": DENSE, "keyword": KEYWORD}, "minmax", dense_weight=1.0)
    assert [cid for cid, _ in only_dense][:3] == [1, 2, 3]


def test_fuse_with_an_empty_list_keeps_the_other_order() -> None:
    for method in ("rrf", "minmax", "zscore"):
        out = fuse({"dense": DENSE, "keyword": []}, method)
        assert [cid for cid, _ in out] == [1, 2, 3]


def test_unknown_method() -> None:
    with pytest.raises(ValueError, match="unknown fusion"):
        fuse({"dense": DENSE}, "borda")


def test_mmr_demotes_a_near_duplicate() -> None:
    import numpy as np

    a = np.array([1.0, 0.0], dtype=np.float32)
    b = np.array([math.cos(0.01), math.sin(0.01)], dtype=np.float32)  # almost a
    c = np.array([0.0, 1.0], dtype=np.float32)
    ranked = [(1, 1.0), (2, 0.95), (3, 0.8)]
    vecs = {1: a, 2: b, 3: c}
    assert [cid for cid, _ in mmr(ranked, vecs, 3, 1.0)] == [1, 2, 3]
    assert [cid for cid, _ in mmr(ranked, vecs, 3, 0.5)] == [1, 3, 2]
