"""A passage in context: the surrounding lines of its file with the passage marked."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from docchat.ui.items import Passage, highlight, readable
from docchat.ui.messages import OpenSource

CONTEXT_LINES = 6
SUPPORT_STYLE = "on dark_green"  # the sentences that support a chosen claim
MAX_BYTES = 4 * 1024 * 1024


def in_context(p: Passage) -> tuple[Text, bool]:
    """The passage with a few lines around it when its file is plain text on disk; otherwise
    the passage alone (PDF pages and converted formats have no lines to show around it)."""
    path = Path(p.path)
    if p.page is None and path.suffix.lower() not in {".pdf", ".docx", ".epub", ".html", ".htm"}:
        try:
            if path.stat().st_size <= MAX_BYTES:
                lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
                if p.line_end <= len(lines):
                    return _window(lines, p.line_start, p.line_end), True
        except OSError:
            pass
    return Text(readable(p.text)), False


def _window(lines: list[str], start: int, end: int) -> Text:
    first = max(1, start - CONTEXT_LINES)
    last = min(len(lines), end + CONTEXT_LINES)
    out = Text()
    width = len(str(last))
    for n in range(first, last + 1):
        inside = start <= n <= end
        out.append(f"{n:>{width}} ", style="bold" if inside else "dim")
        out.append("▌ " if inside else "  ", style="bold green" if inside else "")
        out.append(lines[n - 1] + "\n", style="" if inside else "dim")
    return out


def mark_sentences(body: Text, sentences: Sequence[str]) -> Text:
    """`body` with each of `sentences` highlighted; a sentence that runs over several lines
    is matched line by line (the shown lines carry numbers and margins)."""
    for sentence in sentences:
        for piece in sentence.splitlines():
            words = piece.split()
            if len(words) >= 2 or (words and len(words[0]) > 3):
                body.highlight_regex(r"\s+".join(re.escape(w) for w in words), SUPPORT_STYLE)
    return body


def supporting_line(p: Passage, sentences: Sequence[str]) -> int:
    """The line of `p`'s file where the first of `sentences` starts (else the passage's)."""
    for sentence in sentences[:1]:
        words = sentence.split()[:5]
        found = re.search(r"\s+".join(re.escape(w) for w in words), p.text) if words else None
        if found:
            return min(p.line_end, p.line_start + p.text[: found.start()].count("\n"))
    return p.line_start


class PreviewScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss_preview", "Close", id="preview.close"),
        Binding("o", "open_source", "Open source", id="preview.open"),
    ]

    def __init__(self, passage: Passage, terms: list[str], sentences: Sequence[str] = ()) -> None:
        super().__init__(classes="dialog-screen")
        self.passage = passage
        self.terms = terms
        self.sentences = tuple(sentences)  # what supports a chosen claim, highlighted
        self.body = Text()

    def compose(self) -> ComposeResult:
        p = self.passage
        body, _ = in_context(p)
        self.body = highlight(mark_sentences(body, self.sentences), self.terms)
        with Vertical(id="preview", classes="dialog"):
            title = f"{p.name} · {p.location} · {p.score:.3f}"
            if p.heading:
                title += f" · § {readable(p.heading)}"
            yield Static(Text(title, style="bold"), id="preview-title")
            with VerticalScroll(id="preview-body"):
                yield Static(self.body, id="preview-text")
            yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#preview-body").focus()

    def action_dismiss_preview(self) -> None:
        self.dismiss(None)

    def action_open_source(self) -> None:
        """Open the file at the passage, or at the sentence that supports a chosen claim."""
        line = supporting_line(self.passage, self.sentences)
        self.post_message(OpenSource(replace(self.passage, line_start=line)))
