"""The chat pane: questions and streamed Markdown answers, with selectable citations."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Markdown, Static

from docchat.presentation import CITE_LINK, answer_markdown, sources_line
from docchat.types import Answer

LONG_QUESTION = 300  # characters of a question shown; a pasted page would fill the pane


def shortened(question: str) -> str:
    flat = " ".join(question.split())
    if len(flat) <= LONG_QUESTION:
        return question
    return f"{flat[:LONG_QUESTION]}… ({len(flat):,} characters)"


class ChatTurn(Vertical):
    def __init__(self, question: str) -> None:
        super().__init__(classes="turn")
        self.question = question
        self.answer_md = Markdown("", classes="answer")
        self.meta = Static("", classes="meta")
        self.answer: Answer | None = None

    def compose(self) -> ComposeResult:
        yield Static(f"› {shortened(self.question)}", classes="question", markup=False)
        yield self.answer_md
        yield self.meta

    async def show(self, answer: Answer, unsupported: str = "mark") -> None:
        """The finished answer, its citations linked (unsupported claims in italics, as
        `answer.unsupported` says), and the line naming its sources."""
        await self.answer_md.update(answer_markdown(answer, unsupported) or "_(no answer)_")
        self.meta.update(sources_line(answer))
        self.answer = answer  # last: tests and citation keys treat it as "the turn is done"


class ChatPane(VerticalScroll, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right_square_bracket", "cite(1)", "Citation", id="chat.next_cite"),
        Binding(
            "left_square_bracket", "cite(-1)", "Prev citation", show=False, id="chat.prev_cite"
        ),
        *[
            Binding(str(n), f"cite_number({n})", f"Citation {n}", show=False, id=f"chat.cite_{n}")
            for n in range(1, 10)
        ],
        # Not in the footer, which must fit 80 columns: the palette and F1 list it, and the
        # footnote under an answer with unsupported claims names the key.
        Binding("c", "claim(1)", "Claim", show=False, id="chat.next_claim"),
        Binding("C", "claim(-1)", "Prev claim", show=False, id="chat.prev_claim"),
    ]

    class CitationChosen(Message):
        def __init__(self, n: int) -> None:
            super().__init__()
            self.n = n

    class ClaimChosen(Message):
        """A claim of the last answer picked (`index` into its `claims`)."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Chat"
        self._cite_index = -1
        self._claim_index = -1

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
        self._claim_index = -1
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

    def action_claim(self, step: int) -> None:
        turn = self.last_turn
        claims = turn.answer.claims if turn is not None and turn.answer is not None else ()
        if not claims:
            self.app.bell()
            return
        self._claim_index = (self._claim_index + step) % len(claims)
        self.post_message(self.ClaimChosen(self._claim_index))

    def action_cite_number(self, n: int) -> None:
        turn = self.last_turn
        if turn is None or turn.answer is None or n not in {s.n for s in turn.answer.sources}:
            self.app.bell()
            return
        self.post_message(self.CitationChosen(n))

    def on_markdown_link_clicked(self, event: Markdown.LinkClicked) -> None:
        if event.href.startswith(CITE_LINK):
            event.stop()
            event.prevent_default()
            self.post_message(self.CitationChosen(int(event.href[len(CITE_LINK) :])))
