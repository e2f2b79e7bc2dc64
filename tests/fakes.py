"""Fast stand-ins for the real models, for unit tests.

FakeEmbedder is a hashed bag of words: texts sharing words get similar vectors, so search
tests are meaningful, and it costs microseconds. It registers as the embed backend "fake"
(import this module as a plugin: DOCCHAT_PLUGINS=fakes with tests/ on PYTHONPATH).
"""

from __future__ import annotations

import os
import re
import threading
import time
import zlib
from collections.abc import Sequence

import numpy as np

from docchat.config import EmbedSettings
from docchat.embed.base import Embedder, normalize
from docchat.embed.registry import register_embedder

_TOKEN = re.compile(r"\w+|[^\w\s]")


class FakeEmbedder(Embedder):
    def __init__(self, name: str = "fake-embedder", dimension: int = 64, max_tokens: int = 64):
        self.name = name
        self.dimension = dimension
        self.max_tokens = max_tokens
        self.calls = 0
        self.texts_embedded = 0
        self.gate: threading.Event | None = None  # tests can hold embedding until released

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if self.gate is not None:
            self.gate.wait()
        self.calls += 1
        _maybe_hang(self.calls)
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = zlib.crc32(word.encode())
                out[row, h % self.dimension] += 1.0 if (h >> 16) & 1 else -1.0
            if not out[row].any():
                out[row, 0] = 1.0
        return normalize(out)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(_TOKEN.findall(t)) for t in texts]


def _maybe_hang(calls: int) -> None:
    """In a subprocess under test: after FAKE_EMBED_HANG_AFTER calls, drop a marker file and
    hang, so the test can kill -9 the process at a known point mid-run."""
    after = os.environ.get("FAKE_EMBED_HANG_AFTER")
    if after and calls > int(after):
        marker = os.environ["FAKE_EMBED_MARKER"]
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        while True:
            time.sleep(3600)  # killed by the test; not a timing wait


def _factory(settings: EmbedSettings) -> Embedder:
    return FakeEmbedder(name=settings.model)


register_embedder("fake", _factory)
