"""The words docchat says to people, written once for the CLI and the TUI (no Textual here).

A place in a file (`p. 3, lines 10–24`) is `types.location`, since the model's prompt uses it
too; everything built on it is here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace

from docchat.claims.render import (
    UNSUPPORTED_MARK,
    UNSUPPORTED_NOTE,
    cite,
    render,
    without_markers,
)
from docchat.generate.citations import rewrite
from docchat.retrieve.terms import STOPWORDS, query_terms
from docchat.types import (
    Answer,
    FileCounts,
    IndexStarted,
    IndexSummary,
    MessageRow,
    OcrProgress,
    Source,
    WatchEvent,
    WatchStatus,
    location,
)

CITE_LINK = "cite:"  # href scheme of a linked citation: `cite:3` is source [3]
# An answer cut where the model began to repeat itself (Answer.repeated).
REPEATED_NOTE = "stopped where the model began to repeat itself"

__all__ = [
    "CITE_LINK",
    "REPEATED_NOTE",
    "answer_markdown",
    "claim_line",
    "claim_notes",
    "coverage",
    "cut_notes",
    "highlight_terms",
    "index_summary",
    "link_citations",
    "location",
    "place",
    "printable",
    "size",
    "sources_line",
    "watch_state",
    "when",
]


# Control characters in a file name (a newline, an escape sequence) shown as escapes.
_CONTROL = {i: repr(chr(i))[1:-1] for i in (*range(32), 127)}


def printable(path: str) -> str:
    """A path as it can be shown and printed: a byte of the name that is not UTF-8 (kept by
    Python as a lone surrogate) as `\\xff`, a control character as `\\n` or `\\x1b`."""
    shown = path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return shown.translate(_CONTROL)


def place(path: str, page: int | None, line_start: int, line_end: int) -> str:
    """'notes/a.pdf, p. 3, lines 10–24'."""
    return f"{printable(path)}, {location(page, line_start, line_end)}"


def when(timestamp: float) -> str:
    """A unix time as local '2025-03-14 09:26'."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def count(n: int, noun: str, plural: str = "") -> str:
    """'1 collection', '2 collections', '0 sessions'."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def size(n: float) -> str:
    """Bytes as '512 B', '1.5 KB', '3.2 GB'."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def index_summary(s: IndexSummary, seconds: float | None = None, *, chunks: bool = True) -> str:
    """'done in 2.1s — 3 indexed, 0 unchanged, 1 skipped, 0 failed, 0 removed; chunks +9 −0'
    (`seconds` defaults to the run's own time; the TUI counts from the press of a key)."""
    head = "stopped" if s.cancelled else "done"
    took = s.seconds if seconds is None else seconds
    text = (
        f"{head} in {took:.1f}s — {s.indexed} indexed, {s.unchanged} unchanged, "
        f"{len(s.skipped)} skipped, {len(s.failed)} failed, {s.removed} removed"
    )
    if s.ocr_pages:
        text += f" ({count(s.ocr_pages, 'page')} read by OCR)"
    return f"{text}; chunks +{s.chunks_added} −{s.chunks_removed}" if chunks else text


def watch_state(event: WatchEvent) -> str | None:
    """The status-line words for what a watch does: 'synced', '3 files changed —
    indexing…', 'checking 120 files…', 'rescanning folders…'; None: nothing new to say."""
    if isinstance(event, WatchStatus):
        if event.state == "synced":
            return "synced"
        if event.state == "indexing":
            return f"{count(event.changed, 'file')} changed — indexing…"
        if event.state == "rescanning":
            return "rescanning folders…"
        return None
    if isinstance(event, IndexStarted):
        return f"checking {count(event.files_total, 'file')}…"
    if isinstance(event, OcrProgress):
        return f"reading {event.path.name} by OCR — {count(event.pages, 'page')} read…"
    return None


