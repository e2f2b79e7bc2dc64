"""The search results pane: ranked passages with location, score and a highlighted snippet."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from docchat.presentation import highlight_terms
from docchat.ui.items import Passage, highlight, snippet
from docchat.ui.messages import OpenSource


class ResultsPane(OptionList):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open_source", "Open", id="results.open"),
        Binding("p", "preview", "Preview", show=False, id="results.preview"),
    ]

    class Chosen(Message):
        """Enter/p on a passage: the screen shows it in the preview."""

        def __init__(self, passage: Passage) -> None:
            super().__init__()
            self.passage = passage

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.passages: list[Passage] = []
        self.terms: list[str] = []
        self.border_title = "Results"
        self.showing: object = None  # the Answer whose sources are listed, if any
        self.compact = False  # narrow terminal: shorter snippets, so more hits fit

    def on_mount(self) -> None:
        if not self.option_count:
            self.show([], "", str(self.border_title))  # the hint on how to search

    def show(self, passages: list[Passage], query: str, title: str = "Results") -> None:
        self.passages = passages
        self.showing = None
        self.terms = highlight_terms(query)
        self.border_title = title
        self.clear_options()
        if not passages:
            # Before any search there is nothing to report: say how to search instead.
            hint = f"no hits for {query}" if query else "type /words in the input to search"
            self.add_option(Option(Text(hint, style="dim"), disabled=True))
            return
        self.add_options([Option(self._render_passage(p)) for p in passages])
        self.highlighted = 0

    def _render_passage(self, p: Passage) -> Text:
        mark = "★ " if p.cited else ""
        sources = p.cited or str(self.border_title).startswith("Sources")
        label = f"[{p.rank}]" if sources else f"{p.rank}."
        page = f"p.{p.page} · " if p.page is not None else ""
        lines = f"{p.line_start}–{p.line_end}" if p.line_end != p.line_start else f"{p.line_start}"
        head = Text.assemble(
            (f"{mark}{label} ", "bold"),
            (p.name, "bold"),
            (f" · {page}{lines} · ", ""),
            (f"{p.score:.3f}", "dim"),
        )
        width = 120 if self.compact else 220
        body = highlight(snippet(p.text, self.terms, width), self.terms)
        return Text("\n").join([head, body])

    def select_rank(self, rank: int) -> Passage | None:
        for i, p in enumerate(self.passages):
            if p.rank == rank:
                self.highlighted = i
                return p
        return None

    @property
    def current(self) -> Passage | None:
        i = self.highlighted
        return self.passages[i] if i is not None and i < len(self.passages) else None

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_preview()

    def action_preview(self) -> None:
        if self.current:
            self.post_message(self.Chosen(self.current))

    def action_open_source(self) -> None:
        if self.current:
            self.post_message(OpenSource(self.current))
