"""The one writer of a collection: the writer lock, the vector store it writes and the
crash-safety protocol. Index runs, rebuilds, migrations and re-embedding all write through it.

Crash safety without a two-phase commit across SQLite and the vector store: every chunk
carries a `state` (store/migrations.py). `put` commits a file's new chunks to SQLite as ADDED
and turns its old ones into tombstones (REMOVED), then writes the vector store (FAISS in
memory; Milvus by idempotent upserts and deletes by chunk id); `checkpoint` persists the
store (saves the FAISS file; flushes Milvus Lite — a server has every acknowledged write in
its log already), then marks ADDED chunks LIVE and deletes tombstones. Whenever the process
dies,
    live chunks  ⊆  vector-store ids  ⊆  all chunk ids
holds, queries hide tombstones, and the next writer replays the difference when it opens the
store (`_recover`): for FAISS by comparing every id (they are in memory), for Milvus by
re-sending what is not settled (ADDED upserted, REMOVED deleted, both idempotent), so a
resume neither scans a large remote collection nor adds a duplicate.

Rebuilds and migrations fill a store at a fresh home (a new Milvus collection, a new FAISS
index) from SQLite, then switch to it in the same transaction that settles chunk states; a
migration records its target first, so a killed one resumes where it stopped.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager

import numpy as np

from docchat.embed.precision import family
from docchat.errors import CollectionError, ModelMismatch
from docchat.store.collection import Collection
from docchat.store.failures import write_error
from docchat.store.layout import LOCK_FILE
from docchat.store.lock import WriterLock
from docchat.store.migrations import ADDED, LIVE, REMOVED, UNSETTLED
from docchat.store.paths import to_db
from docchat.store.sql import transaction
from docchat.store.transfer import drop_store, fill, same_destination
from docchat.store.vector_backends import new_config, open_store
from docchat.store.vector_store import NO_PAGE, VectorConfig, VectorRows, VectorStore
from docchat.types import ChunkSpan, FileState


@contextmanager
def writing(
    coll: Collection,
    *,
    model: str | None = None,
    precision: str | None = None,
    backend: str | None = None,
    checkpoint_seconds: float = 0.0,
) -> Iterator[CollectionWriter]:
    """Hold the collection's writer lock (CollectionLocked names the holder) and yield its
    writer. `model` / `precision` / `backend`: refuse, before anything is loaded, a model,
    a precision of another family or a vector backend the collection was not built with.
    A full disk or an I/O error inside becomes one StoreWriteError: the open transaction
    rolled back and the vector file is only ever replaced whole, so what is on disk is
    still consistent."""
    if coll.read_only_because is not None:
        raise write_error(coll.name, coll.folder, coll.read_only_because)
    try:
        with WriterLock(coll.folder / LOCK_FILE, coll.name):
            if model is not None:
                _check_model(coll, model)
            if precision is not None:
                _check_precision(coll, precision)
            if backend is not None:
                _check_backend(coll, backend)
            writer = CollectionWriter(coll, checkpoint_seconds)
            try:
                yield writer
            finally:
                writer.close()
    except (sqlite3.OperationalError, OSError) as e:
        raise write_error(coll.name, coll.folder, e) from None


def _check_model(coll: Collection, model: str) -> None:
    """Refuse to mix embedding models in one collection (a clear message, not a dim error)."""
    recorded = coll.meta("model")
    if recorded and recorded != model:
        raise ModelMismatch(
            f"collection '{coll.name}' was embedded with '{recorded}', not '{model}'; "
            f"to switch, re-embed it: docchat collections reembed {coll.name} --model {model}"
        )


def _check_precision(coll: Collection, precision: str) -> None:
    """Vectors of another precision family (int8 vs fp32/bf16) are refused like another
    model: they do not rank alike (docchat/embed/precision.py)."""
    recorded = coll.meta("embed_precision")
    if recorded and family(recorded) != family(precision):
        model = coll.meta("model") or "MODEL"
        raise ModelMismatch(
            f"collection '{coll.name}' was embedded with {recorded} vectors, which "
            f'{precision} vectors do not match; keep embed.precision = "{recorded}" for it, '
            f"or re-embed it: DOCCHAT_EMBED_PRECISION={precision} docchat collections reembed "
            f"{coll.name} --model {model}"
        )


def _check_backend(coll: Collection, backend: str) -> None:
    """A backend asked for by name must be the one the collection keeps its vectors in."""
    if coll.meta("model") is None:
        return  # not created yet: it will get this backend
    recorded = coll.vector_config().backend
    if recorded != backend:
        raise CollectionError(
            f"collection '{coll.name}' keeps its vectors in {recorded}, not {backend}; "
            f"to move them: docchat collections migrate {coll.name} --to {backend}"
        )


class CollectionWriter:
    """Made by `writing(...)`; reads go through `collection`, every write through here."""

    def __init__(self, coll: Collection, checkpoint_seconds: float = 0.0) -> None:
        self.collection = coll
        self.checkpoint_seconds = checkpoint_seconds
        self._store: VectorStore | None = None
        self._last_checkpoint = time.monotonic()
        # Ledger rows of files that got no chunks (unchanged, skipped, failed, removed),
        # written in one transaction at the next checkpoint rather than one each.
        self._ledger: dict[str, tuple[object, ...]] = {}
        # A run that changed nothing saves nothing: the vector file is written (and readers
        # reload it) only when chunks came or went, and unused embeddings are looked for
        # only when a chunk was replaced or dropped (a full scan of the embeddings table).
        self._unsaved = False
        self._orphans = False
        self._in_use = False  # use_model() was called: this writer runs an index run

    @property
    def _db(self) -> sqlite3.Connection:
        return self.collection.db

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    # ------------------------------------------------------------ model

    def use_model(
        self,
        name: str,
        dimension: int,
        fingerprint: Callable[[], str] | None,
        precision: str = "fp32",
        reader: int | None = None,
    ) -> None:
        """Record the embedding model and precision of a new collection (and the vector store
        it gets from the settings, made first so that an unreachable one records nothing),
        and its fingerprint when given (an index run records it with its first vectors,
        `remember_fingerprint`, so that the model loads while the first file is parsed) and
        the version of docchat's reading its files get (`reader`, in the same transaction:
        a new collection never looks older than it is);
        for an existing one, open (and recover) its vector store now only if a killed
        writer left work half done or its FAISS file is gone — else when the first chunk
        comes or goes, so that a run with nothing to do never loads the vectors. A
        collection made before precisions were recorded gets this run's."""
        if self.collection.meta("model") is None:
            config = new_config(self.collection.store_settings)
            request = self.collection.open_request(dimension, create=True, fresh=True)
            self._store = open_store(config, request)
            now = time.time()
            self._set_meta(
                model=name,
                dimension=dimension,
                fingerprint=fingerprint() if fingerprint is not None else None,
                reader=reader,
                embed_precision=precision,
                created=now,
                last_indexed=now,
                **config.to_meta(),
            )
        elif self.collection.meta("embed_precision") is None:
            self._set_meta(embed_precision=precision)
        self._in_use = True
        unsettled = self._ids(ADDED) or self._ids(REMOVED)  # (an index of the unsettled: cheap)
        if unsettled or self.collection.vector_file_lost():  # (refilled from SQLite, as ever)
            self._loaded()

    def _set_meta(self, **values: object) -> None:
        """Set these metadata keys (a None value deletes the key), all at once: a kill
        never leaves some of them written (a new collection's model without its reader)."""
        if not self._db.in_transaction:
            with transaction(self._db):
                self._set_meta(**values)
            return
        self._db.executemany(
            "DELETE FROM meta WHERE key=?", [(k,) for k, v in values.items() if v is None]
        )
        values = {k: v for k, v in values.items() if v is not None}
        self._db.executemany(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            [(k, str(v)) for k, v in values.items()],
        )

    def remember_fingerprint(self, value: str) -> None:
        """The embedding model's fingerprint (Embedder.fingerprint), kept with the model's
        name in the collection's metadata."""
        self._set_meta(fingerprint=value)

    def remember_reader(self, version: int) -> None:
        """How docchat turned this collection's files into chunks (ingest.prepare.READER):
        the oldest version any of its files was read with."""
        self._set_meta(reader=version)

    def remember_reading(self, key: str) -> None:
        """How this collection's files were read (docchat.ingest.ocr.reading_key): the
        "nothing to index" verdicts in the ledger hold while it stays the same."""
        self._set_meta(reading=key)

    # ------------------------------------------------------------ the ledger

    def remember_folders(self, paths: Sequence[str]) -> None:
        """The folders (and files) an index run was given: `watch -c NAME` follows them."""
        now = time.time()
        with transaction(self._db):
            self._db.executemany(
                "INSERT OR IGNORE INTO folders(path, added_at) VALUES (?, ?)",
                [(to_db(p), now) for p in paths],
            )

    def record(
        self,
        path: str,
        state: FileState,
        reason: str | None = None,
        *,
        size: int | None = None,
        mtime_ns: int | None = None,
    ) -> None:
        """What a run did with a file that got no new chunks ("indexed" is recorded by
        `put`, with them). Kept until the next checkpoint."""
        self._ledger[path] = (to_db(path), state, reason, size, mtime_ns, time.time())

    def _write_ledger(self) -> None:
        if not self._ledger:
            return
        rows = list(self._ledger.values())
        with transaction(self._db):
            # An unchanged file keeps its chunks, pages, size and mtime; the others have none
            # now. The size and mtime of a file that failed or had nothing to index are what
            # `index` compares to keep that verdict; a file skipped unread (too large, no
            # read access...) gets none, so no verdict about its content outlives it.
            self._db.executemany(
                "INSERT INTO files(path, state, reason, size, mtime_ns, seen_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET "
                "state=excluded.state, reason=excluded.reason, "
                "size=CASE WHEN excluded.state='unchanged' THEN size ELSE excluded.size END, "
                "mtime_ns=CASE WHEN excluded.state='unchanged' THEN mtime_ns "
                "ELSE excluded.mtime_ns END, seen_at=excluded.seen_at, "
                "chunks=CASE WHEN excluded.state='unchanged' THEN chunks ELSE 0 END, "
                "pages=CASE WHEN excluded.state='unchanged' THEN pages ELSE NULL END, "
                "ocr=CASE WHEN excluded.state='unchanged' THEN ocr ELSE 0 END",
                rows,
            )
        self._ledger.clear()

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
        ocr_pages: AbstractSet[int | None] = frozenset(),
    ) -> tuple[int, int]:
        """Swap a file's chunks, in one transaction and in the vector store; returns how many
        chunks were (added, removed).

        `chunks` pairs each span with its text hash; `vectors` holds the embeddings made for
        texts not stored yet (the others are already in the embeddings table); the chunks
        of the pages in `ocr_pages` were read by OCR (the file's ledger row says so too)."""
        ocr = bool(ocr_pages)
        store = self._loaded()
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
                    (to_db(path), size, mtime_ns, content_hash, kind, title, pages, time.time()),
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
                    "line_start, line_end, char_start, char_end, heading, ocr) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
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
                        int(span.page in ocr_pages),
                    ),
                )
                added.append((int(cur.lastrowid or 0), text_hash))
            now = time.time()
            self._db.execute(
                "INSERT INTO files(path, state, reason, size, mtime_ns, pages, chunks, ocr, "
                "indexed_at, seen_at) VALUES (?, 'indexed', NULL, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(path) DO UPDATE SET state='indexed', reason=NULL, "
                "size=excluded.size, mtime_ns=excluded.mtime_ns, pages=excluded.pages, "
                "chunks=excluded.chunks, ocr=excluded.ocr, indexed_at=excluded.indexed_at, "
                "seen_at=excluded.seen_at",
                (to_db(path), size, mtime_ns, pages, len(added), int(ocr), now, now),
            )
            self._ledger.pop(path, None)
        self._unsaved = True
        self._orphans = self._orphans or bool(removed)
        store.remove(removed)
        fresh = [
            (cid, h, NO_PAGE if span.page is None else span.page)
            for (cid, h), (span, _) in zip(added, chunks, strict=True)
            if h in vectors
        ]
        if fresh:
            store.upsert(
                VectorRows(
                    np.asarray([cid for cid, _, _ in fresh], dtype=np.int64),
                    np.stack([np.asarray(vectors[h], dtype=np.float32) for _, h, _ in fresh]),
                    np.full(len(fresh), doc_id, dtype=np.int64),
                    np.asarray([page for _, _, page in fresh], dtype=np.int64),
                )
            )
        # Texts embedded before (another file, an earlier run): their vectors are stored.
        reused = [cid for cid, h in added if h not in vectors]
        if reused:
            store.upsert(self.collection.vector_rows(reused))
        return len(added), len(removed)

    def forget(self, path: str) -> int:
        """Forget a file; returns how many chunks it had."""
        old = self.collection.document(path)
        if not old:  # (the usual case for a skipped file: nothing to open the store for)
            return 0
        store = self._loaded()
        with transaction(self._db):
            removed = self._tombstone(old.id)
            self._db.execute("DELETE FROM documents WHERE id=?", (old.id,))
        self._unsaved = self._orphans = True
        store.remove(removed)
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

    # ------------------------------------------------------------ the vector store

    def _loaded(self) -> VectorStore:
        if self._store is None:
            self._store = self._recover()
        return self._store

    def _ids(self, state: int) -> list[int]:
        sql = f"SELECT id FROM chunks WHERE {UNSETTLED} AND state=?"
        return [r[0] for r in self._db.execute(sql, (state,))]

    def _recover(self) -> VectorStore:
        """The store, with whatever a killed writer left half done replayed."""
        coll = self.collection
        dim = coll.dimension
        if dim is None:
            raise RuntimeError("use_model() first: the collection has no model yet")
        store = open_store(coll.vector_config(), coll.open_request(dim))
        added, removed = self._ids(ADDED), self._ids(REMOVED)
        if store.ids_in_memory:
            stored = set(store.ids().tolist())
            every = set(coll.visible_ids().tolist())
            missing, extra = sorted(every - stored), sorted(stored - every)
        else:  # idempotent by chunk id: re-send what is not settled, nothing else
            missing, extra = added, removed
        if added or removed or missing or extra:
            # (a killed run may also have left embeddings that no chunk uses)
            self._unsaved = self._orphans = True
            store.remove(extra)
            store.upsert(coll.vector_rows(missing))
            self._store = store
            self.checkpoint(force=True)
        return store

    def checkpoint(self, force: bool = False) -> None:
        """Persist the vector store, then settle chunk states in SQLite (order matters; see
        the module doc). Without `force`, only once `checkpoint_seconds` have passed."""
        due = time.monotonic() - self._last_checkpoint >= self.checkpoint_seconds
        store = self._store
        if not (force or due):
            return
        self._write_ledger()
        if store is None or not self._unsaved:
            return
        store.persist()
        self._settle()
        self._unsaved = False

    def _settle(self, **meta: object) -> None:
        """Every ADDED chunk is in the persisted store: mark it LIVE; drop tombstones."""
        with transaction(self._db):
            if meta:
                self._set_meta(**meta)
            self._db.execute(
                f"UPDATE chunks SET state=? WHERE {UNSETTLED} AND state=?", (LIVE, ADDED)
            )
            self._db.execute(f"DELETE FROM chunks WHERE {UNSETTLED} AND state=?", (REMOVED,))
            self._db.execute("UPDATE meta SET value=? WHERE key='last_indexed'", (time.time(),))
        self._last_checkpoint = time.monotonic()

    def finish(self) -> None:
        """The end of a run: a last checkpoint, then drop embeddings no chunk uses any more.
        (Embeddings a killed run left unused stay until a later run replaces or drops a
        chunk: harmless, an identical text reuses them.)"""
        self._write_ledger()
        if not self._in_use:
            return
        if not self._unsaved:  # nothing to save: the run still counts as an index run
            self._db.execute("UPDATE meta SET value=? WHERE key='last_indexed'", (time.time(),))
        self.checkpoint(force=True)
        if self._orphans:
            self._db.execute(
                "DELETE FROM embeddings WHERE text_hash NOT IN (SELECT text_hash FROM chunks)"
            )
            self._orphans = False

    # ------------------------------------------------------------ rebuild, migrate

    def rebuild(self) -> int:
        """Refill the vector store from SQLite alone, at a fresh home; returns the count."""
        for _ in self.migrate(self.collection.vector_config()):
            pass
        return self._loaded().count()

    def migrate(
        self, target: VectorConfig, batch: int = 10_000
    ) -> Generator[tuple[int, int] | str, None, None]:
        """Move the vectors to `target` (another backend, another Milvus, another index; the
        same config refills them at a fresh home), from SQLite, yielding (done, total) as it
        goes and a line for anything left behind.

        The old store is never read (it may be the broken or the unreachable one) and stays
        the collection's store until the new one is complete. A Milvus target is recorded
        before it is filled: run again after a crash, the same target resumes with what it
        lacks."""
        coll = self.collection
        dim = coll.dimension
        current = coll.vector_config()
        if dim is None:  # nothing embedded yet: only the choice changes
            self._set_meta(**target.to_meta())
            return
        pending = coll.pending_vector_config()
        # A target filled before the collection changed again may hold a stale vector under
        # a chunk id SQLite has since reused: resume only an untouched one.
        untouched = coll.meta("vector_pending_since") == coll.meta("last_indexed")
        if pending is not None and untouched and same_destination(pending, target):
            target = pending  # resume it
        else:
            if pending is not None:
                yield from drop_store(coll, pending, "an unfinished migration's")
            target = target.renewed()
            if target.backend != "faiss":  # FAISS builds in memory: nothing to resume
                self._set_meta(
                    vector_pending=target.to_json(),
                    vector_pending_since=coll.meta("last_indexed"),
                )
        self.close()  # the old store is neither read nor written any more
        store = open_store(target, coll.open_request(dim, create=True, fresh=True))
        try:
            yield from fill(store, coll, batch)
            store.persist()
            self._settle(vector_pending=None, vector_pending_since=None, **target.to_meta())
        except BaseException:  # stopped or failed: the old store stays the collection's
            store.close()
            raise
        self._store = store
        if not current.same_home(target):
            yield from drop_store(coll, current, "the previous")

    # ------------------------------------------------------------ another embedded text

    def rehash(
        self, hashes: Mapping[int, str], vectors: Mapping[str, np.ndarray], fmt: str
    ) -> None:
        """The chunks' texts are now embedded in format `fmt` (docchat/embed/context.py):
        give the chunks in `hashes` (chunk id → hash of their new embedded text) those
        hashes, store the `vectors` made for them, refill the vector store from SQLite, and
        only then record the format — a run stopped before that does it again, finding the
        vectors stored."""
        with transaction(self._db):
            self._db.executemany(
                "INSERT OR IGNORE INTO embeddings(text_hash, vector) VALUES (?, ?)",
                [(h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in vectors.items()],
            )
            self._db.executemany(
                "UPDATE chunks SET text_hash=? WHERE id=?",
                [(h, cid) for cid, h in hashes.items()],
            )
        self._orphans = self._orphans or bool(hashes)
        if hashes:
            self.rebuild()
        self._set_meta(embed_text=fmt)

    # ------------------------------------------------------------ another model

    def replace_embeddings(
        self,
        vectors: Sequence[tuple[str, np.ndarray]],
        model: str,
        dimension: int,
        fingerprint: Callable[[], str],
        precision: str = "fp32",
    ) -> int:
        """Swap every stored embedding for these (one transaction), record the model and
        precision they were made with and rebuild the vector store from them; returns the
        vector count."""
        with transaction(self._db):
            self._db.execute("DELETE FROM embeddings")
            self._db.executemany(
                "INSERT INTO embeddings(text_hash, vector) VALUES (?, ?)",
                [(h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in vectors],
            )
        self._set_meta(
            model=model,
            dimension=dimension,
            fingerprint=fingerprint(),
            embed_precision=precision,
            last_indexed=time.time(),
        )
        return self.rebuild()
