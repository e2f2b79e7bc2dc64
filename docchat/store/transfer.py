"""Filling a vector store from SQLite (rebuilds and migrations), resumably."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from docchat.store.collection import Collection
from docchat.store.vector_store import VectorStore


def fill(store: VectorStore, coll: Collection, batch: int = 10_000) -> Iterator[tuple[int, int]]:
    """Make `store` hold exactly the collection's visible chunks: delete what it holds
    beyond them, upsert what it lacks, `batch` rows at a time; yields (done, total).

    What the store already holds counts as done, so a fill that was stopped resumes where
    it was (an upsert by chunk id is idempotent anyway, so a half-sent batch is harmless)."""
    visible = coll.visible_ids()
    held = store.ids() if store.count() else np.zeros(0, dtype=np.int64)
    store.remove(np.setdiff1d(held, visible))
    missing = np.setdiff1d(visible, held)
    total = len(visible)
    done = total - len(missing)
    yield done, total
    for start in range(0, len(missing), batch):
        part = missing[start : start + batch]
        store.upsert(coll.vector_rows(part.tolist()))
        done += len(part)
        yield done, total
