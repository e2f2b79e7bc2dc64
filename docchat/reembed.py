"""Switch a collection to another embedding model: re-embed every stored chunk text."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from docchat.config import Settings
from docchat.embed.base import Embedder
from docchat.store.writer import CollectionWriter


def reembed(
    writer: CollectionWriter, embedder: Embedder, settings: Settings
) -> Iterator[tuple[int, int]]:
    """Embed every stored text with `embedder`, yielding (done, total); then the writer swaps
    all embeddings in one transaction and rebuilds FAISS.

    The old vectors stay in place until the new ones are all made, so stopping half way
    leaves the collection exactly as it was.
    """
    rows = writer.collection.embedded_texts()
    total, batch = len(rows), settings.embed.batch_size
    new: list[tuple[str, np.ndarray]] = []
    for i in range(0, total, batch):
        part = rows[i : i + batch]
        vecs = embedder.embed([t for _, t in part], batch)
        new.extend((h, v) for (h, _), v in zip(part, vecs, strict=True))
        yield min(i + batch, total), total
    writer.replace_embeddings(
        new, embedder.name, embedder.dimension, embedder.fingerprint, embedder.precision
    )
