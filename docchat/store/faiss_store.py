"""The FAISS backend (the default): the whole index in memory, saved as one file in the
collection folder (store/vectors.py has the index itself)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from docchat.store.vector_store import (
    RowSource,
    VectorConfig,
    VectorFilter,
    VectorRows,
    VectorStore,
)
from docchat.store.vectors import VectorIndex


class FaissStore(VectorStore):
    ids_in_memory = True

    def __init__(
        self,
        config: VectorConfig,
        dimension: int,
        path: Path,
        *,
        approximate_above: int = 0,
        source: RowSource | None = None,
        fresh: bool = False,
    ) -> None:
        """`source` reads every visible chunk from SQLite, for the IVF rebuilds that
        `persist` does past `approximate_above`; `fresh`: start empty, ignoring the file."""
        super().__init__(config, dimension)
        self.path = path
        self.approximate_above = approximate_above
        self.source = source
        self._mtime = self._file_mtime()
        loaded = self._mtime is not None and not fresh
        self.index = VectorIndex.load(path, dimension) if loaded else VectorIndex(dimension)

    def _file_mtime(self) -> int | None:
        return self.path.stat().st_mtime_ns if self.path.exists() else None

    def upsert(self, rows: VectorRows) -> None:
        self.index.add(rows.ids, rows.vectors)

    def remove(self, ids: np.ndarray | list[int]) -> None:
        self.index.remove(ids)

    def search(
        self, queries: np.ndarray, k: int, where: VectorFilter | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        allowed = where.ids if where is not None else None
        if len(self.index) == 0 or (allowed is not None and len(allowed) == 0):
            n = len(np.asarray(queries).reshape(-1, self.dimension))
            return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
        return self.index.search(queries, k, allowed)

    def count(self) -> int:
        return len(self.index)

    def ids(self) -> np.ndarray:
        return self.index.ids()

    def persist(self) -> None:
        """Save the file atomically; past `approximate_above` vectors, first rebuild the
        index as IVF (or rebuild an IVF index that outgrew its lists) from SQLite."""
        index = self.index
        too_big = self.approximate_above and len(index) > self.approximate_above
        if too_big and self.source is not None and (not index.approximate or index.outgrown):
            rows = self.source()
            self.index = VectorIndex.build(
                self.dimension, rows.ids, rows.vectors, self.approximate_above
            )
        self.index.save(self.path)
        self._mtime = self._file_mtime()

    def drop(self) -> None:
        self.path.unlink(missing_ok=True)

    def stale(self) -> bool:
        return self._file_mtime() != self._mtime

    @property
    def approximate(self) -> bool:
        return self.index.approximate
