"""Cut a page's text into chunks that fit the embedding model (pure functions).

The text is split top-down — sections (at headings), paragraphs, lines, sentences, words,
pieces of words — only as far as needed for every piece to fit in `max_tokens` of the model's
own tokenizer; pieces are then packed greedily, preferring to break at a heading, and
consecutive chunks of one section share about `overlap` tokens. A chunk is always an exact
slice of the page text (`text == page.text[char_start:char_end]`), so its recorded lines map
back to it.

The work is linear in the text: each distinct word is tokenized once (a `_TokenIndex`), the
count of any span is then the sum of its words' counts, and the packed chunks are counted
once more with the real tokenizer (the sum is an estimate where a word was cut in two).
Re-tokenizing halves of a piece until it fits, as this module once did, took minutes on one
10 MB line of base64. `chunk_document` adds what a whole file needs: identical chunks kept
once, and at most `max_chunks` of them.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from docchat.types import ChunkSpan, Heading, Page, ParsedDocument

TokenCounter = Callable[[Sequence[str]], list[int]]

_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
_LINE = re.compile(r"\n")
# Chinese and Japanese sentence ends take no space after them.
_SENTENCE = re.compile(r"(?<=[.!?;:])\s+|(?<=[。！？；])\s*")
_WORD = re.compile(r"\s+")
_SEPARATORS = (_PARAGRAPH, _LINE, _SENTENCE, _WORD)
_COUNT_BATCH = 2048  # texts per tokenizer call: few calls, bounded memory per call
# A token covers at least a quarter of a character (byte-level BPE: 4 bytes, 4 tokens), so a
# piece of max_tokens // 4 characters always fits.
_CHARS_PER_TOKEN_FLOOR = 4
_MAX_ATOM_CHARS = 1024  # longer "words" (base64, minified code) are counted in parts
# Text is ~4-5 characters per token; a page prefix of this many characters per wanted token
# fills a chunk cap with room to spare (see _chunk_capped_page).
_PREFIX_CHARS_PER_TOKEN = 8
_MIN_BUDGET = 8  # below this a re-cut stops shrinking the budget and keeps what it has


@dataclass
class ChunkStats:
    """Work done chunking, for tests and reports: bounded by the input, whatever it holds."""

    tokenizer_calls: int = 0
    texts_tokenized: int = 0
    chars_tokenized: int = 0
    chunks_made: int = 0  # before identical chunks were dropped
    duplicates_dropped: int = 0


@dataclass
class ChunkedDocument:
    spans: list[ChunkSpan]
    capped: bool = False  # max_chunks reached: the rest of the file was left out
    stats: ChunkStats = field(default_factory=ChunkStats)


class _Counter:
    """`count_tokens` with its work counted, in bounded batches."""

    def __init__(self, count: TokenCounter, stats: ChunkStats) -> None:
        self.count = count
        self.stats = stats
        self.words: dict[str, int] = {}  # each distinct word's count, shared by all pages

    def __call__(self, texts: Sequence[str]) -> list[int]:
        out: list[int] = []
        for i in range(0, len(texts), _COUNT_BATCH):
            batch = texts[i : i + _COUNT_BATCH]
            self.stats.tokenizer_calls += 1
            self.stats.texts_tokenized += len(batch)
            self.stats.chars_tokenized += sum(len(t) for t in batch)
            out.extend(self.count(batch))
        return out


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    tokens: int
    section: int  # index of the section (heading block) the unit belongs to


class _TokenIndex:
    """Token count of any span of one text, from one tokenizer pass over its distinct words.

    Tokens never span whitespace in the tokenizers docchat uses, so a span's count is the sum
    of its words' counts, each looked up in a table filled once per document. The loops stay
    in C (split, map, sum): 10 MB of text has two million words.
    """

    def __init__(self, text: str, counter: _Counter) -> None:
        self.text = text
        self.counter = counter
        self.words = counter.words
        self._learn(text.split())

    def count(self, start: int, end: int) -> int:
        words = self.text[start:end].split()
        try:
            return sum(map(self.words.__getitem__, words))
        except KeyError:  # part of a word, cut where no space is (a "。" in Chinese)
            self._learn(words)
            return sum(map(self.words.__getitem__, words))

    def _learn(self, words: list[str]) -> None:
        """Count the words not counted yet, in one batched pass."""
        new = [w for w in set(words) if w not in self.words]
        short = [w for w in new if len(w) <= _MAX_ATOM_CHARS]
        self.words.update(zip(short, self.counter(short), strict=True))
        for word in (w for w in new if len(w) > _MAX_ATOM_CHARS):  # base64, minified code
            parts = [word[i : i + _MAX_ATOM_CHARS] for i in range(0, len(word), _MAX_ATOM_CHARS)]
            self.words[word] = sum(self.counter(parts))


def chunk_page(
    page: Page, count_tokens: TokenCounter, max_tokens: int, overlap: int = 0
) -> list[ChunkSpan]:
    """Chunks of one page; each fits `max_tokens` by `count_tokens`."""
    counter = _Counter(count_tokens, ChunkStats())
    return _chunk_page(page, counter, max_tokens, overlap, None, None)[0]


def chunk_document(
    doc: ParsedDocument,
    count_tokens: TokenCounter,
    max_tokens: int,
    overlap: int = 0,
    max_chunks: int | None = None,
) -> ChunkedDocument:
    """All chunks of a file, identical ones kept once, at most `max_chunks` (then `capped`).

    A file of one sentence repeated 100,000 times gives a handful of chunks, not 10,000
    copies of the same one; pages after the cap are not even chunked.
    """
    stats = ChunkStats()
    counter = _Counter(count_tokens, stats)
    seen: set[str] = set()
    spans: list[ChunkSpan] = []
    for page in doc.pages:
        left = None if max_chunks is None else max_chunks - len(spans)
        if left is not None and left <= 0:
            if page.text.strip():
                return ChunkedDocument(spans, True, stats)
            continue
        got, stopped = _chunk_capped_page(page, counter, max_tokens, overlap, left, seen)
        spans.extend(got)
        if stopped:
            return ChunkedDocument(spans, True, stats)
    return ChunkedDocument(spans, False, stats)


def _chunk_capped_page(
    page: Page,
    counter: _Counter,
    max_tokens: int,
    overlap: int,
    limit: int | None,
    seen: set[str],
) -> tuple[list[ChunkSpan], bool]:
    """Like `_chunk_page`, but a page far longer than `limit` chunks can fill is first chunked
    from its start only: a 10 MB page capped at 2,000 chunks costs what 2,000 chunks cost."""
    prefix_chars = None if limit is None else limit * max_tokens * _PREFIX_CHARS_PER_TOKEN
    if prefix_chars is not None and len(page.text) > prefix_chars:
        lines = page.text.count("\n", 0, prefix_chars) + 1
        head = Page(
            page.text[:prefix_chars],
            page.number,
            tuple(h for h in page.headings if h.line <= lines),
        )
        tried = set(seen)
        got, stopped = _chunk_page(head, counter, max_tokens, overlap, limit, tried)
        if stopped or len(got) >= (limit or 0):
            seen |= tried
            return got, True
        # Mostly repeats (dropped as duplicates): only the whole page can fill the cap.
    return _chunk_page(page, counter, max_tokens, overlap, limit, seen)


def _chunk_page(
    page: Page,
    counter: _Counter,
    max_tokens: int,
    overlap: int,
    limit: int | None,
    seen: set[str] | None,
) -> tuple[list[ChunkSpan], bool]:
    """(chunks, whether `limit` stopped it early); with `seen`, drops the chunk texts in it
    and adds the others."""
    text = page.text
    if not text.strip():
        return [], False
    overlap = min(overlap, max_tokens // 2)
    index = _TokenIndex(text, counter)
    sections = _sections(text, page.headings)
    units: list[_Unit] = []
    for number, (start, end, _) in enumerate(sections):
        units.extend(_split(text, start, end, number, index, max_tokens, 0))
    del index
    line_starts = [0] + [m.end() for m in _LINE.finditer(text)]
    packed = [(*_strip(text, s, e), sec) for s, e, sec in _pack(units, max_tokens, overlap)]
    counter.stats.chunks_made += len(packed)
    kept: list[tuple[int, int, int]] = []
    stopped = False
    for start, end, section in packed:
        if start >= end:
            continue
        if limit is not None and len(kept) >= limit:
            stopped = True
            break
        if seen is not None:
            if (chunk := text[start:end]) in seen:
                counter.stats.duplicates_dropped += 1
                continue
            seen.add(chunk)
        kept.append((start, end, section))
    # Sums of piece counts can undercount where a word was cut in two; check the real count
    # once and re-cut the rare offender with a smaller budget.
    actual = counter([text[s:e] for s, e, _ in kept])
    spans: list[ChunkSpan] = []
    for (start, end, section), n in zip(kept, actual, strict=True):
        heading = sections[section][2]
        if n > max_tokens and max_tokens > _MIN_BUDGET and end - start > 1:
            sub = Page(text[start:end], page.number)
            pieces, _ = _chunk_page(sub, counter, max_tokens * 3 // 4, 0, None, None)
            for piece in pieces:
                a, b = start + piece.char_start, start + piece.char_end
                spans.append(_span(text, line_starts, a, b, page.number, heading))
            continue
        spans.append(_span(text, line_starts, start, end, page.number, heading))
    return spans, stopped


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
    index: _TokenIndex,
    max_tokens: int,
    level: int,
) -> list[_Unit]:
    """Pieces of text[start:end] that each fit, splitting at the coarsest boundary needed.

    Every level visits each character once, so the whole split is linear in the text.
    """
    tokens = index.count(start, end)
    if tokens <= max_tokens:
        return [_Unit(start, end, tokens, section)]
    if level >= len(_SEPARATORS):
        return _pieces(start, end, section, index, max_tokens)
    pieces = _cut(text, start, end, level)
    if len(pieces) == 1:  # this separator does not occur here; try a finer one
        return _split(text, start, end, section, index, max_tokens, level + 1)
    out: list[_Unit] = []
    for s, e in pieces:
        out.extend(_split(text, s, e, section, index, max_tokens, level + 1))
    return out


def _pieces(start: int, end: int, section: int, index: _TokenIndex, max_tokens: int) -> list[_Unit]:
    """A word too long to fit, cut into pieces that surely do (each counted once)."""
    size = max(1, max_tokens // _CHARS_PER_TOKEN_FLOOR)
    cuts = [*range(start, end, size), end]
    spans = list(itertools.pairwise(cuts))
    counts = index.counter([index.text[s:e] for s, e in spans])
    return [_Unit(s, e, n, section) for (s, e), n in zip(spans, counts, strict=True)]


def _cut(text: str, start: int, end: int, level: int) -> list[tuple[int, int]]:
    """Split at one level's separators, each piece keeping its trailing separator."""
    pieces, cursor = [], start
    for m in _SEPARATORS[level].finditer(text, start, end):
        if m.end() > cursor and m.start() > cursor:
            pieces.append((cursor, m.end()))
            cursor = m.end()
    if cursor < end:
        pieces.append((cursor, end))
    return pieces


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
