"""The FAISS side of a collection: an IndexIDMap2 keyed by chunk id, inner product on
normalised vectors (= cosine). Exact (flat) by default; IVF past a size measured in
benchmarks/ (store.approximate_above). Saved atomically: temp file, fsync, rename.
"""

from __future__ import annotations

import errno
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from docchat.errors import missing

IVF_NPROBE = 32  # recall@10 >= 0.987 from 100k vectors up (benchmarks/README.md)
SINGLE_THREAD_QUERIES = 4  # batches up to this size search on one thread


def _faiss() -> Any:
    try:
        import faiss
    except ImportError:
        raise missing("faiss-cpu", "vector search") from None
    return faiss


class VectorIndex:
    def __init__(self, dimension: int, index: Any = None) -> None:
        faiss = _faiss()
        self.dimension = dimension
        self.index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    # ------------------------------------------------------------ construction

    @classmethod
    def load(cls, path: Path, dimension: int) -> VectorIndex:
        from docchat.errors import CollectionError

        faiss = _faiss()
        repair = f"repair with: docchat collections rebuild {path.parent.name}"
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as e:  # FAISS's C++ errors: truncated, overwritten, not FAISS
            # ("Error in <function> at <file>:<line>: <what>": the what is for people)
            what = re.sub(r"(?s)^.*? at \S+:\d+: ", "", str(e)).strip().splitlines() or [""]
            raise CollectionError(
                f"vector file {path} is damaged ({what[0][:120] or 'unreadable'}); {repair}"
            ) from None
        if index.d != dimension:
            raise CollectionError(
                f"vector file {path} has dimension {index.d}, collection says {dimension}; {repair}"
            )
        _set_nprobe(index)
        return cls(dimension, index)

    @classmethod
    def build(
        cls, dimension: int, ids: np.ndarray, vectors: np.ndarray, approximate_above: int
    ) -> VectorIndex:
        """A fresh index holding exactly these vectors, exact or IVF by size."""
        faiss = _faiss()
        n = len(ids)
        if approximate_above and n > approximate_above:
            # sqrt(n) lists, k-means on 50 points per list, 10 iterations: a 1M-vector build
            # stays in tens of seconds on 2 cores (benchmarks/faiss_index.py measures it).
            # (Never more lists than k-means can train from the data: ~39 points per list.)
            nlist = _nlist_for(n)
            quantizer = faiss.IndexFlatIP(dimension)
            ivf = faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)
            ivf.cp.niter = 10
            rng = np.random.default_rng(0)
            sample = vectors[rng.choice(n, size=min(n, nlist * 50), replace=False)]
            ivf.train(np.ascontiguousarray(sample, dtype=np.float32))
            index = faiss.IndexIDMap2(ivf)
            _set_nprobe(index)
        else:
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        out = cls(dimension, index)
        out.add(ids, vectors)
        return out

    @property
    def approximate(self) -> bool:
        return "IVF" in type(_inner(self.index)).__name__

    @property
    def outgrown(self) -> bool:
        """An IVF index whose lists were sized for a much smaller collection: each probe now
        scans too many vectors, so the next checkpoint rebuilds it for the current size."""
        if not self.approximate:
            return False
        return _nlist_for(len(self)) >= 2 * int(_inner(self.index).nlist)

    # ------------------------------------------------------------ mutation

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32),
                np.ascontiguousarray(ids, dtype=np.int64),
            )

    def remove(self, ids: np.ndarray | list[int]) -> int:
        if len(ids) == 0:
            return 0
        return int(self.index.remove_ids(np.asarray(ids, dtype=np.int64)))

    # ------------------------------------------------------------ queries

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def ids(self) -> np.ndarray:
        faiss = _faiss()
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each of shape (len(queries), k); missing slots have id -1.

        `allowed` restricts the search to those ids (query filters) inside FAISS, so a
        filter never starves the result list the way filtering after the search would.
        """
        faiss = _faiss()
        k = max(1, min(k, len(self)))
        q = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dimension)
        params = None
        if allowed is not None:
            sel = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
            inner = _inner(self.index)
            if hasattr(inner, "nprobe"):
                # A narrow filter leaves few allowed vectors per list: probe wider.
                nprobe = min(inner.nlist, 4 * inner.nprobe)
                params = faiss.SearchParametersIVF(sel=sel, nprobe=nprobe)
            else:
                params = faiss.SearchParameters(sel=sel)
        # One query at a time runs on one OpenMP thread: on a busy 2-core machine a second
        # thread made a 100k flat search 7x slower (96 vs 14 ms, benchmarks/README.md).
        # omp_set_num_threads is per calling thread, so index builds elsewhere keep theirs.
        threads = faiss.omp_get_max_threads()
        if len(q) <= SINGLE_THREAD_QUERIES:
            faiss.omp_set_num_threads(1)
        try:
            return self.index.search(q, k, params=params)
        finally:
            faiss.omp_set_num_threads(threads)

    # ------------------------------------------------------------ persistence

    def save(self, path: Path) -> None:
        """Write atomically: a reader sees the old file or the new one, never half of one."""
        faiss = _faiss()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            try:
                faiss.write_index(self.index, str(tmp))
            except RuntimeError as e:  # FAISS reports a failed write (a full disk) this way
                raise _write_error(e, tmp) from None
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _nlist_for(n: int) -> int:
    """sqrt(n) lists (at least 64), never more than k-means can train (~39 points a list)."""
    return min(max(64, int(math.sqrt(n))), max(1, n // 39))


def _inner(index: Any) -> Any:
    faiss = _faiss()
    return faiss.downcast_index(index.index) if hasattr(index, "index") else index


def _set_nprobe(index: Any) -> None:
    inner = _inner(index)
    if hasattr(inner, "nprobe"):
        inner.nprobe = IVF_NPROBE


def _write_error(error: RuntimeError, path: Path) -> OSError:
    """A failed FAISS write as the OSError it was: the errno from FAISS's message when it
    names one (it quotes strerror), else EIO."""
    text = str(error)
    for code in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EACCES):
        if os.strerror(code) in text:
            return OSError(code, os.strerror(code), str(path))
    return OSError(errno.EIO, text.strip().splitlines()[-1] if text.strip() else "I/O error")
