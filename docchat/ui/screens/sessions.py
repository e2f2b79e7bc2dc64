"""Chat sessions of the open collection: reopen one, start a new one, export to Markdown."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.binding import Binding, BindingType

from docchat.presentation import count, when
from docchat.ui.guard import guarded
from docchat.ui.messages import (
    ExportSession,
    NewChat,
    SessionChosen,
    SessionsLoaded,
)
from docchat.ui.screens.table import TableScreen

if TYPE_CHECKING:
    from docchat.service import Docchat


class SessionsScreen(TableScreen[int]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Reopen", id="sessions.open", priority=True),
        Binding("n", "new", "New chat", id="sessions.new"),
        Binding("e", "export", "Export", id="sessions.export"),
        Binding("escape", "back", "Back", id="sessions.back"),
    ]
    COLUMNS = ("id", "last used", "questions", "title")

    def __init__(self, service: Docchat, collection: str) -> None:
        super().__init__(service, f"docchat — sessions of {collection}")
        self.collection = collection

    @property
    def ids(self) -> list[int]:
        return self.keys

    @work(thread=True, exclusive=True, group="sessions")
    def load(self) -> None:
        with guarded(self, "sessions"):
            self.post_message(SessionsLoaded(self.service.sessions(self.collection)))

    def on_sessions_loaded(self, message: SessionsLoaded) -> None:
        self.show_rows(
            [
                (r.id, (str(r.id), when(r.updated_at), str(r.messages // 2), r.title))
                for r in message.rows
            ]
        )
        self.sub_title = count(len(self.ids), "session") if self.ids else "no sessions yet"

    def action_open(self) -> None:
        if self.selected is not None:
            self.reopen(self.selected)

    @work(thread=True, exclusive=True, group="sessions")
    def reopen(self, session: int) -> None:
        with guarded(self, "sessions"):
            turns = self.service.session_turns(self.collection, session)
            self.post_message(SessionChosen(session, turns))

    def action_new(self) -> None:
        self.post_message(NewChat())

    def action_export(self) -> None:
        if self.selected is not None:
            self.post_message(ExportSession(self.collection, self.selected))
