"""Dense retrieval: the query's embedding against the collection's vector store."""

from __future__ import annotations

import numpy as np

from docchat.store.collection import Collection
from docchat.types import Restriction


def dense_search(
    coll: Collection, query_vector: np.ndarray, k: int, where: Restriction | None = None
) -> list[tuple[int, float]]:
    """(chunk id, cosine) best first, restricted by `where` inside the vector store (so a
    filter never starves the top k).

    The store can hold tombstoned chunks until the writer's next checkpoint; the caller
    drops them when it fetches the texts (collection.chunks hides them).
    """
    return coll.dense_search(query_vector, k, where)
