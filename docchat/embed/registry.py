"""Names -> embedder backends. Built-ins register exactly as a plugin would."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from docchat.config import EmbedSettings
from docchat.embed.base import Embedder
from docchat.errors import ConfigError

if TYPE_CHECKING:
    from docchat.embed.local_model import LocalModel

EmbedderFactory = Callable[[EmbedSettings], Embedder]
_BACKENDS: dict[str, EmbedderFactory] = {}
BUILT_IN = "sentence-transformers"


def register_embedder(name: str, factory: EmbedderFactory) -> None:
    _BACKENDS[name] = factory


def _local_model(name: str) -> LocalModel | None:
    """The model's files when they can stand in for it until it is needed (else None)."""
    from docchat.embed.local_model import LocalModel
    from docchat.embed.models import resolve_embedding_model

    folder = Path(resolve_embedding_model(name))
    return LocalModel.read(folder) if folder.is_dir() else None


def _sentence_transformers(settings: EmbedSettings) -> Embedder:
    from docchat.embed.lazy import LazyEmbedder
    from docchat.embed.precision import resolve_precision

    precision = resolve_precision(settings.precision, device=settings.device)

    def load() -> Embedder:
        if precision == "int8":  # int8 is an ONNX Runtime model made from the same weights
            from docchat.embed.onnx import OnnxEmbedder

            return OnnxEmbedder(settings.model, int8=True)
        torch_precision: str = precision
        if precision == "ov-int8":
            try:
                return _openvino(settings.model)
            except Exception as e:  # no openvino, or its model cannot be made: torch works
                from docchat.embed.precision import torch_precision as fallback

                torch_precision = fallback()
                logging.getLogger(__name__).warning("OpenVINO path unavailable", exc_info=True)
                reason = str(e).splitlines()[0] if str(e) else type(e).__name__
                print(
                    f"docchat: the OpenVINO int8 embedder is not available ({reason}); "
                    f"using torch {torch_precision}",
                    file=sys.stderr,
                )
        from docchat.embed.sentence_transformers import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(settings.model, settings.device, torch_precision)

    # Loaded when the first text is embedded (a run with nothing new never imports torch).
    local = _local_model(settings.model)
    if local is not None:
        return LazyEmbedder(settings.model, precision, local, load)
    return load()


register_embedder(BUILT_IN, _sentence_transformers)


def _openvino(model: str) -> Embedder:
    from docchat.embed.openvino import OpenVinoEmbedder

    return OpenVinoEmbedder(model, "ov-int8")


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


def create_query_embedder(settings: EmbedSettings, precision: str) -> Embedder:
    """What embeds the queries of a collection indexed at `precision`. For the built-in
    backend, the same model in ONNX Runtime (int8 for an int8 collection, else fp32, whose
    vectors match fp32 and bf16 ones), or OpenVINO for an ov-int8 collection: a one-off
    search never imports torch. If that cannot
    be made, one line on stderr says so and the indexing embedder is used."""
    if settings.backend != BUILT_IN or _local_model(settings.model) is None:
        return create_embedder(settings)
    from docchat.embed.onnx import OnnxEmbedder

    try:
        if precision == "ov-int8":  # its own family: its queries need the same model
            return _openvino(settings.model)
        return OnnxEmbedder(settings.model, int8=precision == "int8")
    except Exception as e:  # any failure of the export: the full model still works
        logging.getLogger(__name__).warning("query encoder unavailable", exc_info=True)
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(
            f"docchat: the fast query encoder is not available ({reason}); using the full model",
            file=sys.stderr,
        )
        fallback = settings.model_copy(update={"precision": precision})
        return create_embedder(fallback)
