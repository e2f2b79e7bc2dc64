"""The ask flow: condense → retrieve → abstain? → prompt → stream → Answer.

Written against a `search` callable and a lazy `generator` getter so it runs (and is tested)
without the service, a collection or a real model; the model is not even loaded when the
answer is an abstention on a first question. Conversations (history in, exchange stored)
are the facade's job: `Docchat.ask`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Protocol

from docchat.generate.base import GenerationOptions, Generator
from docchat.generate.citations import parse_citations
from docchat.generate.condense import condense
from docchat.generate.loops import LoopGuard
from docchat.generate.prompt import ANSWER_STOP, Turn, build_prompt
from docchat.types import Answer, AnswerTimings, Hit, Source, Verified

log = logging.getLogger(__name__)

ABSTAIN_TEXT = (
    "The documents in this collection don't seem to cover that, so I can't answer it from "
    "them. Try rephrasing the question, or index the documents that would answer it."
)

SearchFn = Callable[[str], Sequence[Hit]]
GeneratorSource = Generator | Callable[[], Generator]


class Finisher(Protocol):
    """Checks an answer (docchat/claims): fed its pieces while the model writes, then called
    with the finished text and whether it was stopped (a stopped answer is never turned
    into an abstention)."""

    def feed(self, piece: str) -> None: ...

    def __call__(self, text: str, stopped: bool) -> Verified: ...


# Given the question and the sources offered, start checking (the sources are prepared while
# the model writes).
VerifyFactory = Callable[[str, tuple[Source, ...]], Finisher]


# Top-1 dense cosine under which a question is "not covered", per embedding model (lower-case
# name), from benchmarks/calibrate_abstention.py: the highest 0.025 step that refused none of
# 1,050 real SciFact/Cranfield questions, while refusing 89% of off-topic ones (docs/answers.md).
CALIBRATED_ABSTAIN = {
    "all-minilm-l6-v2": 0.30,
    "sentence-transformers/all-minilm-l6-v2": 0.30,
}


def abstain_threshold(configured: float, embedding_model: str | None) -> float:
    """`configured` when set (>= 0); else the calibrated value for the collection's embedding
    model, or 0 (never abstain) for a model whose cosines were never measured."""
    if configured >= 0:
        return configured
    return CALIBRATED_ABSTAIN.get((embedding_model or "").lower(), 0.0)


def relevance(hits: Sequence[Hit]) -> float | None:
    """How well the best hit matches: the highest dense cosine among the hits.

    Fused (hybrid) scores are rank-based and not comparable across queries, so abstention
    reads the dense cosine each hit carries in `explain`; hits without one (keyword-only
    search) fall back to their own score.
    """
    if not hits:
        return None
    dense = [h.explain.get("dense_score") for h in hits]
    cosines = [float(d) for d in dense if d is not None]
    return max(cosines) if cosines else float(hits[0].score)


def _as_pieces(text: str, start: int, ends: deque[int], last: bool = False) -> Iterator[str]:
    """text[start:] as the model's pieces (`ends`: where they end, consumed as they pass),
    a piece only once it is whole unless this is the `last` call: a run of pieces the loop
    guard held back comes out as those pieces, so a reader that counts pieces (the app's
    live tokens/s) still counts tokens."""
    at = start
    while ends and ends[0] <= len(text):
        end = ends.popleft()
        if end > at:
            yield text[at:end]
            at = end
    if last and len(text) > at:
        yield text[at:]


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


def answer_stream(
    question: str,
    *,
    search: SearchFn,
    generator: GeneratorSource,
    options: GenerationOptions,
    history: Sequence[Turn] = (),
    abstain_below: float = 0.0,
    cancel: threading.Event | None = None,
    on_query: Callable[[str], None] | None = None,
    model_name: str = "",
    verify: VerifyFactory | None = None,
) -> Iterator[str | Answer]:
    """Yield the answer's text pieces as they come, then the Answer."""
    start = time.perf_counter()
    loaded: list[Generator] = []
    load_ms: list[float] = []

    def model() -> Generator:
        if not loaded:
            t = time.perf_counter()
            loaded.append(generator if isinstance(generator, Generator) else generator())
            load_ms.append(_ms(t))
        return loaded[0]

    def cancelled() -> bool:
        return cancel is not None and cancel.is_set()

    def finish(
        text: str,
        query: str,
        timings: AnswerTimings,
        *,
        sources: tuple[Source, ...] = (),
        cited: tuple[int, ...] = (),
        abstained: bool = False,
        stopped: bool = False,
        verified: Verified | None = None,
        repeated: bool = False,
    ) -> Answer:
        timings = replace(timings, load_ms=load_ms[0] if load_ms else None, total_ms=_ms(start))
        if verified is not None:
            return Answer(
                text=verified.text,
                question=question,
                query=query,
                sources=sources,
                cited=verified.cited,
                abstained=verified.abstained,
                stopped=stopped,
                model=loaded[0].name if loaded else model_name,
                timings=timings,
                repeated=repeated,
                raw_answer=text,
                claims=verified.claims,
            )
        return Answer(
            text=text,
            question=question,
            query=query,
            sources=sources,
            cited=cited,
            abstained=abstained,
            stopped=stopped,
            model=loaded[0].name if loaded else model_name,
            timings=timings,
            repeated=repeated,
        )

    query, condense_ms = question, None
    if history:
        t = time.perf_counter()
        query = condense(model(), history, question, cancel)
        condense_ms = _ms(t)
        if on_query is not None and query != question:
            on_query(query)
    if cancelled():
        yield finish("", query, AnswerTimings(condense_ms=condense_ms), stopped=True)
        return

    t = time.perf_counter()
    hits = list(search(query))
    retrieval_ms = _ms(t)
    timings = AnswerTimings(retrieval_ms=retrieval_ms, condense_ms=condense_ms)
    best = relevance(hits)
    if best is None or best < abstain_below:
        yield ABSTAIN_TEXT
        yield finish(ABSTAIN_TEXT, query, timings, abstained=True)
        return
    if cancelled():
        yield finish("", query, timings, stopped=True)
        return

    gen = model()
    prompt = build_prompt(gen, question, hits, history, options.max_tokens)
    t_ask = time.perf_counter()
    t_first: float | None = None
    options = replace(options, max_tokens=prompt.max_tokens, stop=options.stop + ANSWER_STOP)
    finisher = verify(question, prompt.sources) if verify is not None else None
    stream = gen.stream(prompt.messages, options, cancel)
    loops = LoopGuard()
    shown = 0  # characters of the answer yielded so far: what the guard lets show
    fed = 0  # characters the model has given
    ends: deque[int] = deque()  # where its pieces end in the answer (those not yet shown)
    try:
        for piece in stream:
            if t_first is None:
                t_first = time.perf_counter()
            if finisher is not None:
                finisher.feed(piece)
            looping = loops.feed(piece)
            fed += len(piece)
            ends.append(fed)
            visible = loops.visible
            for part in _as_pieces(visible, shown, ends):
                yield part
                shown += len(part)
            if looping:
                log.info("answer stopped: the model began to repeat itself")
                break
            if cancelled():
                break
        # What was held back, when it proved no repetition (or the answer was stopped).
        yield from _as_pieces(loops.text, shown, ends, last=True)
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()  # stops the model, also when our consumer stopped reading early
    t_end = time.perf_counter()
    text = loops.text.strip()  # (all the pieces, less a repetition it cut)
    n_tokens = gen.count_tokens(text)
    rate = None
    if t_first is not None and n_tokens > 1 and t_end > t_first:
        rate = (n_tokens - 1) / (t_end - t_first)
    timings = replace(
        timings,
        ttft_ms=(t_first - t_ask) * 1000 if t_first is not None else None,
        tokens_per_s=rate,
    )
    verified = None
    if finisher is not None:
        t = time.perf_counter()
        verified = finisher(text, cancelled())
        timings = replace(timings, verify_ms=_ms(t))
    yield finish(
        text,
        query,
        timings,
        sources=prompt.sources,
        cited=tuple(parse_citations(text, len(prompt.sources))),
        stopped=cancelled(),
        verified=verified,
        repeated=loops.cut is not None,
    )
