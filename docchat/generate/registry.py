"""Names -> generator backends, and the per-process cache of loaded models.

The cache follows the one policy of docchat/model_cache.py (a couple kept, least recently
used closed first). It is per process rather than per facade because a loaded generator is a
process-wide resource: usually a child process holding the model.

Built-ins register exactly as a plugin would: `register_generator("name", factory)`, where the
factory takes GenerateSettings and returns a loaded Generator. A backend registered with
`isolated=True` (native code that can crash: llama.cpp, torch) is loaded in a child process
and driven through a `ProcessGenerator` (generate/process.py); the child imports the module
that defines the factory, so an isolated plugin backend must live in an importable module.
`check` validates the model cheaply before anything is loaded (generate/model_checks.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from docchat.config import GenerateSettings
from docchat.errors import ConfigError
from docchat.generate.base import Generator
from docchat.model_cache import ModelCache

GeneratorFactory = Callable[[GenerateSettings], Generator]
#: Validates the configured model before loading; returns its local path (for messages).
ModelCheck = Callable[[GenerateSettings], "str | None"]


@dataclass(frozen=True)
class Backend:
    factory: GeneratorFactory
    isolated: bool = False
    check: ModelCheck | None = None


_BACKENDS: dict[str, Backend] = {}

_cache: ModelCache[Generator] = ModelCache(close=lambda generator: generator.close())


def register_generator(
    name: str,
    factory: GeneratorFactory,
    *,
    isolated: bool = False,
    check: ModelCheck | None = None,
) -> None:
    _BACKENDS[name] = Backend(factory, isolated, check)


def generator_names() -> list[str]:
    return sorted(_BACKENDS)


def _llama_cpp(s: GenerateSettings) -> Generator:
    from docchat.generate.llama_cpp import LlamaCppGenerator

    return LlamaCppGenerator(
        s.model, n_ctx=s.n_ctx, n_threads=s.n_threads, n_gpu_layers=s.n_gpu_layers
    )


def _transformers(s: GenerateSettings) -> Generator:
    from docchat.generate.transformers_backend import TransformersGenerator

    return TransformersGenerator(s.model, n_ctx=s.n_ctx, device=s.device)


def _check_gguf(s: GenerateSettings) -> str:
    from docchat.generate.model_checks import check_gguf_model

    return check_gguf_model(s.model, n_ctx=s.n_ctx, n_gpu_layers=s.n_gpu_layers).path


def _check_transformers(s: GenerateSettings) -> str | None:
    from docchat.generate.model_checks import check_transformers_model

    return check_transformers_model(s.model, device=s.device)


def _openai(s: GenerateSettings) -> Generator:
    from docchat.generate.openai_compat import OpenAICompatGenerator

    return OpenAICompatGenerator(
        s.model, api_base=s.api_base, api_key_env=s.api_key_env, n_ctx=s.n_ctx
    )


register_generator("llama-cpp", _llama_cpp, isolated=True, check=_check_gguf)
register_generator("transformers", _transformers, isolated=True, check=_check_transformers)
register_generator("openai", _openai)  # HTTP only: nothing native to contain


def backend(name: str) -> Backend:
    try:
        return _BACKENDS[name]
    except KeyError:
        known = ", ".join(generator_names())
        raise ConfigError(
            f"config error: generate.backend = {name!r}: unknown (known: {known})"
        ) from None


def create_generator(settings: GenerateSettings, *, in_process: bool = False) -> Generator:
    """Load a fresh generator (no cache): checked first, then in a child process when the
    backend is isolated, unless `in_process` (benchmarks, and the child itself)."""
    chosen = backend(settings.backend)
    model_path = chosen.check(settings) if chosen.check is not None else None
    if chosen.isolated and not in_process:
        from docchat.generate.process import ProcessGenerator

        return ProcessGenerator(settings, chosen.factory.__module__, model_path)
    return chosen.factory(settings)


def cache_key(settings: GenerateSettings) -> tuple[object, ...]:
    """What decides which model is loaded (sampling settings do not: they apply per call)."""
    return (
        settings.backend,
        settings.model,
        settings.n_ctx,
        settings.n_threads,
        settings.n_gpu_layers,
        settings.device,
        settings.api_base,
    )


def get_generator(settings: GenerateSettings) -> Generator:
    """The loaded generator for these settings, loading it on first use."""
    return _cache.get(cache_key(settings), lambda: create_generator(settings))


def clear_cache() -> None:
    """Close every loaded generator (ends their model processes)."""
    _cache.clear()


def with_overrides(settings: GenerateSettings, overrides: dict[str, object]) -> GenerateSettings:
    """`settings` with some fields replaced (None means "not given"), validated, so a bad
    flag value gets the same one-line ConfigError as a bad config value."""
    given = {k: v for k, v in overrides.items() if v is not None}
    if not given:
        return settings
    unknown = sorted(set(given) - set(GenerateSettings.model_fields))
    if unknown:
        raise ConfigError(f"unknown generation setting(s): {', '.join(unknown)}")
    from pydantic import ValidationError

    try:
        return GenerateSettings.model_validate({**settings.model_dump(), **given})
    except ValidationError as e:
        first = e.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"generate.{key} = {first.get('input')!r}: {first['msg']}") from None
