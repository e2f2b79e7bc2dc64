"""The ONNX embedding backends are registered and fail clearly without a local model.

(Exporting the real model takes tens of seconds; benchmarks/embed_speed.py exercises it.)
"""

from __future__ import annotations

import pytest

from docchat.config import EmbedSettings
from docchat.embed.registry import create_embedder
from docchat.errors import ModelError


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_needs_a_local_model(backend: str) -> None:
    pytest.importorskip("onnxruntime")
    with pytest.raises(ModelError, match="local model folder"):
        create_embedder(EmbedSettings(backend=backend, model="no/such-model-anywhere"))
