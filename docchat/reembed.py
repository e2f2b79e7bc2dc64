"""Switch a collection to another embedding model: re-embed every stored chunk text."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np

from docchat.config import Settings
from docchat.embed.base import Embedder
from docchat.store.collection import Collection


def reembed(coll: Collection, embedder: Embedder, settings: Settings) -> Iterator[tuple[int, int]]:
    """Replace all embeddings in one transaction, then rebuild FAISS and record the model.

    The old vectors stay in place until the new ones are all made, so stopping half way
    leaves the collection exactly as it was.
    """
    rows = coll.embedded_texts()
    total, batch = len(rows), settings.embed.batch_size
    new: list[tuple[str, np.ndarray]] = []
    for i in range(0, total, batch):
        part = rows[i : i + batch]
        vecs = embedder.embed([t for _, t in part], batch)
        new.extend((h, v) for (h, _), v in zip(part, vecs, strict=True))
        yield min(i + batch, total), total
    coll.replace_embeddings(new)
    coll.set_meta(
        model=embedder.name,
        dimension=embedder.dimension,
        fingerprint=embedder.fingerprint,
        last_indexed=time.time(),
    )
    coll.rebuild(settings.store.approximate_above)
