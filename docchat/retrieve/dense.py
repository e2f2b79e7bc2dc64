"""Dense retrieval: the query's embedding against the collection's FAISS index."""

from __future__ import annotations

from docchat.embed.base import Embedder
from docchat.store.collection import Collection


def dense_search(coll: Collection, embedder: Embedder, query: str, k: int) -> list[tuple[int, float]]:
    """(chunk id, cosine) best first. Over-fetches a little: tombstones are dropped later."""
    index = coll.vectors()
    if len(index) == 0:
        return []
    scores, ids = index.search(embedder.embed_query(query)[None, :], k)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
