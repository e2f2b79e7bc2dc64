"""The Milvus backend, through pymilvus: a Milvus Lite file inside the collection folder (no
server), or a Milvus standalone server or cluster by URI — the same client API, so the code
path tested here is the one that runs at scale.

A Milvus collection holds one row per chunk: its id (the primary key, so writes are
idempotent upserts), its vector, and the scalar fields `in:`/`page:` filters need (document
id, page), so restricted searches run inside Milvus. Every client failure becomes one
VectorStoreError line that names the URI.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from docchat.errors import CollectionError, DocchatError, MissingDependency, VectorStoreError
from docchat.store import milvus_local
from docchat.store.vector_store import (
    NO_PAGE,
    VectorConfig,
    VectorFilter,
    VectorRows,
    VectorStore,
    fresh_name,
)

log = logging.getLogger("docchat.store.milvus")

BATCH_ROWS = 2000  # rows per upsert: ~3 MB at 384 dimensions, far below gRPC's 64 MB cap
ID_BATCH = 10_000  # ids per page when listing, per `id in [...]` when deleting
MAX_TOP_K = 16_384  # Milvus's limit on one search's k
METRIC = "IP"  # vectors are normalised: inner product = cosine, as with FAISS
FIELDS = ("id", "vector", "doc", "page")

# Build and search parameters per index type when the config gives none. HNSW M=16 and
# ef=128, IVF nprobe=32 of nlist=1024: recall@10 >= 0.98 in benchmarks/milvus_vs_faiss.py.
DEFAULT_INDEX_PARAMS: dict[str, dict[str, Any]] = {
    "IVF_FLAT": {"nlist": 1024},
    "IVF_SQ8": {"nlist": 1024},
    "HNSW": {"M": 16, "efConstruction": 200},
}
DEFAULT_SEARCH_PARAMS: dict[str, dict[str, Any]] = {
    "IVF_FLAT": {"nprobe": 32},
    "IVF_SQ8": {"nprobe": 32},
    "HNSW": {"ef": 128},
    "DISKANN": {"search_list": 100},
}


def new_config(
    uri: str,
    index_type: str = "auto",
    index_params: dict[str, Any] | None = None,
    search_params: dict[str, Any] | None = None,
    consistency: str = "Strong",
) -> VectorConfig:
    """The config of a new Milvus collection: `auto` is FLAT (exact, like FAISS's default) on
    Milvus Lite and HNSW on a server."""
    if index_type == "auto":
        index_type = "FLAT" if milvus_local.is_lite(uri) else "HNSW"
    return VectorConfig(
        backend="milvus",
        uri=uri,
        collection=fresh_name(),
        index_type=index_type,
        index_params=index_params or DEFAULT_INDEX_PARAMS.get(index_type, {}),
        search_params=search_params or DEFAULT_SEARCH_PARAMS.get(index_type, {}),
        consistency=consistency,
    )


def _pymilvus() -> Any:
    # gRPC's C core logs connection trouble straight to stderr unless told otherwise.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    try:
        import pymilvus
    except ImportError:
        raise MissingDependency(
            "the Milvus vector store needs pymilvus (and milvus-lite for a local file): "
            "pip install 'docchat[milvus]'"
        ) from None
    _quiet_logs()
    return pymilvus


def _quiet_logs() -> None:
    """pymilvus and milvus-lite print warnings and tracebacks to stderr; send them to
    docchat's log file instead, so errors on screen stay one line."""
    for name in ("pymilvus", "pymilvus.milvus_client", "pymilvus.bulk_writer", "milvus_lite"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = False
        logger.addHandler(_Forward())


class _Forward(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        log.handle(record)


def _reason(e: BaseException) -> str:
    message = getattr(e, "message", None) or str(e) or type(e).__name__
    return " ".join(str(message).split())[:300]


class MilvusStore(VectorStore):
    scalar_filters = True

    def __init__(
        self,
        config: VectorConfig,
        dimension: int,
        folder: Path,
        *,
        token: str = "",
        timeout: float = 10.0,
        create: bool = False,
    ) -> None:
        """Connect, and open the collection `config.collection` (made when `create`)."""
        super().__init__(config, dimension)
        self.folder = folder
        self.token = token
        self.timeout = timeout
        self.lite = milvus_local.is_lite(config.uri)
        self.target = str(milvus_local.lite_path(config.uri, folder)) if self.lite else config.uri
        self.where = f"Milvus Lite file {self.target}" if self.lite else self.target
        self.name = config.collection
        self.client = self._connect()
        try:
            self._open(create)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ connection

    def _connect(self) -> Any:
        pymilvus = _pymilvus()
        if self.lite:
            milvus_local.acquire(self.target)
        try:
            # A dedicated channel: a shared one that once failed keeps failing after the
            # server is back (pymilvus 3.0 reuses it from a process-wide registry).
            client = pymilvus.MilvusClient(
                uri=self.target, token=self.token, timeout=self.timeout, dedicated=True
            )
        except Exception as e:
            if self.lite:
                milvus_local.release(self.target)
                holder = milvus_local.holder(self.target)
                if holder:
                    raise VectorStoreError(
                        f"the {self.where} is open in another process ({holder}); Milvus "
                        "Lite serves one process at a time: stop it, or keep the collection "
                        "on a Milvus server (store.milvus_uri)"
                    ) from None
            raise VectorStoreError(
                f"cannot reach Milvus at {self.where}: {_reason(e)}; nothing is lost: run the "
                "same command again once it is reachable (or fix store.milvus_uri)"
            ) from None
        if self.lite:
            milvus_local.opened(self.target)
        return client

    @contextmanager
    def _calls(self, what: str) -> Iterator[None]:
        try:
            yield
        except DocchatError:
            raise
        except Exception as e:
            unreachable = "connect" in _reason(e).lower() or "unavailable" in _reason(e).lower()
            if unreachable:
                raise VectorStoreError(
                    f"cannot reach Milvus at {self.where} ({what}): {_reason(e)}; nothing is "
                    "lost: run the same command again once it is reachable"
                ) from None
            raise VectorStoreError(f"Milvus at {self.where} refused {what}: {_reason(e)}") from None

    def _open(self, create: bool) -> None:
        with self._calls("opening the collection"):
            exists = self.client.has_collection(self.name)
            if not exists and not create:
                raise CollectionError(
                    f"the vector collection '{self.name}' is missing from {self.where}; "
                    "refill it from SQLite: docchat collections rebuild NAME"
                )
            if not exists:
                self._create()
            dim = self._dimension()
            if dim != self.dimension:
                raise CollectionError(
                    f"the vector collection '{self.name}' at {self.where} has dimension {dim}, "
                    f"the collection says {self.dimension}; run: docchat collections rebuild"
                )
            state = self.client.get_load_state(self.name).get("state")
            if "NotLoad" in str(state):  # Milvus Lite after a restart; a released collection
                self.client.load_collection(self.name)

    def _create(self) -> None:
        pymilvus = _pymilvus()
        dtype = pymilvus.DataType
        schema = pymilvus.MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", dtype.INT64, is_primary=True)
        schema.add_field("vector", dtype.FLOAT_VECTOR, dim=self.dimension)
        schema.add_field("doc", dtype.INT64)
        schema.add_field("page", dtype.INT64)
        index = self.client.prepare_index_params()
        index.add_index(
            field_name="vector",
            index_type=self.config.index_type,
            metric_type=METRIC,
            params=dict(self.config.index_params),
        )
        self.client.create_collection(
            self.name,
            schema=schema,
            index_params=index,
            consistency_level=self.config.consistency or "Strong",
        )

    def _dimension(self) -> int:
        info = self.client.describe_collection(self.name)
        for f in info.get("fields", []):
            if f.get("name") == "vector":
                return int(f.get("params", {}).get("dim", 0))
        return 0

    # ------------------------------------------------------------ writes

    def upsert(self, rows: VectorRows) -> None:
        for start in range(0, len(rows), BATCH_ROWS):
            part = rows[start : start + BATCH_ROWS]
            vectors = np.ascontiguousarray(part.vectors, dtype=np.float32)
            # Row views of one float32 array: pymilvus packs them ~2x faster than lists.
            data = [
                {"id": i, "vector": vectors[n], "doc": d, "page": p}
                for n, (i, d, p) in enumerate(
                    zip(
                        part.ids.tolist(), part.documents.tolist(), part.pages.tolist(), strict=True
                    )
                )
            ]
            with self._calls("an upsert"):
                self.client.upsert(self.name, data)

    def remove(self, ids: np.ndarray | list[int]) -> None:
        values = [int(i) for i in ids]
        for start in range(0, len(values), ID_BATCH):
            with self._calls("a delete"):
                self.client.delete(self.name, ids=values[start : start + ID_BATCH])

    def persist(self) -> None:
        """A server acknowledges a write once it is in its write-ahead log, so there is
        nothing to do; Milvus Lite's log reaches the OS but is not fsynced, so flush it."""
        if self.lite:
            with self._calls("a flush"):
                self.client.flush(self.name)

    # ------------------------------------------------------------ reads

    def search(
        self, queries: np.ndarray, k: int, where: VectorFilter | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(queries, dtype=np.float32).reshape(-1, self.dimension)
        k = max(1, min(k, MAX_TOP_K))
        scores = np.full((len(q), k), -np.inf, dtype=np.float32)
        ids = np.full((len(q), k), -1, dtype=np.int64)
        expression = filter_expression(where)
        if expression is None:  # nothing can match
            return scores, ids
        params = dict(self.config.search_params)
        if "ef" in params:  # HNSW needs ef >= k
            params["ef"] = max(int(params["ef"]), k)
        with self._calls("a search"):
            results = self.client.search(
                self.name,
                data=q.tolist(),
                limit=k,
                filter=expression,
                output_fields=["id"],
                search_params={"metric_type": METRIC, "params": params},
                consistency_level=self.config.consistency or "Strong",
            )
        for row, hits in enumerate(results):
            for col, hit in enumerate(hits):
                ids[row, col] = int(hit["id"])
                scores[row, col] = float(hit["distance"])
        return scores, ids

    def count(self) -> int:
        with self._calls("a count"):
            res = self.client.query(
                self.name, filter="", output_fields=["count(*)"], consistency_level="Strong"
            )
        return int(res[0]["count(*)"]) if res else 0

    def ids(self) -> np.ndarray:
        """Every id, paged (a check reads them all, so it sees the latest writes)."""
        out: list[int] = []
        with self._calls("listing ids"):
            it = self.client.query_iterator(
                self.name,
                batch_size=ID_BATCH,
                filter="",
                output_fields=["id"],
                consistency_level="Strong",
            )
            try:
                while page := it.next():
                    out.extend(int(r["id"]) for r in page)
            finally:
                it.close()
        return np.asarray(out, dtype=np.int64)

    @property
    def approximate(self) -> bool:
        return self.config.index_type.upper() not in ("FLAT", "BRUTE_FORCE")

    # ------------------------------------------------------------ lifecycle

    def drop(self) -> None:
        with self._calls("dropping a collection"):
            if self.client.has_collection(self.name):
                self.client.drop_collection(self.name)

    def close(self) -> None:
        client, self.client = getattr(self, "client", None), None
        if client is None:
            return
        try:
            client.close()
        except Exception as e:  # closing a dead connection must not hide the real error
            log.info("closing the Milvus client for %s: %s", self.where, _reason(e))
        if self.lite:
            milvus_local.release(self.target)


def filter_expression(where: VectorFilter | None) -> str | None:
    """The Milvus boolean expression for a filter ("" = everything, None = nothing).
    Values are integers from SQLite, inlined (Milvus Lite has no expression templates)."""
    if where is None:
        return ""
    parts: list[str] = []
    for name, values in (("id", where.ids), ("doc", where.documents)):
        if values is not None:
            if len(values) == 0:
                return None
            parts.append(f"{name} in [{','.join(str(int(v)) for v in values)}]")
    if where.pages is not None:
        low, high = where.pages
        # NO_PAGE (-1) never satisfies a page restriction, as NULL does not in SQLite.
        parts.append(f"page >= {max(int(low), NO_PAGE + 1) if low is not None else NO_PAGE + 1}")
        if high is not None:
            parts.append(f"page <= {int(high)}")
    return " and ".join(parts)
