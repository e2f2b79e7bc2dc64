"""Switch a collection to another embedding model: re-embed every stored chunk text."""

from __future__ import annotations

import time
from collections.abc import Iterator

from docchat.config import Settings
from docchat.embed.base import Embedder
from docchat.store.collection import Collection


def reembed(coll: Collection, embedder: Embedder, settings: Settings) -> Iterator[tuple[int, int]]:
    """Replace all embeddings in one transaction, then rebuild FAISS and record the model.

    The old vectors stay in place until the new ones are all made, so stopping half way
    leaves the collection exactly as it was.
    """
    rows = coll.db.execute(
        "SELECT DISTINCT c.text_hash, c.text FROM chunks c WHERE c.state != 2"
    ).fetchall()
    total, batch = len(rows), settings.embed.batch_size
    new: list[tuple[str, bytes]] = []
    for i in range(0, total, batch):
        part = rows[i : i + batch]
        vecs = embedder.embed([t for _, t in part], batch)
        new.extend((h, v.tobytes()) for (h, _), v in zip(part, vecs, strict=True))
        yield min(i + batch, total), total
    with coll._lock:
        coll.db.execute("BEGIN IMMEDIATE")
        try:
            coll.db.execute("DELETE FROM embeddings")
            coll.db.executemany("INSERT INTO embeddings(text_hash, vector) VALUES (?, ?)", new)
            coll.db.execute("COMMIT")
        except BaseException:
            coll.db.execute("ROLLBACK")
            raise
        coll.set_meta(
            model=embedder.name,
            dimension=embedder.dimension,
            fingerprint=embedder.fingerprint,
            last_indexed=time.time(),
        )
        coll.rebuild(settings.store.approximate_above)
