"""Moving vectors between stores for rebuilds and migrations: filling one from SQLite
(resumably), dropping one the collection no longer uses. The writer decides when."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from docchat.errors import CollectionError, VectorStoreError
from docchat.store.collection import Collection
from docchat.store.vector_backends import open_store
from docchat.store.vector_store import VectorConfig, VectorStore


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


def drop_store(coll: Collection, config: VectorConfig, which: str) -> Iterator[str]:
    """Delete a store the collection no longer uses; if it cannot be reached, say so."""
    try:
        old = open_store(config, coll.open_request(coll.dimension or 0, fresh=True))
        try:
            old.drop()
        finally:
            old.close()
    except VectorStoreError as e:
        where = config.uri or "the collection folder"
        yield f"{which} vectors ({config.backend} {config.collection} at {where}) remain: {e}"
    except CollectionError:
        pass  # already gone


def same_destination(a: VectorConfig, b: VectorConfig) -> bool:
    """Whether both put vectors in the same kind of place with the same settings (an
    unfinished migration headed there resumes; a migration to there is a no-op)."""
    keys = ("backend", "uri", "index_type", "index_params", "search_params", "consistency")
    return all(getattr(a, k) == getattr(b, k) for k in keys)


def drop_outside_vectors(coll: Collection) -> list[str]:
    """Drop the Milvus collections (the current one, an unfinished migration's) that live
    outside the collection folder, before the folder is deleted (a Milvus Lite file inside
    it goes with it); returns a line for each that could not be reached."""
    notes: list[str] = []
    for config in (coll.vector_config(), coll.pending_vector_config()):
        if coll.dimension is None or config is None or config.backend == "faiss":
            continue
        if config.uri:
            notes.extend(drop_store(coll, config, "its"))
    return notes
