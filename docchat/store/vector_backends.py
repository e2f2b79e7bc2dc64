"""Vector-store backends by name: what a new collection's config is, and how a recorded one
opens. The built-ins register here the way a plugin would."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from docchat.config import StoreSettings
from docchat.errors import ConfigError
from docchat.store.layout import VECTORS_FILE
from docchat.store.vector_store import RowSource, VectorConfig, VectorStore


@dataclass(frozen=True)
class OpenRequest:
    """What opening a store needs beyond its recorded config."""

    folder: Path  # the collection folder
    dimension: int
    settings: StoreSettings  # connection details (token, timeout) and FAISS's IVF threshold
    source: RowSource | None = None  # every visible chunk from SQLite (FAISS IVF rebuilds)
    create: bool = False  # make the Milvus collection if it is not there
    fresh: bool = False  # FAISS: start empty instead of loading the file


@dataclass(frozen=True)
class Backend:
    new_config: Callable[[StoreSettings], VectorConfig]
    open: Callable[[VectorConfig, OpenRequest], VectorStore]


BACKENDS: dict[str, Backend] = {}


def register_backend(name: str, backend: Backend) -> None:
    BACKENDS[name] = backend


def backend(name: str) -> Backend:
    try:
        return BACKENDS[name]
    except KeyError:
        known = ", ".join(sorted(BACKENDS))
        raise ConfigError(f"unknown vector backend {name!r} (known: {known})") from None


def new_config(settings: StoreSettings, backend_name: str | None = None) -> VectorConfig:
    """The config a new collection (or a migration target) gets from these settings."""
    return backend(backend_name or settings.vector_backend).new_config(settings)


def open_store(config: VectorConfig, request: OpenRequest) -> VectorStore:
    return backend(config.backend).open(config, request)


# ---------------------------------------------------------------- the built-ins


def _faiss_open(config: VectorConfig, r: OpenRequest) -> VectorStore:
    from docchat.store.faiss_store import FaissStore

    return FaissStore(
        config,
        r.dimension,
        r.folder / VECTORS_FILE,
        approximate_above=r.settings.approximate_above,
        source=r.source,
        fresh=r.fresh,
    )


def _milvus_config(s: StoreSettings) -> VectorConfig:
    from docchat.store.milvus_store import new_config as milvus_config

    return milvus_config(
        s.milvus_uri,
        s.milvus_index_type,
        dict(s.milvus_index_params),
        dict(s.milvus_search_params),
        s.milvus_consistency,
    )


def _milvus_open(config: VectorConfig, r: OpenRequest) -> VectorStore:
    from docchat.store.milvus_store import MilvusStore

    return MilvusStore(
        config,
        r.dimension,
        r.folder,
        token=r.settings.milvus_token,
        timeout=r.settings.milvus_timeout,
        create=r.create,
    )


register_backend("faiss", Backend(lambda s: VectorConfig(backend="faiss"), _faiss_open))
register_backend("milvus", Backend(_milvus_config, _milvus_open))
