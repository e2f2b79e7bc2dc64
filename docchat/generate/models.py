"""Which model file a generator loads: the configured one, one already on the machine
(discovery.py), or the bundled default (bundled.py)."""

from __future__ import annotations

from pathlib import Path

from docchat.errors import ModelError
from docchat.generate.bundled import (
    DEFAULT_DISTRIBUTION,
    DEFAULT_GGUF,
    DEFAULT_NAME,
    default_model_path,
)

__all__ = [
    "DEFAULT_DISTRIBUTION",
    "DEFAULT_GGUF",
    "DEFAULT_NAME",
    "default_model_path",
    "display_name",
    "looks_like_path",
    "resolve_model",
]


def looks_like_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or "\\" in model or model.endswith(".gguf")


def resolve_model(model: str, *, want_file: bool) -> str:
    """A local path for the default, for path-like names and for the names of models already
    on the machine (see discovery.py); other names pass through.

    `want_file`: the backend needs a single file (llama.cpp's GGUF), not a folder.
    """
    if not model:
        return str(default_model_path())
    local = Path(model).expanduser()
    if local.exists():
        if want_file and local.is_dir():
            ggufs = sorted(local.glob("*.gguf"))
            if len(ggufs) == 1:
                return str(ggufs[0].resolve())
            if not ggufs:
                raise ModelError(
                    f"{local} is a folder without a .gguf file: give the path of a GGUF model "
                    "file with --model (generate.model), or use --backend transformers for a "
                    "model folder"
                )
            raise ModelError(
                f"{local} holds {len(ggufs)} .gguf files: give the path of one of them with --model"
            )
        return str(local.resolve())
    # A model already on the machine, by the name `docchat models` lists (HF cache, Ollama...).
    from docchat.generate.discovery import find_model

    found = find_model(model)
    if found is not None:
        return str(found)
    if want_file or looks_like_path(model):
        raise ModelError(
            f"model file not found: {local} (set generate.model or --model to an existing "
            "GGUF file or a name from `docchat models`; leave it empty for the bundled "
            "SmolLM2-135M-Instruct)"
        )
    return model


def display_name(model: str) -> str:
    """A short name for the UI: the file or folder name of a local model."""
    if not model:
        return DEFAULT_NAME
    path = Path(model).expanduser()
    if path.suffix == ".gguf":
        return path.stem
    return path.name if looks_like_path(model) or path.exists() else model
