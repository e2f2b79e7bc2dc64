"""A collection on disk: SQLite (the source of truth) plus a FAISS file (a rebuildable cache).

Crash safety without a two-phase commit across two files: every chunk carries a `state`.
A file's new chunks are committed to SQLite as `added` (1) and its old ones become tombstones
(2); the FAISS file is saved only at checkpoints, and after each save SQLite marks added
chunks live (0) and deletes tombstones. Whenever the process dies, the invariant
    live chunks  ⊆  FAISS ids  ⊆  all chunk ids
holds, queries hide tombstones, and the next writer replays the difference (`recover`).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from docchat.errors import CollectionError
from docchat.locations import collection_dir
from docchat.store import retrieval
from docchat.store.catalog import list_collections
from docchat.store.layout import DB_FILE, LOCK_FILE, VECTORS_FILE
from docchat.store.lock import WriterLock
from docchat.store.migrations import ADDED, LIVE, REMOVED, migrate
from docchat.store.sql import batches, marks, transaction
from docchat.store.vectors import VectorIndex
from docchat.types import ChunkSpan, CollectionInfo, Restriction

__all__ = ["ADDED", "LIVE", "REMOVED", "ChunkRow", "Collection", "DocumentRow"]


@dataclass(frozen=True)
class DocumentRow:
    id: int
    path: str
    size: int
    mtime_ns: int
    content_hash: str


@dataclass(frozen=True)
class ChunkRow:
    id: int
    path: str
    page: int | None
    line_start: int
    line_end: int
    heading: str | None
    text: str
    char_start: int
    char_end: int
    document_id: int


class Collection:
    """Open with `Collection.open(name)`; writers use `with coll.writing(): ...`."""

    def __init__(self, name: str, folder: Path) -> None:
        self.name = name
        self.folder = folder
        self._lock = threading.RLock()
        self._writer: WriterLock | None = None
        self._vectors: VectorIndex | None = None
        self._vectors_mtime: int | None = None
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        migrate(self.db)

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection: sharing one across threads would let a reader (a TUI
        search worker) run inside a writer's open transaction."""
        conn: sqlite3.Connection | None = getattr(self._local, "db", None)
        if conn is None:
            conn = sqlite3.connect(
                self.folder / DB_FILE, check_same_thread=False, isolation_level=None, timeout=30
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.db = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    # ------------------------------------------------------------ lifecycle

    @classmethod
    def open(cls, name: str, data_dir: str = "", *, create: bool = False) -> Collection:
        folder = collection_dir(name, data_dir)
        if not (folder / DB_FILE).is_file():
            if not create:
                known = ", ".join(list_collections(data_dir)) or "none yet"
                raise CollectionError(f"no collection named '{name}' (collections: {known})")
            folder.mkdir(parents=True, exist_ok=True)
        try:
            return cls(name, folder)
        except sqlite3.DatabaseError as e:
            raise CollectionError(f"collection '{name}' is unreadable ({folder}): {e}") from None

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
            self._local = threading.local()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the writer lock; raises CollectionLocked naming the process that holds it."""
        with WriterLock(self.folder / LOCK_FILE, self.name) as lock:
            self._writer = lock
            try:
                yield
            finally:
                self._writer = None

    # ------------------------------------------------------------ metadata

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, **values: object) -> None:
        with self._lock:
            self.db.executemany(
                "INSERT INTO meta(key, value) VALUES(?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                [(k, str(v)) for k, v in values.items()],
            )

    @property
    def dimension(self) -> int | None:
        value = self.meta("dimension")
        return int(value) if value else None

    # ------------------------------------------------------------ documents

    def document(self, path: str) -> DocumentRow | None:
        row = self.db.execute(
            "SELECT id, path, size, mtime_ns, content_hash FROM documents WHERE path=?", (path,)
        ).fetchone()
        return DocumentRow(*row) if row else None

    def document_paths(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT path FROM documents")]

    def documents(self) -> list[tuple[int, str]]:
        """(id, path) of every document."""
        return [(int(r[0]), r[1]) for r in self.db.execute("SELECT id, path FROM documents")]

    def touch_document(self, doc_id: int, size: int, mtime_ns: int) -> None:
        with self._lock:
            self.db.execute(
                "UPDATE documents SET size=?, mtime_ns=? WHERE id=?", (size, mtime_ns, doc_id)
            )

    def known_hashes(self, hashes: Iterable[str]) -> set[str]:
        """Those of `hashes` that already have a stored embedding."""
        found: set[str] = set()
        for part in batches(list(set(hashes))):
            sql = f"SELECT text_hash FROM embeddings WHERE text_hash IN ({marks(part)})"
            found.update(r[0] for r in self.db.execute(sql, part))
        return found

    def replace_document(
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
        new_vectors: dict[str, np.ndarray],
    ) -> tuple[list[int], list[int]]:
        """Swap a file's chunks in one transaction; returns (added ids, removed ids).

        `chunks` pairs each span with its text hash; `new_vectors` holds the embeddings not
        stored yet. The caller mirrors the returned ids into the in-memory FAISS index.
        """
        with self._lock, self._transaction():
            old = self.document(path)
            removed: list[int] = []
            if old:
                removed = self._tombstone(old.id)
                self.db.execute(
                    "UPDATE documents SET size=?, mtime_ns=?, content_hash=?, kind=?, title=?, "
                    "pages=?, indexed_at=? WHERE id=?",
                    (size, mtime_ns, content_hash, kind, title, pages, time.time(), old.id),
                )
                doc_id = old.id
            else:
                cur = self.db.execute(
                    "INSERT INTO documents(path, size, mtime_ns, content_hash, kind, title, "
                    "pages, indexed_at) VALUES (?,?,?,?,?,?,?,?)",
                    (path, size, mtime_ns, content_hash, kind, title, pages, time.time()),
                )
                doc_id = int(cur.lastrowid or 0)
            self.db.executemany(
                "INSERT OR IGNORE INTO embeddings(text_hash, vector) VALUES (?, ?)",
                [(h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in new_vectors.items()],
            )
            added: list[int] = []
            for ordinal, (span, text_hash) in enumerate(chunks):
                cur = self.db.execute(
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
                added.append(int(cur.lastrowid or 0))
            return added, removed

    def remove_document(self, path: str) -> list[int]:
        """Forget a file; returns the chunk ids to drop from FAISS."""
        with self._lock, self._transaction():
            old = self.document(path)
            if not old:
                return []
            removed = self._tombstone(old.id)
            self.db.execute("DELETE FROM documents WHERE id=?", (old.id,))
            return removed

    def _tombstone(self, doc_id: int) -> list[int]:
        ids = [
            r[0]
            for r in self.db.execute(
                "SELECT id FROM chunks WHERE document_id=? AND state!=?", (doc_id, REMOVED)
            )
        ]
        self.db.execute(
            "UPDATE chunks SET state=? WHERE document_id=? AND state!=?", (REMOVED, doc_id, REMOVED)
        )
        return ids

    def _transaction(self) -> AbstractContextManager[None]:
        return transaction(self.db)

    def embedded_texts(self) -> list[tuple[str, str]]:
        """(text hash, text) of every visible chunk text, each once: what re-embedding redoes."""
        return self.db.execute(
            "SELECT DISTINCT text_hash, text FROM chunks WHERE state != ?", (REMOVED,)
        ).fetchall()

    def replace_embeddings(self, vectors: Sequence[tuple[str, np.ndarray]]) -> None:
        """Swap every stored embedding for these, in one transaction."""
        with self._lock, self._transaction():
            self.db.execute("DELETE FROM embeddings")
            self.db.executemany(
                "INSERT INTO embeddings(text_hash, vector) VALUES (?, ?)",
                [(h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in vectors],
            )

    # ------------------------------------------------------------ vectors

    @property
    def vectors_path(self) -> Path:
        return self.folder / VECTORS_FILE

    def vectors(self) -> VectorIndex:
        """The FAISS index, loaded lazily and reloaded when another process saved a new one."""
        dim = self.dimension
        if dim is None:
            raise CollectionError(f"collection '{self.name}' has no embeddings yet")
        with self._lock:
            path = self.vectors_path
            mtime = path.stat().st_mtime_ns if path.exists() else None
            if self._vectors is None or (self._writer is None and mtime != self._vectors_mtime):
                self._vectors = VectorIndex.load(path, dim) if mtime else VectorIndex(dim)
                self._vectors_mtime = mtime
            return self._vectors

    def vectors_for(self, chunk_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of these chunks, read from the embeddings table."""
        ids: list[int] = []
        vecs: list[bytes] = []
        for part in batches(chunk_ids):
            for cid, blob in self.db.execute(
                "SELECT c.id, e.vector FROM chunks c JOIN embeddings e USING(text_hash) "
                f"WHERE c.id IN ({marks(part)})",
                part,
            ):
                ids.append(cid)
                vecs.append(blob)
        dim = self.dimension or 0
        matrix = np.frombuffer(b"".join(vecs), dtype=np.float32).reshape(len(vecs), dim)
        return np.asarray(ids, dtype=np.int64), matrix

    def checkpoint(self, index: VectorIndex, approximate_above: int = 0) -> None:
        """Save FAISS, then settle chunk states in SQLite (order matters; see module doc)."""
        with self._lock:
            too_big = approximate_above and len(index) > approximate_above
            if too_big and (not index.approximate or index.outgrown):
                index = self._build_index(approximate_above)
                self._vectors = index
            index.save(self.vectors_path)
            self._vectors_mtime = self.vectors_path.stat().st_mtime_ns
            with self._transaction():
                self.db.execute("UPDATE chunks SET state=? WHERE state=?", (LIVE, ADDED))
                self.db.execute("DELETE FROM chunks WHERE state=?", (REMOVED,))
                self.db.execute("UPDATE meta SET value=? WHERE key='last_indexed'", (time.time(),))

    def collect_garbage(self) -> int:
        """Drop embeddings no chunk uses any more; returns how many."""
        with self._lock:
            cur = self.db.execute(
                "DELETE FROM embeddings WHERE text_hash NOT IN (SELECT text_hash FROM chunks)"
            )
            return cur.rowcount

    def recover(self, approximate_above: int = 0) -> VectorIndex | None:
        """Replay what a killed writer left half done; returns the settled index."""
        if self.dimension is None:
            return None
        index = self.vectors()
        pending = self.db.execute("SELECT count(*) FROM chunks WHERE state!=?", (LIVE,)).fetchone()
        in_faiss = set(index.ids().tolist())
        all_ids = {
            r[0] for r in self.db.execute("SELECT id FROM chunks WHERE state!=?", (REMOVED,))
        }
        missing_ids = sorted(all_ids - in_faiss)
        extra = sorted(in_faiss - all_ids)
        if not pending[0] and not missing_ids and not extra:
            return index
        index.remove(extra)
        ids, vecs = self.vectors_for(missing_ids)
        index.add(ids, vecs)
        self.checkpoint(index, approximate_above)
        return self._vectors or index

    def _build_index(self, approximate_above: int) -> VectorIndex:
        ids = [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE state!=?", (REMOVED,))]
        id_arr, vecs = self.vectors_for(ids)
        return VectorIndex.build(self.dimension or 0, id_arr, vecs, approximate_above)

    def rebuild(self, approximate_above: int = 0) -> int:
        """Rewrite the FAISS file from SQLite alone; returns the vector count."""
        with self._lock:
            index = self._build_index(approximate_above)
            self._vectors = index
            self.checkpoint(index, 0)
            return len(index)

    # ------------------------------------------------------------ reading

    def keyword_search(
        self, match: str, k: int, restriction: Restriction, heading_weight: float = 1.0
    ) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) best first for an FTS5 `match` expression."""
        return retrieval.keyword_search(self.db, match, k, restriction, heading_weight)

    def chunk_ids(self, restriction: Restriction) -> np.ndarray:
        """Ids of the visible chunks a restriction allows."""
        return retrieval.chunk_ids(self.db, restriction)

    def chunks(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Visible chunks by id (tombstones and chunks of removed files are left out)."""
        out: dict[int, ChunkRow] = {}
        for part in batches([int(x) for x in ids]):
            for row in self.db.execute(
                "SELECT c.id, d.path, c.page, c.line_start, c.line_end, c.heading, c.text, "
                "c.char_start, c.char_end, c.document_id FROM chunks c "
                f"JOIN documents d ON d.id = c.document_id WHERE c.id IN ({marks(part)}) "
                f"AND c.state != {REMOVED}",
                part,
            ):
                out[row[0]] = ChunkRow(*row)
        return out

    def info(self) -> CollectionInfo:
        docs = self.db.execute("SELECT count(*) FROM documents").fetchone()[0]
        chunks = self.db.execute(
            "SELECT count(*) FROM chunks WHERE state != ?", (REMOVED,)
        ).fetchone()[0]
        size = sum(p.stat().st_size for p in self.folder.iterdir() if p.is_file())
        last = self.meta("last_indexed")
        return CollectionInfo(
            name=self.name,
            documents=docs,
            chunks=chunks,
            model=self.meta("model"),
            dimension=self.dimension,
            size_bytes=size,
            last_indexed=float(last) if last else None,
        )
