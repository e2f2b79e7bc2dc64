"""Collections: switch, create, rename and delete (delete asks first)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from docchat.presentation import size
from docchat.ui.guard import guarded
from docchat.ui.messages import CollectionsLoaded, Done, WorkFailed
from docchat.ui.screens.dialogs import ConfirmScreen, PromptScreen
from docchat.ui.widgets.titlebar import TitleBar

if TYPE_CHECKING:
    from docchat.ui.app import DocchatApp


class CollectionsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", id="collections.open", priority=True),
        Binding("n", "new", "New", id="collections.new"),
        Binding("r", "rename", "Rename", id="collections.rename"),
        Binding("d", "delete", "Delete", id="collections.delete"),
        Binding("escape", "back", "Back", id="collections.back"),
    ]

    def __init__(self) -> None:
        super().__init__(classes="list-screen")
        self.names: list[str] = []
        self.title = "docchat — collections"

    @property
    def dapp(self) -> DocchatApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield DataTable(id="collections-table", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("", "name", "docs", "chunks", "model", "size")
        table.focus()
        self.load()

    @work(thread=True, exclusive=True, group="collections")
    def load(self) -> None:
        with guarded(self, "collections"):
            self.post_message(CollectionsLoaded(self.dapp.service.collections()))

    def on_collections_loaded(self, message: CollectionsLoaded) -> None:
        main = self.dapp._main_screen()
        current = main.collection if main else ""
        table = self.query_one(DataTable)
        table.clear()
        self.names = [i.name for i in message.infos]
        for i in message.infos:
            table.add_row(
                "●" if i.name == current else " ",
                i.name,
                str(i.documents),
                str(i.chunks),
                i.model or "-",
                size(i.size_bytes),
                key=i.name,
            )
        self.sub_title = f"{len(self.names)} collections"

    def on_work_failed(self, message: WorkFailed) -> None:
        self.notify(message.error, title=f"{message.what} failed", severity="error", timeout=8)
        self.load()

    def on_done(self, message: Done) -> None:
        self.notify(message.text)
        self.load()

    @property
    def selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.names or table.cursor_row is None or table.cursor_row >= len(self.names):
            return None
        return self.names[table.cursor_row]

    def action_open(self) -> None:
        if self.selected:
            # Run by the app: it pops this screen, which this handler must not wait for.
            self.app.call_later(self.dapp.open_collection, self.selected)

    async def action_new(self) -> None:
        from docchat.ui.screens.index import IndexScreen

        await self.app.push_screen(IndexScreen(""))

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_rename(self) -> None:
        old = self.selected
        if old is None:
            return

        def done(new: str | None) -> None:
            if new and new != old:
                self.rename(old, new)

        self.app.push_screen(PromptScreen(f"Rename collection '{old}' to:", old), done)

    @work(thread=True, group="collections-change")
    def rename(self, old: str, new: str) -> None:
        with guarded(self, "rename"):
            self.dapp.service.rename_collection(old, new)
            self.app.call_from_thread(self.dapp.collection_renamed, old, new)  # type: ignore[arg-type]
            self.post_message(Done(f"renamed '{old}' to '{new}'"))

    def action_delete(self) -> None:
        name = self.selected
        if name is None:
            return

        def done(yes: bool | None) -> None:
            if yes:
                self.delete(name)

        question = f"Delete collection '{name}'? (its index only; your files stay)"
        self.app.push_screen(ConfirmScreen(question), done)

    @work(thread=True, group="collections-change")
    def delete(self, name: str) -> None:
        with guarded(self, "delete"):
            self.dapp.service.remove(name)
            self.app.call_from_thread(self.dapp.collection_removed, name)  # type: ignore[arg-type]
            self.post_message(Done(f"deleted collection '{name}'"))
