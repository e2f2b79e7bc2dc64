"""Doctor checks of the models: the embedder loads and embeds (chunks/s on a small batch), the
chat model loads in its own process and generates a few tokens (tokens/s)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from docchat.doctor.check import Check, guarded
from docchat.errors import DocchatError

if TYPE_CHECKING:
    from docchat.service import Docchat

BATCH = [
    f"Passage {i}: the annual report discusses revenue, churn, pricing and the outlook for "
    f"next year in section {i}, with tables of figures by region and quarter."
    for i in range(32)
]
GENERATED_TOKENS = 8


def checks(service: Docchat) -> Iterator[Check]:
    yield guarded("embedder", "Embedding model", lambda: embedder_check(service))
    yield guarded("generator", "Chat model", lambda: generator_check(service))


def embedder_check(service: Docchat) -> Check:
    cfg = service.settings.embed
    start = time.perf_counter()
    try:
        embedder = service.embedder()
        vector = embedder.embed(["docchat doctor"])  # the model loads at its first text
    except DocchatError as e:
        return Check(
            "embedder",
            "Embedding model",
            "fail",
            str(e),
            "set embed.model to a bundled model name, a sentence-transformers name in the "
            "local cache, or a model folder",
            {"backend": cfg.backend, "model": cfg.model},
        )
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    embedder.embed(BATCH)
    rate = len(BATCH) / max(time.perf_counter() - start, 1e-9)
    data = {
        "backend": cfg.backend,
        "model": embedder.name,
        "precision": embedder.precision,
        "dimension": int(vector.shape[1]),
        "load_s": round(load_s, 2),
        "chunks_per_s": round(rate, 1),
    }
    return Check(
        "embedder",
        "Embedding model",
        "pass",
        f"{embedder.name} ({cfg.backend}, {embedder.precision}), {data['dimension']} dims, "
        f"loaded in {load_s:.1f} s, {rate:.0f} chunks/s",
        data=data,
    )


def generator_check(service: Docchat) -> Check:
    from docchat.generate.base import ChatMessage, GenerationOptions
    from docchat.generate.process import ProcessGenerator

    cfg = service.settings.generate
    data: dict[str, object] = {"backend": cfg.backend, "model": cfg.model or "(bundled)"}
    start = time.perf_counter()
    try:
        gen = service.generator()
        data["load_s"] = round(time.perf_counter() - start, 2)
        in_child = isinstance(gen, ProcessGenerator)
        data["process"] = "child" if in_child else "in-process"
        options = GenerationOptions(max_tokens=GENERATED_TOKENS, temperature=0.0)
        messages: list[ChatMessage] = [
            {"role": "user", "content": "Say hello to the user in one sentence."}
        ]
        pieces, first, start = 0, None, time.perf_counter()
        for _ in gen.stream(messages, options):
            first = first or time.perf_counter()
            pieces += 1
        end = time.perf_counter()
    except DocchatError as e:
        return Check(
            "generator",
            "Chat model",
            "fail",
            str(e),
            "set generate.model (or --model) to a complete GGUF file or model folder, or "
            "leave it empty for the bundled one",
            data,
        )
    rate = (pieces - 1) / (end - first) if first is not None and pieces > 1 and end > first else 0
    data.update(
        name=gen.name,
        tokens=pieces,
        tokens_per_s=round(rate, 1),
        ttft_ms=round((first - start) * 1000) if first is not None else None,
    )
    if pieces == 0:
        return Check(
            "generator",
            "Chat model",
            "fail",
            f"{gen.name} loaded but generated nothing",
            "try another model (generate.model)",
            data,
        )
    where = f"its own process (pid {getattr(gen, 'pid', '?')})" if in_child else "in-process"
    return Check(
        "generator",
        "Chat model",
        "pass",
        f"{gen.name} ({cfg.backend}) in {where}, loaded in {data['load_s']} s, "
        f"{pieces} tokens at {rate:.0f} tokens/s",
        data=data,
    )
