"""A plugin that writes to stdout — with print() and straight to fd 1, as C libraries do — on
import and on every embedding batch: `docchat mcp` must keep all of it off the protocol stream.
It registers the embed backend "noisy": the fake embedder (same vectors), plus the noise."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from fakes import FakeEmbedder

from docchat.config import EmbedSettings
from docchat.embed.base import Embedder
from docchat.embed.registry import register_embedder


def _noise(where: str) -> None:
    print(f"noisy plugin: {where} (print)", flush=True)
    os.write(1, f"noisy plugin: {where} (fd 1)\n".encode())


class NoisyEmbedder(FakeEmbedder):
    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        _noise("embedding")
        return super().embed_batch(texts)


def _factory(settings: EmbedSettings) -> Embedder:
    return NoisyEmbedder(name=settings.model)


register_embedder("noisy", _factory)
_noise("import")
