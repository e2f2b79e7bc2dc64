"""Prompt assembly: numbered sources, instructions to cite them, and a token budget.

The budget is measured with the model's own tokenizer, on the fully templated prompt, so that
system prompt + history + sources + question + the answer's max tokens never exceed n_ctx.
When something has to give, the lowest-ranked sources go first (the last one that fits is
trimmed rather than dropped), and history keeps only its newest turns.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from docchat.errors import ModelError
from docchat.generate.base import ChatMessage, Generator
from docchat.types import Hit, Source

SYSTEM_PROMPT = (
    "You answer questions about the user's documents using ONLY the numbered sources given "
    "with the question. After each statement, cite the sources it comes from by number in "
    "square brackets, like [1] or [2][3]. If the sources do not contain the answer, say that "
    "the documents do not cover it. Do not use outside knowledge. Be concise."
)
# Small models sometimes echo the prompt's layout and run on into a new "Question:"; the
# answer is over by then.
ANSWER_STOP = ("\nQuestion:",)
HISTORY_SHARE = 0.25  # at most this part of the free budget goes to earlier turns
MIN_SOURCE_TOKENS = 48  # a source trimmed below this is useless: drop it instead
MIN_ANSWER_TOKENS = 32
TURN_OVERHEAD = 12  # template markers around one user + one assistant message (verified later)


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of the conversation."""

    question: str
    answer: str


@dataclass(frozen=True)
class Prompt:
    messages: list[ChatMessage]
    sources: tuple[Source, ...]  # the ones that made it in, numbered 1..n
    max_tokens: int  # answer tokens allowed (lowered when the question alone nearly fills n_ctx)
    prompt_tokens: int
    dropped_sources: int = 0
    dropped_turns: int = 0


def source_header(n: int, hit: Hit | Source) -> str:
    name = os.path.basename(hit.path) or hit.path
    src = hit if isinstance(hit, Source) else to_source(n, hit)
    header = f"[{n}] {name}, {src.location}"
    return f"{header} — {hit.heading}" if hit.heading else header


def to_source(n: int, hit: Hit) -> Source:
    return Source(
        n=n,
        path=hit.path,
        page=hit.page,
        line_start=hit.line_start,
        line_end=hit.line_end,
        score=hit.score,
        text=hit.text,
        heading=hit.heading,
        chunk_id=hit.chunk_id,
    )


SOURCES_HEADING = "Sources:\n\n"


def assemble(
    question: str, blocks: Sequence[str], turns: Sequence[Turn], system: str = SYSTEM_PROMPT
) -> list[ChatMessage]:
    messages: list[ChatMessage] = [{"role": "system", "content": system}]
    for turn in turns:
        messages.append({"role": "user", "content": turn.question})
        messages.append({"role": "assistant", "content": turn.answer})
    body = f"Question: {question}"
    if blocks:
        body = SOURCES_HEADING + "\n\n".join(blocks) + f"\n\n{body}"
    messages.append({"role": "user", "content": body})
    return messages


def trim_to_tokens(text: str, limit: int, generator: Generator) -> str:
    """The longest prefix of `text` (cut at a space) within `limit` tokens, marked with '…'."""
    if generator.count_tokens(text) <= limit:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # binary search on characters: tokenizers are monotone enough for this
        mid = (lo + hi + 1) // 2
        if generator.count_tokens(text[:mid] + " …") <= limit:
            lo = mid
        else:
            hi = mid - 1
    cut = text[:lo]
    space = cut.rfind(" ")
    if space > len(cut) // 2:
        cut = cut[:space]
    return cut.rstrip() + " …" if cut.strip() else ""


