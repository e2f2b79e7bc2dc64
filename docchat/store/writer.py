"""The one writer of a collection: the writer lock, the in-memory vector index and the
crash-safety protocol. Index runs, rebuilds and re-embedding all write through it.

Crash safety without a two-phase commit across two files: every chunk carries a `state`
(store/migrations.py). `put` commits a file's new chunks to SQLite as ADDED and turns its old
ones into tombstones (REMOVED), and updates the in-memory FAISS index; `checkpoint` saves the
FAISS file, then marks ADDED chunks LIVE and deletes tombstones. Whenever the process dies,
    live chunks  ⊆  FAISS ids  ⊆  all chunk ids
holds, queries hide tombstones, and the next writer replays the difference when it loads the
index (`_recover`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np

from docchat.errors import ModelMismatch, StoreWriteError
from docchat.store.collection import Collection
from docchat.store.layout import LOCK_FILE
from docchat.store.lock import WriterLock
from docchat.store.migrations import ADDED, LIVE, REMOVED
from docchat.store.sql import transaction
from docchat.store.vectors import VectorIndex
from docchat.types import ChunkSpan


@contextmanager
def writing(
    coll: Collection,
    *,
    model: str | None = None,
    approximate_above: int = 0,
    checkpoint_seconds: float = 0.0,
) -> Iterator[CollectionWriter]:
    """Hold the collection's writer lock (CollectionLocked names the holder) and yield its
    writer. `model`: refuse, before anything is loaded, a model the collection was not built
    with. A full disk or an I/O error inside becomes one StoreWriteError: the open
    transaction rolled back and the vector file is only ever replaced whole, so what is on
    disk is still consistent."""
    try:
        with WriterLock(coll.folder / LOCK_FILE, coll.name):
            if model is not None:
                _check_model(coll, model)
            yield CollectionWriter(coll, approximate_above, checkpoint_seconds)
    except (sqlite3.OperationalError, OSError) as e:
        raise StoreWriteError(
            f"cannot write collection '{coll.name}' in {coll.folder}: {e}; "
            "free some space (or fix the folder) and run the same command again"
        ) from None


def _check_model(coll: Collection, model: str) -> None:
    """Refuse to mix embedding models in one collection (a clear message, not a dim error)."""
    recorded = coll.meta("model")
    if recorded and recorded != model:
        raise ModelMismatch(
            f"collection '{coll.name}' was embedded with '{recorded}', not '{model}'; "
            f"to switch, re-embed it: docchat collections reembed {coll.name} --model {model}"
        )


class CollectionWriter:
    """Made by `writing(...)`; reads go through `collection`, every write through here."""

    def __init__(
        self, coll: Collection, approximate_above: int = 0, checkpoint_seconds: float = 0.0
    ) -> None:
        self.collection = coll
        self.approximate_above = approximate_above
        self.checkpoint_seconds = checkpoint_seconds
        self._index: VectorIndex | None = None
        self._last_checkpoint = time.monotonic()

    @property
    def _db(self) -> sqlite3.Connection:
        return self.collection.db

    # ------------------------------------------------------------ model

    def use_model(self, name: str, dimension: int, fingerprint: Callable[[], str]) -> None:
        """Record the embedding model of a new collection, then load (and recover) the
        vector index that its vectors go into."""
        if self.collection.meta("model") is None:
            now = time.time()
            self._set_meta(
                model=name,
                dimension=dimension,
                fingerprint=fingerprint(),
                created=now,
                last_indexed=now,
            )
        self._loaded()

    def _set_meta(self, **values: object) -> None:
        self._db.executemany(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            [(k, str(v)) for k, v in values.items()],
        )

    # ------------------------------------------------------------ documents

    def touch(self, doc_id: int, size: int, mtime_ns: int) -> None:
        """A file whose content did not change got a new size/mtime: remember them."""
        self._db.execute(
            "UPDATE documents SET size=?, mtime_ns=? WHERE id=?", (size, mtime_ns, doc_id)
        )

    def put(
        self,
        *,
        path: str,
        size: int,
        mtime_ns: int,
        content_hash: str,
        kind: str,
        title: str | None,
        pages: int | None,
        chunks: Sequence[tuple[ChunkSpan, str]],
        vectors: Mapping[str, np.ndarray],
    ) -> tuple[int, int]:
        """Swap a file's chunks, in one transaction and in the vector index; returns how many
        chunks were (added, removed).

        `chunks` pairs each span with its text hash; `vectors` holds the embeddings made for
        texts not stored yet (the others are already in the embeddings table)."""
        index = self._loaded()
        with transaction(self._db):
            old = self.collection.document(path)
            removed: list[int] = []
            if old:
                removed = self._tombstone(old.id)
                self._db.execute(
                    "UPDATE documents SET size=?, mtime_ns=?, content_hash=?, kind=?, title=?, "
                    "pages=?, indexed_at=? WHERE id=?",
                    (size, mtime_ns, content_hash, kind, title, pages, time.time(), old.id),
                )
                doc_id = old.id
            else:
                cur = self._db.execute(
                    "INSERT INTO documents(path, size, mtime_ns, content_hash, kind, title, "
                    "pages, indexed_at) VALUES (?,?,?,?,?,?,?,?)",
                    (path, size, mtime_ns, content_hash, kind, title, pages, time.time()),
                )
                doc_id = int(cur.lastrowid or 0)
            self._db.executemany(
                "INSERT OR IGNORE INTO embeddings(text_hash, vector) VALUES (?, ?)",
                [(h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in vectors.items()],
            )
            added: list[tuple[int, str]] = []
            for ordinal, (span, text_hash) in enumerate(chunks):
                cur = self._db.execute(
                    "INSERT INTO chunks(document_id, ordinal, state, text, text_hash, page, "
                    "line_start, line_end, char_start, char_end, heading) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        doc_id,
                        ordinal,
                        ADDED,
                        span.text,
                        text_hash,
                        span.page,
                        span.line_start,
                        span.line_end,
                        span.char_start,
                        span.char_end,
                        span.heading,
                    ),
                )
                added.append((int(cur.lastrowid or 0), text_hash))
        index.remove(removed)
        fresh = [(cid, h) for cid, h in added if h in vectors]
        if fresh:
            index.add(
                np.asarray([cid for cid, _ in fresh], dtype=np.int64),
                np.stack([np.asarray(vectors[h], dtype=np.float32) for _, h in fresh]),
            )
        # Texts embedded before (another file, an earlier run): their vectors are stored.
        index.add(*self.collection.vectors_for([cid for cid, h in added if h not in vectors]))
        return len(added), len(removed)

    def forget(self, path: str) -> int:
        """Forget a file; returns how many chunks it had."""
        index = self._loaded()
        with transaction(self._db):
            old = self.collection.document(path)
            if not old:
                return 0
            removed = self._tombstone(old.id)
            self._db.execute("DELETE FROM documents WHERE id=?", (old.id,))
        index.remove(removed)
        return len(removed)

    def _tombstone(self, doc_id: int) -> list[int]:
        ids = [
            r[0]
            for r in self._db.execute(
                "SELECT id FROM chunks WHERE document_id=? AND state!=?", (doc_id, REMOVED)
            )
        ]
        self._db.execute(
            "UPDATE chunks SET state=? WHERE document_id=? AND state!=?", (REMOVED, doc_id, REMOVED)
        )
        return ids

    # ------------------------------------------------------------ the vector index

    def _loaded(self) -> VectorIndex:
        if self._index is None:
            self._index = self._recover()
        return self._index

    def _recover(self) -> VectorIndex:
        """The saved index, with whatever a killed writer left half done replayed."""
        coll = self.collection
        dim = coll.dimension
        if dim is None:
            raise RuntimeError("use_model() first: the collection has no model yet")
        path = coll.vectors_path
        index = VectorIndex.load(path, dim) if path.exists() else VectorIndex(dim)
        pending = self._db.execute("SELECT count(*) FROM chunks WHERE state!=?", (LIVE,))
        in_faiss = set(index.ids().tolist())
        every = {r[0] for r in self._db.execute("SELECT id FROM chunks WHERE state!=?", (REMOVED,))}
        missing, extra = sorted(every - in_faiss), sorted(in_faiss - every)
        if pending.fetchone()[0] or missing or extra:
            index.remove(extra)
            index.add(*coll.vectors_for(missing))
            self._index = index
            self.checkpoint(force=True)
            return self._index
        return index

    def checkpoint(self, force: bool = False) -> None:
        """Save FAISS, then settle chunk states in SQLite (order matters; see module doc).
        Without `force`, only once `checkpoint_seconds` have passed since the last one."""
        due = time.monotonic() - self._last_checkpoint >= self.checkpoint_seconds
        index = self._index
        if index is None or not (force or due):
            return
        too_big = self.approximate_above and len(index) > self.approximate_above
        if too_big and (not index.approximate or index.outgrown):
            index = self._index = self._build(self.approximate_above)
        index.save(self.collection.vectors_path)
        with transaction(self._db):
            self._db.execute("UPDATE chunks SET state=? WHERE state=?", (LIVE, ADDED))
            self._db.execute("DELETE FROM chunks WHERE state=?", (REMOVED,))
            self._db.execute("UPDATE meta SET value=? WHERE key='last_indexed'", (time.time(),))
        self._last_checkpoint = time.monotonic()

    def finish(self) -> None:
        """The end of a run: a last checkpoint, then drop embeddings no chunk uses any more."""
        if self._index is None:
            return
        self.checkpoint(force=True)
        self._db.execute(
            "DELETE FROM embeddings WHERE text_hash NOT IN (SELECT text_hash FROM chunks)"
        )

    def _build(self, approximate_above: int) -> VectorIndex:
        ids = [r[0] for r in self._db.execute("SELECT id FROM chunks WHERE state!=?", (REMOVED,))]
        id_arr, vecs = self.collection.vectors_for(ids)
        return VectorIndex.build(self.collection.dimension or 0, id_arr, vecs, approximate_above)

    def rebuild(self) -> int:
        """Rewrite the FAISS file from SQLite alone; returns the vector count."""
        self._index = self._build(self.approximate_above)
        self.checkpoint(force=True)
        return len(self._index)

    # ------------------------------------------------------------ another model

    def replace_embeddings(
        self,
        vectors: Sequence[tuple[str, np.ndarray]],
        model: str,
        dimension: int,
        fingerprint: Callable[[], str],
    ) -> int:
        """Swap every stored embedding for these (one transaction), record the model they
        were made with and rebuild the vector index from them; returns the vector count."""
        with transaction(self._db):
            self._db.execute("DELETE FROM embeddings")
            self._db.executemany(
                "INSERT INTO embeddings(text_hash, vector) VALUES (?, ?)",
                [(h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in vectors],
            )
        self._set_meta(
            model=model, dimension=dimension, fingerprint=fingerprint(), last_indexed=time.time()
        )
        return self.rebuild()
