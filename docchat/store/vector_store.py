"""The vector side of a collection behind one interface, with two backends: FAISS (a file in
the collection folder; the default) and Milvus (Milvus Lite inside the folder, or a Milvus
server or cluster by URI).

SQLite stays the truth for text, metadata, keyword search and chat history. A vector store
holds only chunk id -> vector, plus the scalar fields that query filters need (document id,
page), and can always be refilled from SQLite. Which chunk states a store must hold is
decided in one place, the writer (store/writer.py); a store only adds, removes, searches,
counts and persists.
"""

from __future__ import annotations

import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

NO_PAGE = -1  # the page field of a chunk without pages (Milvus scalars are not nullable < 2.5)


@dataclass(frozen=True)
class VectorRows:
    """Chunks as a store receives them: ids, vectors and the scalar fields filters use."""

    ids: np.ndarray  # int64, shape (n,)
    vectors: np.ndarray  # float32, shape (n, dimension)
    documents: np.ndarray  # int64, shape (n,)
    pages: np.ndarray  # int64, shape (n,); NO_PAGE where a chunk has none

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, part: slice) -> VectorRows:
        return VectorRows(
            self.ids[part], self.vectors[part], self.documents[part], self.pages[part]
        )

    @classmethod
    def empty(cls, dimension: int) -> VectorRows:
        none = np.zeros(0, dtype=np.int64)
        return cls(none, np.zeros((0, dimension), dtype=np.float32), none, none)


@dataclass(frozen=True)
class VectorFilter:
    """Which chunks a search may return. `ids` is the allowed-id filter every store applies;
    `documents`/`pages` are applied inside stores that hold those fields (`scalar_filters`),
    and are turned into `ids` from SQLite for the others."""

    ids: np.ndarray | None = None
    documents: tuple[int, ...] | None = None
    pages: tuple[int | None, int | None] | None = None  # inclusive; None = an open end


@dataclass(frozen=True)
class VectorConfig:
    """Where and how a collection keeps its vectors: chosen when the collection is created,
    recorded in its metadata (`vector_backend`, `vector_store`), changed only by
    `docchat collections migrate`. Secrets (the Milvus token) are never recorded."""

    backend: str = "faiss"
    uri: str = ""  # milvus: "" = a Milvus Lite file inside the collection folder
    collection: str = ""  # milvus: the collection's name inside Milvus
    index_type: str = ""  # milvus: FLAT, IVF_FLAT, HNSW, DISKANN, ...
    index_params: Mapping[str, Any] = field(default_factory=dict)
    search_params: Mapping[str, Any] = field(default_factory=dict)
    consistency: str = ""  # milvus: Strong, Bounded, Session or Eventually

    def to_meta(self) -> dict[str, str]:
        detail = {k: v for k, v in self.public().items() if k != "backend"}
        return {"vector_backend": self.backend, "vector_store": json.dumps(detail, sort_keys=True)}

    @classmethod
    def from_meta(cls, backend: str | None, detail: str | None) -> VectorConfig:
        """A collection from before the vector-store interface has no record: FAISS."""
        values = json.loads(detail) if detail else {}
        return cls(backend=backend or "faiss", **values)

    def to_json(self) -> str:
        return json.dumps(self.public(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> VectorConfig:
        return cls(**json.loads(text))

    def public(self) -> dict[str, Any]:
        """What `collections list --json` shows (nothing secret is ever in here)."""
        if self.backend == "faiss":
            return {"backend": "faiss"}
        return {
            "backend": self.backend,
            "uri": self.uri,
            "collection": self.collection,
            "index_type": self.index_type,
            "index_params": dict(self.index_params),
            "search_params": dict(self.search_params),
            "consistency": self.consistency,
        }

    def same_home(self, other: VectorConfig) -> bool:
        """Whether both name the same place (the FAISS file; the same Milvus collection)."""
        if self.backend != other.backend:
            return False
        return self.backend == "faiss" or (self.uri, self.collection) == (
            other.uri,
            other.collection,
        )

    def renewed(self) -> VectorConfig:
        """The same settings at a fresh home, for a rebuild or migration to fill: a new
        Milvus collection (the old one serves until the switch); FAISS builds its new index
        in memory and replaces the file whole, so its home stays."""
        return self if self.backend == "faiss" else replace(self, collection=fresh_name())


def fresh_name() -> str:
    """A Milvus collection name no other collection (or rebuild) uses, so several docchat
    collections share one server and renaming one never touches Milvus."""
    return f"docchat_{uuid.uuid4().hex}"


RowSource = Callable[[], VectorRows]  # every visible chunk's row, read from SQLite


class VectorStore(ABC):
    """One collection's vectors. Every method may raise a DocchatError with a one-line
    message (a Milvus server that cannot be reached names its URI)."""

    #: the store evaluates VectorFilter.documents/pages itself (else the caller resolves
    #: them to ids through SQLite)
    scalar_filters: ClassVar[bool] = False
    #: `ids()` costs nothing (they are in memory): recovery may compare every id
    ids_in_memory: ClassVar[bool] = False

    def __init__(self, config: VectorConfig, dimension: int) -> None:
        self.config = config
        self.dimension = dimension

    @abstractmethod
    def upsert(self, rows: VectorRows) -> None:
        """Store these rows by chunk id (Milvus replaces a row whose id it holds; FAISS
        callers never add an id twice: the writer reconciles ids before it re-adds)."""

    @abstractmethod
    def remove(self, ids: np.ndarray | list[int]) -> None:
        """Forget these chunk ids (ids it does not hold are ignored)."""

    @abstractmethod
    def search(
        self, queries: np.ndarray, k: int, where: VectorFilter | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (len(queries), k), best first; empty slots have id -1.
        Inner product on normalised vectors, so scores are cosines."""

    @abstractmethod
    def count(self) -> int:
        """How many vectors it holds."""

    @abstractmethod
    def ids(self) -> np.ndarray:
        """Every chunk id it holds (what `collections check` compares with SQLite)."""

    @abstractmethod
    def persist(self) -> None:
        """Make every write so far survive a crash (the first half of a checkpoint)."""

    def drop(self) -> None:  # noqa: B027 (optional: FAISS's file is replaced, not dropped)
        """Delete what it holds, after the collection has moved elsewhere."""

    def close(self) -> None:  # noqa: B027 (optional: nothing to release for FAISS)
        """Release connections (the collection stays as it is)."""

    def stale(self) -> bool:
        """Whether another process replaced what this (reader's) copy holds."""
        return False

    @property
    def approximate(self) -> bool:
        """Whether searches are approximate (IVF, HNSW, ...) rather than exact."""
        return False

    def __len__(self) -> int:
        return self.count()