def build_prompt(
    generator: Generator,
    question: str,
    hits: Sequence[Hit],
    history: Sequence[Turn] = (),
    max_tokens: int = 512,
    *,
    system: str = SYSTEM_PROMPT,
) -> Prompt:
    """Fit as much as possible into the model's context; see the module doc for the order."""
    n_ctx = generator.n_ctx
    base = generator.count_prompt_tokens(assemble(question, [], [], system))
    if base + MIN_ANSWER_TOKENS > n_ctx:
        raise ModelError(
            f"the question alone takes {base} of the model's {n_ctx} context tokens: "
            "shorten it, or raise generate.n_ctx (--n-ctx)"
        )
    max_tokens = min(max_tokens, n_ctx - base)
    free = n_ctx - max_tokens - base

    turns, used = _fit_history(generator, history, int(free * HISTORY_SHARE))
    heading = generator.count_tokens(SOURCES_HEADING) + 2
    parts, sources = _fit_sources(generator, hits, free - used - heading)
    extended = False
    if len(sources) == len(hits) and len(turns) < len(history):
        # Every source fitted: older turns may use what is left (less a little slack for
        # template markers, so the check below rarely has to take anything back).
        spent = sum(generator.count_tokens(f"{h}\n{t}") + 2 for h, t in parts)
        left = free - used - heading - spent - TURN_OVERHEAD
        if left > 0:
            turns, used = _fit_history(generator, history, used + left)
            extended = True

    def blocks() -> list[str]:
        return [f"{header}\n{text}" for header, text in parts]

    messages = assemble(question, blocks(), turns, system)
    total = generator.count_prompt_tokens(messages)
    while total > n_ctx - max_tokens:  # estimates were off (template overhead): give up more
        excess = total - (n_ctx - max_tokens)
        if extended and turns:  # the extra history was a bonus: it goes first
            turns = turns[1:]
        elif parts:  # trim the last source by the excess, or drop it when too little is left
            header, text = parts[-1]
            room = generator.count_tokens(text) - excess - 2
            parts.pop()
            if room >= MIN_SOURCE_TOKENS and (text := trim_to_tokens(text, room, generator)):
                parts.append((header, text))
            else:
                sources = sources[:-1]
        elif turns:
            turns = turns[1:]
        else:  # pragma: no cover - base was checked above
            break
        messages = assemble(question, blocks(), turns, system)
        total = generator.count_prompt_tokens(messages)
    return Prompt(
        messages=messages,
        sources=tuple(sources),
        max_tokens=max_tokens,
        prompt_tokens=total,
        dropped_sources=len(hits) - len(sources),
        dropped_turns=len(history) - len(turns),
    )


def _fit_history(
    generator: Generator, history: Sequence[Turn], budget: int
) -> tuple[list[Turn], int]:
    """Newest turns that fit in `budget` tokens (oldest first); the newest is trimmed if it
    alone is too long."""
    kept: list[Turn] = []
    used = 0
    for turn in reversed(history):
        q = generator.count_tokens(turn.question)
        cost = q + generator.count_tokens(turn.answer) + TURN_OVERHEAD
        if used + cost <= budget:
            kept.insert(0, turn)
            used += cost
            continue
        if not kept and budget - used - q - TURN_OVERHEAD >= MIN_SOURCE_TOKENS:
            answer = trim_to_tokens(turn.answer, budget - used - q - TURN_OVERHEAD, generator)
            kept.insert(0, Turn(turn.question, answer))
            used = budget
        break
    return kept, used


def _fit_sources(
    generator: Generator, hits: Sequence[Hit], budget: int
) -> tuple[list[tuple[str, str]], list[Source]]:
    """(header, text) of the best hits that fit in `budget` tokens, and their Sources."""
    parts: list[tuple[str, str]] = []
    sources: list[Source] = []
    for hit in hits:
        n = len(sources) + 1
        header = source_header(n, hit)
        block = f"{header}\n{hit.text}"
        cost = generator.count_tokens(block) + 2  # + the blank line between blocks
        if cost <= budget:
            parts.append((header, hit.text))
            sources.append(to_source(n, hit))
            budget -= cost
            continue
        room = budget - generator.count_tokens(header) - 4
        if room >= MIN_SOURCE_TOKENS:  # the last one that fits in part is trimmed, not dropped
            text = trim_to_tokens(hit.text, room, generator)
            if text:
                parts.append((header, text))
                sources.append(to_source(n, hit))
        break
    return parts, sources
