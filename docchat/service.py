"""The facade: the one object the CLI, the TUI and the tests drive.

It owns settings, caches loaded models (loaded once per process, reused), opens collections
and delegates each job to the stage that does it. Nothing here imports a heavy library at
module level; models load on first use (or in a TUI worker through `embedder()`).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from docchat.config import EmbedSettings, Settings
from docchat.embed.base import Embedder
from docchat.errors import CollectionError, ConfigError, DocchatError
from docchat.store.collection import Collection, list_collections, remove_collection
from docchat.types import CheckReport, CollectionInfo, Hit, IndexEvent


def load_plugins(modules: Sequence[str]) -> None:
    """Import plugin modules; they register backends on import, as the built-ins do."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise ConfigError(f"config error: plugins: cannot import {name!r}: {e}") from None


class Docchat:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._embedders: dict[tuple[str, str, str], Embedder] = {}
        self._collections: dict[str, Collection] = {}
        self._lock = threading.RLock()
        load_plugins(settings.plugins)

    # ------------------------------------------------------------ models

    def embedder(self, model: str | None = None) -> Embedder:
        """The embedder for `model` (default: the configured one), loaded once and reused."""
        cfg = self.settings.embed
        if model and model != cfg.model:
            cfg = EmbedSettings.model_validate({**cfg.model_dump(), "model": model})
        key = (cfg.backend, cfg.model, cfg.device)
        with self._lock:
            if key not in self._embedders:
                from docchat.embed.registry import create_embedder

                self._embedders[key] = create_embedder(cfg)
            return self._embedders[key]

    def embedder_for(self, coll: Collection) -> Embedder | None:
        """The model a collection was embedded with (queries must use the same one)."""
        model = coll.meta("model")
        return self.embedder(model) if model else None

    # ------------------------------------------------------------ collections

    def open_collection(self, name: str, *, create: bool = False) -> Collection:
        with self._lock:
            coll = self._collections.get(name)
            if coll is None or not (coll.folder / "docchat.sqlite").exists():
                coll = Collection.open(name, self.settings.data_dir, create=create)
                self._collections[name] = coll
            return coll

    def collection_names(self) -> list[str]:
        return list_collections(self.settings.data_dir)

    def collections(self) -> list[CollectionInfo]:
        return [self.open_collection(n).info() for n in self.collection_names()]

    def check(self, name: str) -> CheckReport:
        return self.open_collection(name).check()

    def rebuild(self, name: str) -> int:
        coll = self.open_collection(name)
        with coll.writing():
            return coll.rebuild(self.settings.store.approximate_above)

    def remove(self, name: str) -> None:
        with self._lock:
            coll = self._collections.pop(name, None)
            if coll:
                coll.close()
        remove_collection(name, self.settings.data_dir)

    def reembed(self, name: str, model: str) -> Iterator[tuple[int, int]]:
        """Re-embed every chunk with another model; yields (done, total) as it goes."""
        from docchat.reembed import reembed

        coll = self.open_collection(name)
        with coll.writing():
            yield from reembed(coll, self.embedder(model), self.settings)

    # ------------------------------------------------------------ the jobs

    def index(
        self,
        name: str,
        paths: Sequence[str | Path],
        cancel: threading.Event | None = None,
    ) -> Iterator[IndexEvent]:
        """Index folders/files into a collection, yielding progress; the last event is the
        IndexSummary. Setting `cancel` stops the run cleanly (it still checkpoints)."""
        from docchat.indexing import IndexRun, check_model

        roots = [Path(p).expanduser().resolve() for p in paths]
        for root in roots:
            if not root.exists():
                raise DocchatError(f"no such file or folder: {root}")
        coll = self.open_collection(name, create=True)
        check_model(coll, self.settings.embed.model)  # before loading any model
        with coll.writing():
            run = IndexRun(coll, self.embedder(), self.settings, cancel)
            yield from run.run(roots)

    def search(
        self, collection: str, query: str, k: int | None = None, mode: str | None = None
    ) -> list[Hit]:
        from docchat.retrieve import search

        if not query.strip():
            raise DocchatError("empty query")
        coll = self.open_collection(collection)
        mode = mode or self.settings.search.mode
        embedder = self.embedder_for(coll) if mode != "keyword" else None
        if embedder is None and mode == "dense":
            raise CollectionError(f"collection '{collection}' has nothing indexed yet")
        return search(coll, embedder, query, k or self.settings.search.k, mode)
