"""Names -> embedder backends. Built-ins register exactly as a plugin would."""

from __future__ import annotations

from collections.abc import Callable

from docchat.config import EmbedSettings
from docchat.embed.base import Embedder
from docchat.errors import ConfigError

EmbedderFactory = Callable[[EmbedSettings], Embedder]
_BACKENDS: dict[str, EmbedderFactory] = {}


def register_embedder(name: str, factory: EmbedderFactory) -> None:
    _BACKENDS[name] = factory


def _sentence_transformers(settings: EmbedSettings) -> Embedder:
    from docchat.embed.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(settings.model, device=settings.device)


register_embedder("sentence-transformers", _sentence_transformers)


def _onnx(int8: bool) -> EmbedderFactory:
    def factory(settings: EmbedSettings) -> Embedder:
        from docchat.embed.onnx import OnnxEmbedder

        return OnnxEmbedder(settings.model, int8=int8)

    return factory


# CPU speed-ups, made locally from the same model (see docchat/embed/onnx.py).
register_embedder("onnx", _onnx(int8=False))
register_embedder("onnx-int8", _onnx(int8=True))


def create_embedder(settings: EmbedSettings) -> Embedder:
    try:
        factory = _BACKENDS[settings.backend]
    except KeyError:
        known = ", ".join(sorted(_BACKENDS))
        raise ConfigError(
            f"config error: embed.backend = {settings.backend!r}: unknown (known: {known})"
        ) from None
    return factory(settings)
