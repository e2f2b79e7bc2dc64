"""Cut a page's text into chunks that fit the embedding model (pure functions).

The text is split top-down — sections (at headings), paragraphs, lines, sentences, words,
characters — only as far as needed for every piece to fit in `max_tokens` of the model's own
tokenizer; pieces are then packed greedily, preferring to break at a heading, and consecutive
chunks of one section share about `overlap` tokens. A chunk is always an exact slice of the
page text (`text == page.text[char_start:char_end]`), so its recorded lines map back to it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from docchat.types import ChunkSpan, Heading, Page

TokenCounter = Callable[[Sequence[str]], list[int]]

_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
_LINE = re.compile(r"\n")
_SENTENCE = re.compile(r"(?<=[.!?;:])\s+")
_WORD = re.compile(r"\s+")
_SEPARATORS = (_PARAGRAPH, _LINE, _SENTENCE, _WORD)


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    tokens: int
    section: int  # index of the section (heading block) the unit belongs to


def chunk_page(
    page: Page, count_tokens: TokenCounter, max_tokens: int, overlap: int = 0
) -> list[ChunkSpan]:
    """Chunks of one page; each fits `max_tokens` by `count_tokens`."""
    text = page.text
    if not text.strip():
        return []
    overlap = min(overlap, max_tokens // 2)
    sections = _sections(text, page.headings)
    units: list[_Unit] = []
    for index, (start, end, _) in enumerate(sections):
        units.extend(_split(text, start, end, index, count_tokens, max_tokens, 0))
    line_starts = [0] + [m.end() for m in _LINE.finditer(text)]
    packed = [(*_strip(text, s, e), sec) for s, e, sec in _pack(units, max_tokens, overlap)]
    packed = [p for p in packed if p[0] < p[1]]
    # Sums of piece counts can undercount where a word was cut in two; check the real count
    # once and re-cut the rare offender with a smaller budget.
    actual = count_tokens([text[s:e] for s, e, _ in packed])
    spans = []
    for (start, end, section), n in zip(packed, actual, strict=True):
        if n > max_tokens:
            sub = Page(text[start:end], page.number)
            for piece in chunk_page(sub, count_tokens, max_tokens * 3 // 4, 0):
                spans.append(
                    _span(
                        text,
                        line_starts,
                        start + piece.char_start,
                        start + piece.char_end,
                        page.number,
                        sections[section][2],
                    )
                )
            continue
        spans.append(_span(text, line_starts, start, end, page.number, sections[section][2]))
    return spans


def _span(
    text: str, line_starts: list[int], start: int, end: int, page: int | None, heading: str | None
) -> ChunkSpan:
    return ChunkSpan(
        text=text[start:end],
        page=page,
        char_start=start,
        char_end=end,
        line_start=bisect.bisect_right(line_starts, start),
        line_end=bisect.bisect_right(line_starts, end - 1),
        heading=heading,
    )


def _sections(text: str, headings: Sequence[Heading]) -> list[tuple[int, int, str | None]]:
    """(start, end, heading path) blocks, each starting at a heading line."""
    line_starts = [0] + [m.end() for m in _LINE.finditer(text)]
    blocks: list[tuple[int, int, str | None]] = []
    stack: list[Heading] = []
    cursor, path = 0, None
    for h in sorted(headings, key=lambda h: h.line):
        if not 1 <= h.line <= len(line_starts):
            continue
        at = line_starts[h.line - 1]
        if at > cursor:
            blocks.append((cursor, at, path))
        cursor = max(cursor, at)
        stack = [s for s in stack if s.level < h.level] + [h]
        path = " > ".join(s.title for s in stack)
    blocks.append((cursor, len(text), path))
    return [b for b in blocks if text[b[0] : b[1]].strip()] or [(0, len(text), None)]


def _split(
    text: str,
    start: int,
    end: int,
    section: int,
    count: TokenCounter,
    max_tokens: int,
    level: int,
) -> list[_Unit]:
    """Pieces of text[start:end] that each fit, splitting at the coarsest boundary needed."""
    tokens = count([text[start:end]])[0]
    if tokens <= max_tokens:
        return [_Unit(start, end, tokens, section)]
    pieces = _cut(text, start, end, level)
    if len(pieces) == 1:  # this separator does not occur here; try a finer one
        if level + 1 < len(_SEPARATORS) + 1:
            return _split(text, start, end, section, count, max_tokens, level + 1)
        return _hard_split(text, start, end, section, count, max_tokens)
    counts = count([text[s:e] for s, e in pieces])
    out: list[_Unit] = []
    for (s, e), n in zip(pieces, counts, strict=True):
        if n <= max_tokens:
            out.append(_Unit(s, e, n, section))
        else:
            out.extend(_split(text, s, e, section, count, max_tokens, level + 1))
    return out


def _cut(text: str, start: int, end: int, level: int) -> list[tuple[int, int]]:
    """Split at one level's separators, each piece keeping its trailing separator."""
    if level >= len(_SEPARATORS):
        return [(start, end)]
    pieces, cursor = [], start
    for m in _SEPARATORS[level].finditer(text, start, end):
        if m.end() > cursor and m.start() > cursor:
            pieces.append((cursor, m.end()))
            cursor = m.end()
    if cursor < end:
        pieces.append((cursor, end))
    return pieces


def _hard_split(
    text: str, start: int, end: int, section: int, count: TokenCounter, max_tokens: int
) -> list[_Unit]:
    """Last resort for a single enormous 'word' (minified code, base64): halve until it fits."""
    if end - start <= 1:
        return [_Unit(start, end, count([text[start:end]])[0], section)]
    mid = (start + end) // 2
    out = []
    for s, e in ((start, mid), (mid, end)):
        n = count([text[s:e]])[0]
        out.extend(
            [_Unit(s, e, n, section)]
            if n <= max_tokens
            else _hard_split(text, s, e, section, count, max_tokens)
        )
    return out


def _pack(units: list[_Unit], max_tokens: int, overlap: int) -> list[tuple[int, int, int]]:
    """Greedy packing into (start, end, section); breaks early at a heading past half full."""
    chunks: list[tuple[int, int, int]] = []
    current: list[_Unit] = []
    total = 0
    for unit in units:
        new_section = bool(current) and unit.section != current[-1].section
        if current and (
            total + unit.tokens > max_tokens or (new_section and total >= max_tokens // 2)
        ):
            chunks.append((current[0].start, current[-1].end, current[0].section))
            carry: list[_Unit] = []
            if overlap and not new_section:
                kept = 0
                for u in reversed(current[1:]):
                    if kept + u.tokens > overlap or u.section != unit.section:
                        break
                    carry.insert(0, u)
                    kept += u.tokens
            current, total = carry, sum(u.tokens for u in carry)
            if total + unit.tokens > max_tokens:
                current, total = [], 0
        current.append(unit)
        total += unit.tokens
    if current:
        chunks.append((current[0].start, current[-1].end, current[0].section))
    return chunks


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
