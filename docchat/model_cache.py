"""The one policy for loaded models: kept per process, least recently used dropped first.

The facade keeps one cache per kind of model (embedders, rerankers); a model is loaded once,
under the cache's lock, so two threads (a TUI warm-up worker and a search) never load the
same model twice, and one pushed out is closed so its memory goes at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

M = TypeVar("M")

MODELS_KEPT = 2  # per kind: enough to switch back and forth, and models are big


class ModelCache(Generic[M]):
    def __init__(
        self, size: int = MODELS_KEPT, close: Callable[[M], object] = lambda model: None
    ) -> None:
        self.size = size
        self._close = close
        self._models: OrderedDict[Hashable, M] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], M]) -> M:
        """The model for `key`, made by `load()` the first time it is asked for."""
        with self._lock:  # held while loading: see the module doc
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            model = load()
            self._models[key] = model
            while len(self._models) > self.size:
                _, old = self._models.popitem(last=False)
                self._close(old)
            return model

    def loaded(self, key: Hashable) -> M | None:
        """The model for `key` if it is loaded already (nothing is loaded here)."""
        with self._lock:
            return self._models.get(key)

    def clear(self) -> None:
        with self._lock:
            while self._models:
                self._close(self._models.popitem(last=False)[1])
