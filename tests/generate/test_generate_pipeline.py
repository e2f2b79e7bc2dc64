"""The ask flow with a fake generator: abstention, condensation, citations, stop, timings."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import pytest
from fakes import FakeGenerator

from docchat.generate.base import GenerationOptions, Generator
from docchat.generate.pipeline import ABSTAIN_TEXT, abstain_threshold, answer_stream, relevance
from docchat.generate.prompt import Turn
from docchat.types import Answer, Hit

MakeHit = Callable[..., Hit]

OPTIONS = GenerationOptions(max_tokens=64, temperature=0.0)


def run(question: str, **kwargs: object) -> tuple[list[str], Answer]:
    items = list(answer_stream(question, options=OPTIONS, **kwargs))  # type: ignore[arg-type]
    *pieces, answer = items
    assert isinstance(answer, Answer) and all(isinstance(p, str) for p in pieces)
    return [str(p) for p in pieces], answer


class Searches:
    """A search callable that records its queries."""

    def __init__(self, hits: Sequence[Hit]) -> None:
        self.hits = list(hits)
        self.queries: list[str] = []

    def __call__(self, query: str) -> list[Hit]:
        self.queries.append(query)
        return self.hits


def never_loaded() -> Generator:
    raise AssertionError("the model must not be loaded to abstain")


def test_streams_pieces_then_a_cited_answer(make_hit: MakeHit, fake: FakeGenerator) -> None:
    hits = [make_hit(1, page=2), make_hit(2)]
    pieces, answer = run("What about churn?", search=Searches(hits), generator=fake)
    assert len(pieces) > 1 and "".join(pieces).strip() == answer.text
    assert answer.text.endswith("[1]") and answer.cited == (1,)
    assert [s.n for s in answer.sources] == [1, 2]
    assert answer.cited_sources[0].page == 2 and answer.cited_sources[0].path.endswith("-1.md")
    assert not answer.abstained and not answer.stopped and not answer.repeated
    assert answer.query == "What about churn?" and not answer.rewritten
    assert answer.model == "fake-generator"
    t = answer.timings
    assert t.retrieval_ms is not None and t.ttft_ms is not None and t.tokens_per_s is not None
    assert t.condense_ms is None


def test_citation_numbers_outside_the_sources_are_ignored(make_hit: MakeHit) -> None:
    gen = FakeGenerator(responses=["It rose [2] and fell [1, 3][7]."])
    _, answer = run("q?", search=Searches([make_hit(1), make_hit(2)]), generator=gen)
    assert answer.cited == (2, 1)


def test_abstains_without_calling_the_model_when_nothing_is_relevant(make_hit: MakeHit) -> None:
    search = Searches([make_hit(1, dense=0.12), make_hit(2, dense=0.10)])
    pieces, answer = run(
        "Best banana bread?",
        search=search,
        generator=never_loaded,
        abstain_below=0.3,
        model_name="m",
    )
    assert pieces == [ABSTAIN_TEXT] and answer.text == ABSTAIN_TEXT
    assert answer.abstained and answer.sources == () and answer.cited == ()
    assert answer.timings.ttft_ms is None and answer.model == "m"


def test_abstains_when_there_are_no_hits(fake: FakeGenerator) -> None:
    _, answer = run("q?", search=Searches([]), generator=fake)
    assert answer.abstained and fake.calls == []


def test_answers_when_the_best_dense_score_clears_the_threshold(make_hit: MakeHit) -> None:
    # The fused ranking put a weak dense match first; the strong one still counts.
    hits = [make_hit(1, dense=0.1), make_hit(2, dense=0.5)]
    _, answer = run("q?", search=Searches(hits), generator=FakeGenerator(), abstain_below=0.3)
    assert not answer.abstained


def test_relevance_reads_dense_cosines_and_falls_back_to_the_score(make_hit: MakeHit) -> None:
    assert relevance([]) is None
    assert relevance([make_hit(1, dense=0.2, score=9.0), make_hit(2, dense=0.4)]) == 0.4
    assert relevance([make_hit(1, dense=None, score=7.5)]) == 7.5


def test_follow_ups_are_condensed_into_a_standalone_query(make_hit: MakeHit) -> None:
    gen = FakeGenerator(
        responses=[
            "Standalone question: What did the 2024 report say about churn?",
            "In 2024 churn fell [1].",
        ]
    )
    search = Searches([make_hit(1)])
    shown: list[str] = []
    history = [Turn("What does the 2023 report say about churn?", "It rose [1].")]
    _, answer = run(
        "and in 2024?", search=search, generator=gen, history=history, on_query=shown.append
    )
    assert search.queries == ["What did the 2024 report say about churn?"]
    assert shown == search.queries and answer.query == search.queries[0] and answer.rewritten
    condense_call, answer_call = gen.calls
    assert "Follow-up question: and in 2024?" in condense_call[-1]["content"]
    assert "2023 report" in condense_call[-1]["content"]
    # The answer itself is asked with the conversation and the original question.
    assert answer_call[1] == {"role": "user", "content": history[0].question}
    assert answer_call[-1]["content"].endswith("Question: and in 2024?")
    assert answer.timings.condense_ms is not None


def test_a_useless_condensation_falls_back_to_both_questions(make_hit: MakeHit) -> None:
    gen = FakeGenerator(responses=["", "ok [1]"])
    search = Searches([make_hit(1)])
    run("and 2024?", search=search, generator=gen, history=[Turn("Churn in 2023?", "Up.")])
    assert search.queries == ["Churn in 2023? and 2024?"]


def test_first_questions_go_to_search_verbatim(make_hit: MakeHit, fake: FakeGenerator) -> None:
    search = Searches([make_hit(1)])
    run("What about churn?", search=search, generator=fake)
    assert search.queries == ["What about churn?"] and len(fake.calls) == 1


def test_stop_keeps_the_partial_answer_and_halts_the_model(make_hit: MakeHit) -> None:
    gen = FakeGenerator(responses=[" ".join(f"w{i}" for i in range(50))])
    cancel = threading.Event()
    gen.on_piece = lambda i: cancel.set() if i == 2 else None
    pieces, answer = run("q?", search=Searches([make_hit(1)]), generator=gen, cancel=cancel)
    assert answer.stopped and answer.text == "w0 w1 w2"
    assert gen.pieces_yielded == 3, "the generator itself stopped, not just the display"
    assert len(pieces) == 3


def test_stop_before_generation_never_calls_the_model(make_hit: MakeHit) -> None:
    cancel = threading.Event()
    cancel.set()
    _, answer = run("q?", search=Searches([make_hit(1)]), generator=never_loaded, cancel=cancel)
    assert answer.stopped and answer.text == ""


def test_the_generator_is_loaded_lazily_once(make_hit: MakeHit) -> None:
    loads: list[int] = []
    gen = FakeGenerator(responses=["q", "a [1]"])

    def load() -> Generator:
        loads.append(1)
        return gen

    _, answer = run(
        "f?", search=Searches([make_hit(1)]), generator=load, history=[Turn("q0", "a0")]
    )
    assert loads == [1] and answer.timings.load_ms is not None


@pytest.mark.parametrize("stop", [("STOP",), ("ST", "STOP")])
def test_stop_strings_end_the_answer(make_hit: MakeHit, stop: tuple[str, ...]) -> None:
    gen = FakeGenerator(responses=["one two STOP three"])
    pieces = list(gen.stream([{"role": "user", "content": "x"}], GenerationOptions(stop=stop)))
    assert "".join(pieces) == "one two "


def test_the_threshold_is_calibrated_per_embedding_model() -> None:
    assert abstain_threshold(-1.0, "all-MiniLM-L6-v2") == 0.30
    assert abstain_threshold(-1.0, "some-other-model") == 0.0, "never measured: never abstain"
    assert abstain_threshold(-1.0, None) == 0.0
    assert abstain_threshold(0.45, "all-MiniLM-L6-v2") == 0.45
