"""Names -> generator backends, and the per-process cache of loaded models.

Built-ins register exactly as a plugin would: `register_generator("name", factory)`, where the
factory takes GenerateSettings and returns a loaded Generator.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from docchat.config import GenerateSettings
from docchat.errors import ConfigError
from docchat.generate.base import Generator

GeneratorFactory = Callable[[GenerateSettings], Generator]
_BACKENDS: dict[str, GeneratorFactory] = {}

# Loaded models are big: keep a couple (e.g. the TUI switching back and forth), no more.
CACHE_SIZE = 2
_cache: OrderedDict[tuple[object, ...], Generator] = OrderedDict()
_cache_lock = threading.Lock()


def register_generator(name: str, factory: GeneratorFactory) -> None:
    _BACKENDS[name] = factory


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


def _openai(s: GenerateSettings) -> Generator:
    from docchat.generate.openai_compat import OpenAICompatGenerator

    return OpenAICompatGenerator(
        s.model, api_base=s.api_base, api_key_env=s.api_key_env, n_ctx=s.n_ctx
    )


register_generator("llama-cpp", _llama_cpp)
register_generator("transformers", _transformers)
register_generator("openai", _openai)


def create_generator(settings: GenerateSettings) -> Generator:
    """Load a fresh generator (no cache)."""
    try:
        factory = _BACKENDS[settings.backend]
    except KeyError:
        known = ", ".join(generator_names())
        raise ConfigError(
            f"config error: generate.backend = {settings.backend!r}: unknown (known: {known})"
        ) from None
    return factory(settings)


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
    key = cache_key(settings)
    with _cache_lock:  # held while loading, so two threads never load the same model twice
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        generator = create_generator(settings)
        _cache[key] = generator
        while len(_cache) > CACHE_SIZE:
            _, old = _cache.popitem(last=False)
            old.close()
        return generator


def clear_cache() -> None:
    with _cache_lock:
        while _cache:
            _, old = _cache.popitem(last=False)
            old.close()


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
