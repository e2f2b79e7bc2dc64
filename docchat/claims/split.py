"""Cutting text into claims (an answer) or sentences (a source): pure functions, no model.

A claim is a sentence, or a list item (an item of several sentences gives one claim each).
Headings, fenced code, and lead-ins that only announce a list ("Here are the steps:") are not
claims: they say nothing a source could support. Inline code spans and abbreviations
("e.g.", "i.e.", "vs.", initials) never end a sentence, and a citation marker written after
the full stop ("... overfitting. [2]") stays with the sentence before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from docchat.generate.citations import markers
from docchat.retrieve.terms import STOPWORDS

ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "etc",
        "vs",
        "cf",
        "fig",
        "figs",
        "no",
        "nos",
        "dr",
        "mr",
        "mrs",
        "ms",
        "st",
        "approx",
        "ca",
        "al",
        "eq",
        "eqs",
        "sec",
        "ch",
        "vol",
        "pp",
        "p",
        "resp",
        "incl",
        "esp",
        "viz",
        "ver",
    ]
)
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+•]|\d{1,3}[.)])[ \t]+")
_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_CODE_SPAN = re.compile(r"`[^`\n]+`")
# The end of a sentence: . ! ? (closing quotes/brackets), then any citation markers, then space.
_END = re.compile(r"[.!?]+['\")\]’”]*(?:[ \t]*\[[^\[\]\n]{1,40}\])*(?=\s|$)")
_WORD = re.compile(r"[^\W_]+(?:[.'’-][^\W_]+)*", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
# Words with which answers refer to their sources ("According to the documents, ..."): they
# are about the sources, not claims the sources could support.
FILLER = frozenset(
    [
        "according",
        "document",
        "documents",
        "source",
        "sources",
        "passage",
        "passages",
        "text",
        "texts",
        "context",
        "say",
        "says",
        "said",
        "state",
        "states",
        "stated",
        "mention",
        "mentions",
        "mentioned",
        "provided",
        "given",
        "also",
    ]
)
MIN_CONTENT_WORDS = 2  # fewer: "Yes.", "Sure!", "Here is how:" — nothing to check


_IGNORED = STOPWORDS | FILLER


@dataclass(frozen=True)
class Span:
    text: str
    start: int
    end: int


def content_words(text: str) -> list[str]:
    """Lower-cased words that carry meaning (no stopwords, no bare citation numbers)."""
    plain = strip_markers(text)
    return [w.lower() for w in _WORD.findall(plain) if w.lower() not in _IGNORED]


def numbers(text: str) -> set[str]:
    return set(_NUMBER.findall(strip_markers(text)))


def strip_markers(text: str) -> str:
    out, last = [], 0
    for start, end, _ in markers(text):
        out += [text[last:start], " "]
        last = end
    out.append(text[last:])
    return "".join(out)


def _masked(text: str) -> str:
    """`text` with code spans blanked out (same length), so no boundary is found inside."""
    return _CODE_SPAN.sub(lambda m: "`" + "x" * (len(m.group()) - 2) + "`", text)


def sentences(text: str, offset: int = 0) -> list[Span]:
    """The sentences of one block of prose, each with its place in the whole text."""
    masked = _masked(text)
    out: list[Span] = []
    begin = 0
    for m in _END.finditer(masked):
        end = m.end()
        if not _ends_sentence(masked, m.start(), end):
            continue
        _add(out, text, begin, end, offset)
        begin = end
    _add(out, text, begin, len(text), offset)
    return out


def _ends_sentence(masked: str, stop: int, end: int) -> bool:
    if masked[stop] == ".":
        before = re.search(r"([^\W\d_]+(?:\.[^\W\d_]+)*)$", masked[:stop])
        word = before.group(1).lower() if before else ""
        if word in ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            return False
    rest = masked[end:].lstrip()
    # A new sentence starts with a capital, a digit, a quote, a bracket, code or markup.
    return not rest or not rest[0].islower()


def _add(out: list[Span], text: str, begin: int, end: int, offset: int) -> None:
    piece = text[begin:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        out.append(Span(stripped, offset + begin + lead, offset + begin + lead + len(stripped)))


def blocks(text: str) -> list[Span]:
    """Paragraphs and list items (the item marker left out), without headings and code."""
    out: list[Span] = []
    para: list[tuple[int, str]] = []
    in_fence = False
    pos = 0

    def flush() -> None:
        if para:
            start = para[0][0]
            end = para[-1][0] + len(para[-1][1])
            out.append(Span(text[start:end], start, end))
            para.clear()

    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        here = pos
        pos += len(line)
        if _FENCE.match(body):
            flush()
            in_fence = not in_fence
            continue
        if in_fence or _HEADING.match(body) or not body.strip():
            flush()
            continue
        item = _LIST_ITEM.match(body)
        if item:
            flush()
            para.append((here + item.end(), body[item.end() :]))
            continue
        para.append((here, body))
    flush()
    return out


def split_claims(text: str) -> list[Span]:
    """The claims of an answer, in order, each with its place in `text`."""
    out: list[Span] = []
    for block in blocks(text):
        for s in sentences(block.text, block.start):
            if s.text.rstrip().endswith(":") and not markers(s.text):
                continue  # a lead-in to a list or a code block
            if len(content_words(s.text)) >= MIN_CONTENT_WORDS:
                out.append(s)
    return out


def source_sentences(text: str) -> list[str]:
    """A passage's sentences, for finding the one that says a claim: hard-wrapped lines are
    joined, list items and blank lines separate, and a run-on stretch without full stops
    (a table in extracted text) is cut into windows of 40 words."""
    out: list[str] = []
    for block in blocks(text):
        for s in sentences(block.text):
            words = s.text.split()
            if len(words) > 60:  # a run-on line of extracted text: windows of 40 words
                out += [" ".join(words[i : i + 40]) for i in range(0, len(words), 40)]
            elif words:
                out.append(s.text)
    return out
