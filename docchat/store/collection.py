"""A collection on disk, for reading: SQLite (the source of truth) plus a vector store (a
rebuildable cache: a FAISS file, or a Milvus collection; store/vector_store.py). Writing goes
through the one writer (store/writer.py), which also keeps the two consistent across crashes.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from docchat.config import StoreSettings
from docchat.embed.context import PLAIN, embed_text
from docchat.errors import CollectionError
from docchat.locations import collection_dir
from docchat.store import retrieval
from docchat.store.bm25 import Accelerator
from docchat.store.catalog import discard_collection, list_collections
from docchat.store.failures import write_error
from docchat.store.layout import DB_FILE, VECTORS_FILE
from docchat.store.migrations import ADDED, LIVE, READ_UNMIGRATED_FROM, REMOVED, migrate
from docchat.store.paths import from_db, to_db
from docchat.store.sessions import Sessions
from docchat.store.sql import batches, marks
from docchat.store.vector_backends import OpenRequest, open_store
from docchat.store.vector_store import NO_PAGE, VectorConfig, VectorFilter, VectorRows, VectorStore
from docchat.types import (
    FILE_STATES,
    CollectionInfo,
    FileCounts,
    FileRecord,
    FileState,
    Restriction,
)

__all__ = ["ADDED", "LIVE", "REMOVED", "ChunkRow", "Collection", "DocumentRow"]
log = logging.getLogger(__name__)


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
    ocr: bool = False  # read by OCR from an image of its page
    title: str | None = None  # its document's title
    ordinal: int | None = None  # its place among its document's chunks (0 = first)


class Collection:
    """Open with `Collection.open(name)`; write with `store.writer.writing(coll)`.

    `store`: the [store] settings — connection details for the vector store (a Milvus token,
    a timeout) and, for a collection not created yet, which backend it gets."""

    def __init__(
        self,
        name: str,
        folder: Path,
        store: StoreSettings | None = None,
        *,
        read_only_because: sqlite3.Error | None = None,
    ) -> None:
        self.name = name
        self.folder = folder
        self.store_settings = store or StoreSettings()
        # Set when the normal open failed (a full disk cannot even make SQLite's shared-memory
        # file) and the collection is open read-only instead; the writer refuses it with this.
        self.read_only_because = read_only_because
        self._lock = threading.RLock()
        self._vectors: VectorStore | None = None
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        # An exact in-memory BM25 for processes that search more than once (store/bm25.py).
        self.bm25 = Accelerator(self._connect)
        try:
            if read_only_because is None:
                migrate(self.db)
            else:
                self.db.execute("SELECT count(*) FROM meta").fetchone()
                if self.db.execute("PRAGMA user_version").fetchone()[0] < READ_UNMIGRATED_FROM:
                    error = write_error(name, folder, read_only_because)
                    raise type(error)(f"{error} (it must first be upgraded to this docchat)")
        except BaseException:
            self.close()
            raise

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection: sharing one across threads would let a reader (a TUI
        search worker) run inside a writer's open transaction."""
        conn: sqlite3.Connection | None = getattr(self._local, "db", None)
        if conn is None:
            conn = self._connect()
            self._local.db = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _connect(self) -> sqlite3.Connection:
        """A new connection (Collection.db keeps one per thread; the BM25 copy's builder
        opens and closes its own)."""
        if self.read_only_because is not None:
            # immutable: no lock or shared-memory file to create, nothing written; reads
            # the main file, which a writer's last checkpoint left complete.
            uri = f"{(self.folder / DB_FILE).resolve().as_uri()}?immutable=1"
            return sqlite3.connect(uri, uri=True, check_same_thread=False)
        conn = sqlite3.connect(
            self.folder / DB_FILE,
            check_same_thread=False,
            isolation_level=None,
            timeout=30,
        )
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    # ------------------------------------------------------------ lifecycle

    @classmethod
    def open(
        cls,
        name: str,
        data_dir: str = "",
        *,
        create: bool = False,
        store: StoreSettings | None = None,
    ) -> Collection:
        folder = collection_dir(name, data_dir)
        new = not (folder / DB_FILE).is_file()
        if new:
            if not create:
                known = ", ".join(list_collections(data_dir)) or "none yet"
                raise CollectionError(f"no collection named '{name}' (collections: {known})")
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise write_error(name, folder, e) from None
        try:
            return cls(name, folder, store)
        except (sqlite3.OperationalError, OSError) as e:
            if new:  # it failed to be made (a full disk): leave nothing behind
                discard_collection(name, data_dir)
                raise write_error(name, folder, e) from None
            failed = e
        except sqlite3.DatabaseError as e:
            raise CollectionError(f"collection '{name}' is unreadable ({folder}): {e}") from None
        # A collection that cannot be opened normally may still be read: on a full disk
        # SQLite cannot make its shared-memory file, yet nothing needs writing to read.
        try:
            coll = cls(name, folder, store, read_only_because=sqlite3.OperationalError(failed))
        except sqlite3.DatabaseError:
            raise CollectionError(
                f"collection '{name}' is unreadable ({folder}): {failed}"
            ) from None
        log.warning("collection %s opened read-only: %s", name, failed)
        return coll

    @property
    def exists(self) -> bool:
        """Whether it is still on disk (another process may have removed or renamed it)."""
        return (self.folder / DB_FILE).is_file()

    def close(self) -> None:
        self.bm25.close()
        with self._lock:
            if self._vectors is not None:
                self._vectors.close()
                self._vectors = None
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
            "SELECT id, path, size, mtime_ns, content_hash FROM documents WHERE path=?",
            (to_db(path),),
        ).fetchone()
        return DocumentRow(row[0], from_db(row[1]), *row[2:]) if row else None

    def reader(self) -> int:
        """The version of docchat's reading its files went through (ingest.prepare.READER;
        1: made before it was recorded)."""
        return int(self.meta("reader") or 1)

    def document_layout(self, doc_id: int) -> tuple[str | None, list[tuple[object, ...]]]:
        """A stored document's title and its settled chunks in order, each as (text hash,
        page, lines, characters, heading): what reading the file again must give for the
        document to count as unchanged."""
        row = self.db.execute("SELECT title FROM documents WHERE id=?", (doc_id,)).fetchone()
        chunks = self.db.execute(
            "SELECT text_hash, page, line_start, line_end, char_start, char_end, heading "
            "FROM chunks WHERE document_id=? AND state=? ORDER BY ordinal",
            (doc_id, LIVE),
        )
        return (row[0] if row else None), [tuple(c) for c in chunks]

    def document_stamps(self) -> dict[str, tuple[int, int]]:
        """Every document's (size, mtime_ns) by path: what an index run over many files
        compares each file's stat with, in one read instead of one query per file."""
        rows = self.db.execute("SELECT path, size, mtime_ns FROM documents")
        return {from_db(r[0]): (int(r[1]), int(r[2])) for r in rows}

    def document_paths(self) -> list[str]:
        return [from_db(r[0]) for r in self.db.execute("SELECT path FROM documents")]

    def documents(self) -> list[tuple[int, str]]:
        """(id, path) of every document."""
        rows = self.db.execute("SELECT id, path FROM documents")
        return [(int(r[0]), from_db(r[1])) for r in rows]

    def known_hashes(self, hashes: Iterable[str]) -> set[str]:
        """Those of `hashes` that already have a stored embedding."""
        found: set[str] = set()
        for part in batches(list(set(hashes))):
            sql = f"SELECT text_hash FROM embeddings WHERE text_hash IN ({marks(part)})"
            found.update(r[0] for r in self.db.execute(sql, part))
        return found

    def embed_format(self) -> str:
        """The format its chunks were embedded as (docchat/embed/context.py): PLAIN for a
        collection made before formats were recorded."""
        return self.meta("embed_text") or PLAIN

    def embed_sources(self) -> list[tuple[int, str, str, str | None, str | None]]:
        """(chunk id, text hash, text, heading, document title) of every visible chunk: what
        the text it is embedded as is made of."""
        return self.db.execute(
            "SELECT c.id, c.text_hash, c.text, c.heading, d.title FROM chunks c "
            "JOIN documents d ON d.id = c.document_id WHERE c.state != ?",
            (REMOVED,),
        ).fetchall()

    def embedded_texts(self) -> list[tuple[str, str]]:
        """(text hash, text embedded) of every visible chunk, each once: what re-embedding
        redoes (in the collection's format: a chunk's header and text)."""
        fmt = self.embed_format()
        out: dict[str, str] = {}
        for _, h, text, heading, title in self.embed_sources():
            if h not in out:
                out[h] = embed_text(text, title, heading, fmt)
        return list(out.items())

    # ------------------------------------------------------------ the ledger

    _FILE_COLUMNS = "path, state, reason, size, mtime_ns, pages, chunks, ocr, indexed_at"

    def file_record(self, path: str) -> FileRecord | None:
        """The ledger's row for one file."""
        row = self.db.execute(
            f"SELECT {self._FILE_COLUMNS} FROM files WHERE path=?", (to_db(path),)
        ).fetchone()
        return _file_record(row) if row else None

    def file_records(self, states: Sequence[FileState] = ()) -> list[FileRecord]:
        """Every file in the ledger (or those in `states`), by path."""
        sql = f"SELECT {self._FILE_COLUMNS} FROM files"
        if states:
            sql += f" WHERE state IN ({marks(states)})"
        rows = [_file_record(r) for r in self.db.execute(sql, list(states))]
        return sorted(rows, key=lambda r: r.path)

    def ledger_paths(self) -> list[str]:
        """Every file in the ledger that is not recorded as removed."""
        rows = self.db.execute("SELECT path FROM files WHERE state != 'removed'")
        return [from_db(r[0]) for r in rows]

    def file_counts(self) -> FileCounts:
        counts = dict(self.db.execute("SELECT state, count(*) FROM files GROUP BY state"))
        return FileCounts(**{s: int(counts.get(s, 0)) for s in FILE_STATES})

    def paths_under(self, scopes: Sequence[str]) -> tuple[list[str], list[str]]:
        """(stored documents, ledger paths not recorded as removed) at or under any of the
        `scopes` (paths), by index range scans rather than a read of every path: a watch
        asks this for each batch of changes in a large collection."""
        docs: set[str] = set()
        ledger: set[str] = set()
        for scope in scopes:
            params: list[str | bytes] = []
            for key in (to_db(scope), scope.encode("utf-8", "surrogateescape")):
                sep, after = ("/", "0") if isinstance(key, str) else (b"/", b"0")
                params += [key, key + sep, key + after]  # type: ignore[operator]
            where = "(path = ? OR (path > ? AND path < ?)) OR (path = ? OR (path > ? AND path < ?))"
            docs.update(
                from_db(r[0])
                for r in self.db.execute(f"SELECT path FROM documents WHERE {where}", params)
            )
            ledger.update(
                from_db(r[0])
                for r in self.db.execute(
                    f"SELECT path FROM files WHERE state != 'removed' AND ({where})", params
                )
            )
        return sorted(docs), sorted(ledger)

    def folders(self) -> list[str]:
        """The folders (and files) the collection was indexed from, as given to `index`."""
        return [from_db(r[0]) for r in self.db.execute("SELECT path FROM folders ORDER BY path")]

    # ------------------------------------------------------------ vectors

    @property
    def vectors_path(self) -> Path:
        """The FAISS file (of a collection whose backend is FAISS)."""
        return self.folder / VECTORS_FILE

    def vector_config(self) -> VectorConfig:
        """Where the vectors live, as recorded (a collection from before the record: FAISS)."""
        return VectorConfig.from_meta(self.meta("vector_backend"), self.meta("vector_store"))

    def pending_vector_config(self) -> VectorConfig | None:
        """The target of a migration or rebuild that has not finished (it resumes)."""
        raw = self.meta("vector_pending")
        return VectorConfig.from_json(raw) if raw else None

    def vectors(self) -> VectorStore:
        """The vector store for reading, opened lazily; reopened when another process moved
        the collection to another store or saved a new FAISS file."""
        dim = self.dimension
        if dim is None:
            raise CollectionError(f"collection '{self.name}' has no embeddings yet")
        config = self.vector_config()
        with self._lock:
            store = self._vectors
            if store is None or store.config != config or store.stale():
                if store is not None:
                    store.close()
                self._vectors = None
                if self.vector_file_lost(config):  # (it would read as an empty index)
                    raise CollectionError(
                        f"collection '{self.name}' has lost its vector file "
                        f"({self.vectors_path}), so it cannot be searched by meaning; "
                        f"repair with: docchat collections rebuild {self.name}"
                    )
                store = self._vectors = open_store(config, self.open_request(dim))
            return store

    def vector_file_lost(self, config: VectorConfig | None = None) -> bool:
        """Whether the FAISS file is gone while settled chunks say it should hold vectors
        (a first run killed before its first save has none settled: consistent). Search
        reports it, `check` lists it, the next writer refills it."""
        if (config or self.vector_config()).backend != "faiss" or self.vectors_path.exists():
            return False
        live = self.db.execute("SELECT 1 FROM chunks WHERE state=? LIMIT 1", (LIVE,))
        return live.fetchone() is not None

    def open_request(self, dimension: int, **kw: bool) -> OpenRequest:
        """What opening this collection's vector store needs besides its config."""
        return OpenRequest(self.folder, dimension, self.store_settings, self.all_rows, **kw)

    def dense_search(
        self, query: np.ndarray, k: int, restriction: Restriction | None = None
    ) -> list[tuple[int, float]]:
        """(chunk id, cosine) best first. A restriction runs inside the vector store: as
        document/page fields where the store holds them (Milvus), else as the ids SQLite
        allows; a phrase always needs SQLite's FTS5 index, so it becomes ids too."""
        store = self.vectors()
        where: VectorFilter | None = None
        if restriction is not None:
            if restriction.empty:
                return []
            if store.scalar_filters and restriction.phrase_match is None:
                where = VectorFilter(documents=restriction.document_ids, pages=restriction.pages)
            else:
                where = VectorFilter(ids=self.chunk_ids(restriction))
        scores, ids = store.search(query[None, :], k, where)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

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

    def vector_rows(self, chunk_ids: Sequence[int]) -> VectorRows:
        """These chunks as a vector store receives them (vector, document id, page)."""
        ids: list[int] = []
        docs: list[int] = []
        pages: list[int] = []
        vecs: list[bytes] = []
        for part in batches([int(i) for i in chunk_ids]):
            for cid, doc, page, blob in self.db.execute(
                "SELECT c.id, c.document_id, c.page, e.vector FROM chunks c "
                f"JOIN embeddings e USING(text_hash) WHERE c.id IN ({marks(part)})",
                part,
            ):
                ids.append(cid)
                docs.append(doc)
                pages.append(NO_PAGE if page is None else page)
                vecs.append(blob)
        dim = self.dimension or 0
        matrix = np.frombuffer(b"".join(vecs), dtype=np.float32).reshape(len(vecs), dim)
        as_int = np.asarray
        return VectorRows(
            as_int(ids, dtype=np.int64),
            matrix,
            as_int(docs, dtype=np.int64),
            as_int(pages, dtype=np.int64),
        )

    def visible_ids(self) -> np.ndarray:
        """Every chunk id a vector store must hold once the writer settles (not tombstones)."""
        rows = self.db.execute("SELECT id FROM chunks WHERE state != ? ORDER BY id", (REMOVED,))
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def all_rows(self) -> VectorRows:
        """Every visible chunk's row (what a FAISS index is rebuilt from)."""
        return self.vector_rows(self.visible_ids().tolist())

    # ------------------------------------------------------------ reading

    def keyword_search(
        self, match: str, k: int, restriction: Restriction, heading_weight: float = 1.0
    ) -> list[tuple[int, float]]:
        """(chunk id, BM25 score) best first for an FTS5 `match` expression."""
        return retrieval.keyword_search(self.db, match, k, restriction, heading_weight)

    def keyword_scores(
        self, match: str, k: int, restriction: Restriction, heading_weight: float = 1.0
    ) -> list[tuple[int, float, float]]:
        """(chunk id, BM25 score, BM25 of the text alone) best first for `match`."""
        return retrieval.keyword_scores(self.db, match, k, restriction, heading_weight)

    def keyword_scores_fast(
        self, terms: Sequence[str], k: int, heading_weight: float = 1.0
    ) -> list[tuple[int, float, float]] | None:
        """What keyword_scores gives for an unrestricted OR of `terms`, from the in-memory
        BM25 copy; None when it cannot answer (not built yet, stale, a multi-token term)."""
        return self.bm25.search(self.db, terms, k, heading_weight)

    def chunk_ids(self, restriction: Restriction) -> np.ndarray:
        """Ids of the visible chunks a restriction allows."""
        return retrieval.chunk_ids(self.db, restriction)

    def chunks(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Visible chunks by id (tombstones and chunks of removed files are left out)."""
        out: dict[int, ChunkRow] = {}
        for part in batches([int(x) for x in ids]):
            for row in self.db.execute(
                "SELECT c.id, d.path, c.page, c.line_start, c.line_end, c.heading, c.text, "
                "c.char_start, c.char_end, c.document_id, c.ocr = 1, d.title, c.ordinal "
                "FROM chunks c "
                f"JOIN documents d ON d.id = c.document_id WHERE c.id IN ({marks(part)}) "
                f"AND c.state != {REMOVED}",
                part,
            ):
                cid, path, page, first, last, heading, text, start, end, doc, ocr, title, nth = row
                out[cid] = ChunkRow(
                    cid,
                    from_db(path),
                    page,
                    first,
                    last,
                    heading,
                    text,
                    start,
                    end,
                    doc,
                    bool(ocr),
                    title,
                    nth,
                )
        return out

    def page_sizes(self, documents: Iterable[int]) -> dict[tuple[int, int | None], int]:
        """How many visible chunks each page of these documents has, by (document id, page
        number or None for a document without pages)."""
        out: dict[tuple[int, int | None], int] = {}
        for part in batches(sorted({int(d) for d in documents})):
            for doc, page, n in self.db.execute(
                "SELECT document_id, page, count(*) FROM chunks "
                f"WHERE document_id IN ({marks(part)}) AND state != {REMOVED} "
                "GROUP BY document_id, page",
                part,
            ):
                out[(doc, page)] = n
        return out

    def info(self) -> CollectionInfo:
        docs = self.db.execute("SELECT count(*) FROM documents").fetchone()[0]
        chunks = self.db.execute(
            "SELECT count(*) FROM chunks WHERE state != ?", (REMOVED,)
        ).fetchone()[0]
        size = sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file())
        last = self.meta("last_indexed")
        return CollectionInfo(
            name=self.name,
            documents=docs,
            chunks=chunks,
            model=self.meta("model"),
            dimension=self.dimension,
            size_bytes=size,
            last_indexed=float(last) if last else None,
            vector_store=self.vector_config().public(),
            reader=self.reader(),
        )


def _file_record(row: Any) -> FileRecord:
    path, state, reason, size, mtime_ns, pages, chunks, ocr, indexed_at = row
    return FileRecord(
        path=from_db(path),
        state=state,
        reason=reason,
        size=size,
        mtime_ns=mtime_ns,
        pages=pages,
        chunks=int(chunks),
        ocr=bool(ocr),
        indexed_at=indexed_at,
    )
