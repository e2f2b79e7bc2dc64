"""Exact (flat) vs approximate (IVF) FAISS index on synthetic 384-d vectors.

Vectors are drawn around random cluster centres (real embeddings are clustered; uniform noise
would be the IVF worst case) and L2-normalised. For each size: build seconds, memory (the
serialised index), p50 / p95 ms of one query at a time (as docchat searches), and the IVF's
recall@10 against the exact answer. Built through docchat's own VectorIndex.build.

    python benchmarks/faiss_index.py --sizes 100000 1000000
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from docchat.store import vectors as vec
from docchat.store.vectors import VectorIndex

DIM = 384


def synthetic(n: int, rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        pick = centres[rng.integers(0, len(centres), m)]
        x = pick + rng.normal(0, 0.6 / np.sqrt(DIM), (m, DIM)).astype(np.float32)
        out[start : start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def timed_queries(
    index: VectorIndex, queries: np.ndarray, k: int = 10
) -> tuple[list[float], np.ndarray]:
    times: list[float] = []
    found = []
    for q in queries:
        t0 = time.perf_counter()
        _, ids = index.search(q[None, :], k)
        times.append((time.perf_counter() - t0) * 1000)
        found.append(ids[0])
    return times, np.array(found)


def size_mb(index: VectorIndex) -> float:
    import faiss

    return len(faiss.serialize_index(index.index)) / 1e6


def row(n: int, label: str, build: float, mb: float, p50: float, p95: float, r: float) -> None:
    print(f"{n:>9} {label:<16} {build:>8.1f} {mb:>7.0f} {p50:>7.2f} {p95:>7.2f} {r:>6.3f}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--nprobe", type=int, nargs="+", default=[8, 16, 32])
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4096, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    print(
        f"{'n':>9} {'index':<16} {'build s':>8} {'MB':>7} {'p50 ms':>7} {'p95 ms':>7} {'R@10':>6}"
    )
    for n in args.sizes:
        data = synthetic(n, rng, centres)
        queries = synthetic(args.queries, rng, centres)
        ids = np.arange(n, dtype=np.int64)
        t0 = time.perf_counter()
        exact = VectorIndex.build(DIM, ids, data, approximate_above=0)
        build = time.perf_counter() - t0
        times, truth = timed_queries(exact, queries)
        p50, p95 = statistics.median(times), statistics.quantiles(times, n=20)[18]
        row(n, "flat (exact)", build, size_mb(exact), p50, p95, 1.0)
        del exact
        t0 = time.perf_counter()
        approx = VectorIndex.build(DIM, ids, data, approximate_above=1)
        build = time.perf_counter() - t0
        inner = vec._inner(approx.index)
        for nprobe in args.nprobe:
            inner.nprobe = nprobe
            times, found = timed_queries(approx, queries)
            recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
            p50, p95 = statistics.median(times), statistics.quantiles(times, n=20)[18]
            label = f"ivf{inner.nlist} np{nprobe}"
            row(n, label, build, size_mb(approx), p50, p95, float(recall))
        del approx, data
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
