"""The chat pane: questions and streamed Markdown answers, with selectable citations."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Markdown, Static

_CITE = re.compile(r"\[(\d{1,3})\]")


def linkify(text: str) -> str:
    """Turn `[n]` into Markdown links so a click on a citation can be handled."""
    return _CITE.sub(lambda m: f"[\\[{m.group(1)}\\]](cite:{m.group(1)})", text)


def sources_line(answer: Any) -> str:
    """'cited [1] dropout.md lines 3–5 · …', or the passages offered when none was cited."""

    def describe(sources: Any) -> str:
        return " · ".join(f"[{s.n}] {s.path.rsplit('/', 1)[-1]} {s.location}" for s in sources)

    parts = []
    if answer.stopped:
        parts.append("stopped")
    if answer.abstained:
        parts.append("not found in the documents")
    if answer.cited_sources:
        parts.append("cited " + describe(answer.cited_sources))
    elif answer.sources:
        parts.append("no citation; offered " + describe(answer.sources))
    return " — ".join(parts)


class ChatTurn(Vertical):
    def __init__(self, question: str) -> None:
        super().__init__(classes="turn")
        self.question = question
        self.answer_md = Markdown("", classes="answer")
        self.meta = Static("", classes="meta")
        self.answer: Any = None

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(f"› {self.question}", classes="question", markup=False)
        yield self.answer_md
        yield self.meta


class ChatPane(VerticalScroll, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right_square_bracket", "cite(1)", "Next citation", id="chat.next_cite"),
        Binding(
            "left_square_bracket", "cite(-1)", "Prev citation", show=False, id="chat.prev_cite"
        ),
        *[
            Binding(str(n), f"cite_number({n})", f"Citation {n}", show=False, id=f"chat.cite_{n}")
            for n in range(1, 10)
        ],
    ]

    class CitationChosen(Message):
        def __init__(self, n: int) -> None:
            super().__init__()
            self.n = n

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = "Chat"
        self._cite_index = -1

    def on_mount(self) -> None:
        self.anchor()  # keep the newest text in view while it streams

    @property
    def last_turn(self) -> ChatTurn | None:
        turns = self.query(ChatTurn)
        return turns.last() if turns else None

    async def new_turn(self, question: str) -> ChatTurn:
        turn = ChatTurn(question)
        await self.mount(turn)
        self._cite_index = -1
        return turn

    async def clear(self) -> None:
        await self.remove_children()

    def _cited(self) -> list[int]:
        turn = self.last_turn
        if turn is None or turn.answer is None:
            return []
        return list(turn.answer.cited) or [s.n for s in turn.answer.sources]

    def action_cite(self, step: int) -> None:
        cited = self._cited()
        if not cited:
            self.app.bell()
            return
        self._cite_index = (self._cite_index + step) % len(cited)
        self.post_message(self.CitationChosen(cited[self._cite_index]))

    def action_cite_number(self, n: int) -> None:
        turn = self.last_turn
        if turn is None or turn.answer is None or n not in {s.n for s in turn.answer.sources}:
            self.app.bell()
            return
        self.post_message(self.CitationChosen(n))

    def on_markdown_link_clicked(self, event: Markdown.LinkClicked) -> None:
        if event.href.startswith("cite:"):
            event.stop()
            event.prevent_default()
            self.post_message(self.CitationChosen(int(event.href[5:])))