def coverage(counts: FileCounts) -> str:
    """'423 of 501 files searchable; 61 skipped, 17 failed'."""
    return (
        f"{counts.searchable} of {counts.total} files searchable; "
        f"{counts.skipped} skipped, {counts.failed} failed"
    )


def cut_notes(answer: Answer | MessageRow) -> list[str]:
    """Why an answer (live or stored) ends early, if it does: stopped by its reader, or cut
    where the model began to repeat itself. Every view of an answer shows these."""
    cut = [("stopped", answer.stopped), (REPEATED_NOTE, answer.repeated)]
    return [note for note, applies in cut if applies]


def sources_line(answer: Answer) -> str:
    """'cited [1] dropout.md lines 3–5 · …', or the passages offered when none was cited."""

    def describe(sources: Iterable[Source]) -> str:
        return " · ".join(
            f"[{s.n}] {printable(s.path.rsplit('/', 1)[-1])} {s.location}" for s in sources
        )

    parts = cut_notes(answer)
    if answer.abstained:
        parts.append("not found in the documents")
    elif UNSUPPORTED_MARK in answer.text and any(not c.supported for c in answer.claims):
        parts.append(f"{UNSUPPORTED_MARK} {UNSUPPORTED_NOTE}")
    if answer.cited_sources:
        parts.append("cited " + describe(answer.cited_sources))
    elif answer.sources:
        parts.append("no citation; offered " + describe(answer.sources))
    return " — ".join(parts)


def link_citations(answer: Answer) -> str:
    """The answer's text as Markdown in which every citation of an offered source is a link
    (`cite:n`): `[1, 3]` becomes `[1][3]`, each clickable, `[2-4]` becomes `[2][3][4]`."""
    known = {s.n for s in answer.sources}
    text, _ = rewrite(
        answer.text, known, lambda ns: "".join(f"[\\[{n}\\]]({CITE_LINK}{n})" for n in ns)
    )
    return text


def answer_markdown(answer: Answer, unsupported: str = "mark") -> str:
    """The answer as Markdown for the app: citations linked, and, when its claims were
    checked, the unsupported ones in italics before their [?] (`answer.unsupported`)."""
    text = answer.text
    if answer.raw_answer is not None and answer.claims and not answer.abstained:
        text = render(answer.raw_answer, answer.claims, unsupported, lambda s: f"*{s.strip()}*")
    return link_citations(replace(answer, text=text))


def claim_line(answer: Answer, index: int) -> str:
    """What the status line says of a chosen claim."""
    c = answer.claims[index]
    where = f"claim {index + 1}/{len(answer.claims)}"
    if not c.supported:
        return f"{where}: {UNSUPPORTED_NOTE}"
    said = f"supported by {cite(c.sources)} (score {c.score:.2f})"
    if c.corrected:
        said += f"; the model cited {cite(c.marked)}"
    return f"{where}: {said}"


def claim_notes(answer: Answer, width: int = 72) -> list[str]:
    """One line per claim the check changed: '[?] "Paris is…" — not found in your documents',
    '[1] → [2] "CREATE INDEX…"' (a citation corrected). Empty when nothing changed. A claim
    the answer makes again (small models repeat themselves) gets no second line."""

    out: dict[tuple[str, ...], str] = {}  # (what changed, the whole claim) → its line
    for c in answer.claims:
        said = " ".join(without_markers(c.text).split())
        short = f"\u201c{said if len(said) <= width else said[: width - 1] + '…'}\u201d"
        if not c.supported:
            out.setdefault(("?", said), f"{UNSUPPORTED_MARK} {short} — {UNSUPPORTED_NOTE}")
        elif c.corrected:
            was, now = cite(c.marked), cite(c.sources)
            out.setdefault((was, now, said), f"{was} → {now} {short}")
    return list(out.values())


def highlight_terms(query: str) -> list[str]:
    """The words of a query worth highlighting in a passage, longest first."""
    words = {t for t in query_terms(query, drop_stopwords=False) if len(t) > 1}
    return sorted(words - STOPWORDS, key=lambda t: (-len(t), t))
