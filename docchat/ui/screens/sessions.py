"""Chat sessions of the open collection: reopen one, start a new one, export to Markdown."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from docchat.ui.guard import guarded
from docchat.ui.messages import Done, SessionOpened, SessionsLoaded, WorkFailed
from docchat.ui.screens.dialogs import PromptScreen
from docchat.ui.widgets.titlebar import TitleBar

if TYPE_CHECKING:
    from docchat.ui.app import DocchatApp


def export_session(app: App[Any], collection: str, session: int) -> None:
    """Ask where to write, then write the session as Markdown (footnoted citations)."""
    default = f"~/docchat-{collection}-session-{session}.md"

    def write(target: str | None) -> None:
        if not target:
            return

        def job() -> None:
            dapp: DocchatApp = app  # type: ignore[assignment]
            with guarded(app.screen, "export"):
                text = dapp.service.export_session(collection, session)
                path = Path(target).expanduser()
                path.write_text(text, encoding="utf-8")
                app.call_from_thread(app.notify, f"wrote {path}", title="export")

        app.run_worker(job, thread=True, group="export")

    app.push_screen(PromptScreen("Export the session as Markdown to:", default), write)


class SessionsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Reopen", id="sessions.open", priority=True),
        Binding("n", "new", "New chat", id="sessions.new"),
        Binding("e", "export", "Export", id="sessions.export"),
        Binding("escape", "back", "Back", id="sessions.back"),
    ]

    def __init__(self, collection: str) -> None:
        super().__init__(classes="list-screen")
        self.collection = collection
        self.ids: list[int] = []
        self.title = f"docchat — sessions of {collection}"

    @property
    def dapp(self) -> DocchatApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield DataTable(id="sessions-table", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("id", "last used", "questions", "title")
        table.focus()
        self.load()

    @work(thread=True, exclusive=True, group="sessions")
    def load(self) -> None:
        with guarded(self, "sessions"):
            self.post_message(SessionsLoaded(self.dapp.service.sessions(self.collection)))

    def on_sessions_loaded(self, message: SessionsLoaded) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self.ids = [r.id for r in message.rows]
        for r in message.rows:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.updated_at))
            table.add_row(str(r.id), when, str(r.messages // 2), r.title, key=str(r.id))
        self.sub_title = f"{len(self.ids)} sessions" if self.ids else "no sessions yet"

    def on_work_failed(self, message: WorkFailed) -> None:
        self.notify(message.error, title=f"{message.what} failed", severity="error", timeout=8)

    def on_done(self, message: Done) -> None:
        self.notify(message.text)

    @property
    def selected(self) -> int | None:
        row = self.query_one(DataTable).cursor_row
        return self.ids[row] if self.ids and row is not None and row < len(self.ids) else None

    def action_open(self) -> None:
        if self.selected is not None:
            self.reopen(self.selected)

    @work(thread=True, exclusive=True, group="sessions")
    def reopen(self, session: int) -> None:
        with guarded(self, "sessions"):
            turns = self.dapp.service.session_turns(self.collection, session)
            self.post_message(SessionOpened(session, turns))

    async def on_session_opened(self, message: SessionOpened) -> None:
        main = self.dapp._main_screen()
        self.app.pop_screen()
        if main is not None:
            await main.show_history(message.session, message.turns)

    async def action_new(self) -> None:
        main = self.dapp._main_screen()
        self.app.pop_screen()
        if main is not None:
            await main.action_new_session()

    def action_export(self) -> None:
        if self.selected is not None:
            export_session(self.app, self.collection, self.selected)

    def action_back(self) -> None:
        self.app.pop_screen()
