"""A collection on disk, for reading: SQLite (the source of truth) plus a FAISS file (a
rebuildable cache). Writing goes through the one writer (store/writer.py), which also keeps
the two files consistent across crashes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from docchat.errors import CollectionError
from docchat.locations import collection_dir
from docchat.store import retrieval
from docchat.store.catalog import list_collections
from docchat.store.layout import DB_FILE, VECTORS_FILE
from docchat.store.migrations import ADDED, LIVE, REMOVED, migrate
from docchat.store.sessions import Sessions
from docchat.store.sql import batches, marks
from docchat.store.vectors import VectorIndex
from docchat.types import CollectionInfo, Restriction

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
    """Open with `Collection.open(name)`; write with `store.writer.writing(coll)`."""

    def __init__(self, name: str, folder: Path) -> None:
        self.name = name
        self.folder = folder
        self._lock = threading.RLock()
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

    @property
    def exists(self) -> bool:
        """Whether it is still on disk (another process may have removed or renamed it)."""
        return (self.folder / DB_FILE).is_file()

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
            self._local = threading.local()

    @property
    def sessions(self) -> Sessions:
        """The collection's stored conversations (through this thread's connection)."""
        return Sessions(self.db)

    # ------------------------------------------------------------ metadata

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

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

    def known_hashes(self, hashes: Iterable[str]) -> set[str]:
        """Those of `hashes` that already have a stored embedding."""
        found: set[str] = set()
        for part in batches(list(set(hashes))):
            sql = f"SELECT text_hash FROM embeddings WHERE text_hash IN ({marks(part)})"
            found.update(r[0] for r in self.db.execute(sql, part))
        return found

    def embedded_texts(self) -> list[tuple[str, str]]:
        """(text hash, text) of every visible chunk text, each once: what re-embedding redoes."""
        return self.db.execute(
            "SELECT DISTINCT text_hash, text FROM chunks WHERE state != ?", (REMOVED,)
        ).fetchall()

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
            if self._vectors is None or mtime != self._vectors_mtime:
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
