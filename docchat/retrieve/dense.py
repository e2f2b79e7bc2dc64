"""Dense retrieval: the query's embedding against the collection's FAISS index."""

from __future__ import annotations

import numpy as np

from docchat.store.collection import Collection


def dense_search(
    coll: Collection, query_vector: np.ndarray, k: int, allowed: np.ndarray | None = None
) -> list[tuple[int, float]]:
    """(chunk id, cosine) best first, restricted to `allowed` ids when given.

    The FAISS file can hold tombstoned chunks until the next checkpoint; the caller drops
    them when it fetches the texts (collection.chunks hides them).
    """
    index = coll.vectors()
    if len(index) == 0 or (allowed is not None and len(allowed) == 0):
        return []
    scores, ids = index.search(query_vector[None, :], k, allowed)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
