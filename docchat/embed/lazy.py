"""An embedder that loads its model when the first text is embedded.

Until then its name, size, longest input and token counts come from the model's files
(local_model.py): an index run with nothing to embed — or only chunks whose texts are stored
already — never imports torch (a no-change re-index went from 7.2 s to well under 1 s). The
tokenizer itself is read when a text is first counted.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from docchat.embed.base import Embedder
from docchat.embed.local_model import LocalModel
from docchat.errors import ModelError

if TYPE_CHECKING:
    from tokenizers import Tokenizer


class LazyEmbedder(Embedder):
    counts_tokens_apart = True  # its own tokenizer (read from the files), not the model's

    def __init__(
        self, name: str, precision: str, model: LocalModel, load: Callable[[], Embedder]
    ) -> None:
        self.name = name
        self.precision = precision
        self.dimension = model.dimension
        self._files = model
        self._tokens: Tokenizer | None = None
        self._max_tokens: int | None = None
        self._load = load
        self._model: Embedder | None = None
        self._lock = threading.Lock()
        self._preloading = False

    @property
    def _tokenizer(self) -> Tokenizer:
        if self._tokens is None:
            self._tokens = self._files.tokenizer()
        return self._tokens

    @property
    def max_tokens(self) -> int:  # type: ignore[override]
        if self._max_tokens is None:
            self._max_tokens = self._files.max_length - self._files.special_tokens(self._tokenizer)
        return self._max_tokens

    @max_tokens.setter
    def max_tokens(self, value: int) -> None:
        self._max_tokens = value

    @property
    def is_loaded(self) -> bool:
        return self._model is not None

    def loaded(self) -> Embedder:
        """The real embedder, loaded on first call (once, whichever thread asks first)."""
        with self._lock:
            if self._model is None:
                model = self._load()
                if model.dimension != self.dimension:
                    raise ModelError(
                        f"embedding model '{self.name}' makes {model.dimension}-d vectors, but "
                        f"its files say {self.dimension}"
                    )
                self._model = model
                # A path that could not load stands in with another of its family (OpenVINO
                # -> torch): say which one embeds.
                self.precision = model.precision
            return self._model

    def preload(self) -> threading.Thread | None:
        """Start loading the model on a thread of its own, so that the load overlaps other
        work (an index run calls this when it reads its first changed file: parsing and
        chunking it take about as long as importing and compiling the model). A failure is
        left for the first real use to raise."""
        if self._model is not None or self._preloading:
            return None
        self._preloading = True

        def load() -> None:
            with contextlib.suppress(Exception):
                self.loaded()

        thread = threading.Thread(target=load, name="docchat-embedder-load", daemon=True)
        thread.start()
        return thread

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        return self.loaded().embed_batch(texts)

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.loaded().embed(texts, batch_size)

    def embed_few(self, texts: Sequence[str]) -> np.ndarray:
        return self.loaded().embed_few(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.loaded().embed_query(text)

    def fingerprint(self) -> str:
        return self.loaded().fingerprint()

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        encoded = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encoded]
