"""Prompt assembly: numbered, labelled sources and a budget that always fits n_ctx."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fakes import FakeGenerator

from docchat.errors import ModelError
from docchat.generate.prompt import SYSTEM_PROMPT, Turn, build_prompt, trim_to_tokens
from docchat.types import Hit

MakeHit = Callable[..., Hit]


def test_sources_are_numbered_and_labelled_with_file_page_and_lines(make_hit: MakeHit) -> None:
    hits = [make_hit(1, page=3, path="/a/annual-2023.pdf"), make_hit(2)]
    prompt = build_prompt(FakeGenerator(), "What about churn?", hits, max_tokens=64)
    system, user = prompt.messages[0], prompt.messages[-1]
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert "cite" in SYSTEM_PROMPT and "ONLY" in SYSTEM_PROMPT
    assert "[1] annual-2023.pdf, p. 3, lines 10–14\nChurn rose" in user["content"]
    assert "[2] report-2.md, lines 20–24\n" in user["content"]
    assert user["content"].endswith("Question: What about churn?")
    assert [s.n for s in prompt.sources] == [1, 2]
    assert prompt.sources[0].path == "/a/annual-2023.pdf" and prompt.sources[0].page == 3


def test_huge_sources_and_long_history_never_exceed_n_ctx(make_hit: MakeHit) -> None:
    gen = FakeGenerator(n_ctx=600)
    hits = [make_hit(i, text="revenue churn " * 400) for i in range(1, 20)]
    history = [Turn(f"question {i}", "long answer " * 500) for i in range(10)]
    prompt = build_prompt(gen, "And churn?", hits, history, max_tokens=128)
    assert gen.count_prompt_tokens(prompt.messages) == prompt.prompt_tokens
    assert prompt.prompt_tokens + prompt.max_tokens <= gen.n_ctx
    assert prompt.max_tokens == 128
    assert prompt.sources, "the best source is trimmed to fit rather than dropped"
    assert prompt.dropped_sources == len(hits) - len(prompt.sources)


def test_lowest_ranked_sources_are_dropped_first(make_hit: MakeHit) -> None:
    gen = FakeGenerator(n_ctx=400)
    hits = [make_hit(i, text=f"source{i} " + "word " * 60) for i in range(1, 8)]
    prompt = build_prompt(gen, "q?", hits, max_tokens=64)
    kept = len(prompt.sources)
    assert 1 <= kept < len(hits)
    assert [s.chunk_id for s in prompt.sources] == [h.chunk_id for h in hits[:kept]]
    body = prompt.messages[-1]["content"]
    assert f"source{kept + 1}" not in body


def test_the_last_source_that_fits_in_part_is_trimmed(make_hit: MakeHit) -> None:
    gen = FakeGenerator(n_ctx=300)
    hits = [make_hit(1, text="alpha " * 500)]
    prompt = build_prompt(gen, "q?", hits, max_tokens=64)
    assert len(prompt.sources) == 1
    assert prompt.messages[-1]["content"].count("alpha") < 500
    assert "…" in prompt.messages[-1]["content"]


def test_oldest_turns_are_dropped_first(make_hit: MakeHit) -> None:
    gen = FakeGenerator(n_ctx=450)
    history = [Turn(f"question number {i}", f"answer {i} " + "x " * 40) for i in range(8)]
    prompt = build_prompt(gen, "q?", [make_hit(1)], history, max_tokens=64)
    assert 0 < prompt.dropped_turns < len(history)
    questions = [m["content"] for m in prompt.messages if m["role"] == "user"][:-1]
    kept = len(history) - prompt.dropped_turns
    assert questions == [t.question for t in history[-kept:]]


def test_history_never_crowds_out_the_sources(make_hit: MakeHit) -> None:
    gen = FakeGenerator(n_ctx=800)
    history = [Turn("q", "y " * 5000)]
    hits = [make_hit(i, text="fact " * 30) for i in range(1, 6)]
    prompt = build_prompt(gen, "q?", hits, history, max_tokens=64)
    assert len(prompt.sources) == 5
    assert prompt.prompt_tokens + prompt.max_tokens <= gen.n_ctx


def test_answer_budget_shrinks_when_the_question_nearly_fills_the_context() -> None:
    gen = FakeGenerator(n_ctx=300)
    prompt = build_prompt(gen, "word " * 150, [], max_tokens=256)
    assert prompt.prompt_tokens + prompt.max_tokens <= 300
    assert prompt.max_tokens < 256


def test_a_question_longer_than_the_context_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="n_ctx"):
        build_prompt(FakeGenerator(n_ctx=256), "word " * 400, [], max_tokens=64)


def test_trim_to_tokens_keeps_a_prefix_within_the_limit() -> None:
    gen = FakeGenerator()
    text = " ".join(f"w{i}" for i in range(100))
    trimmed = trim_to_tokens(text, 20, gen)
    assert gen.count_tokens(trimmed) <= 20
    assert trimmed.startswith("w0 w1") and trimmed.endswith("…")
    assert trim_to_tokens("short", 20, gen) == "short"
