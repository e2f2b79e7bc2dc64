"""Collections: switch, create, rename and delete (delete asks first)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.binding import Binding, BindingType

from docchat.presentation import count, size
from docchat.ui.guard import guarded
from docchat.ui.messages import (
    CollectionRemoved,
    CollectionRenamed,
    CollectionsLoaded,
    Done,
    OpenCollection,
    WorkFailed,
)
from docchat.ui.screens.dialogs import ConfirmScreen, PromptScreen
from docchat.ui.screens.table import TableScreen

if TYPE_CHECKING:
    from docchat.service import Docchat


class CollectionsScreen(TableScreen[str]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", id="collections.open", priority=True),
        Binding("n", "new", "New", id="collections.new"),
        Binding("r", "rename", "Rename", id="collections.rename"),
        Binding("d", "delete", "Delete", id="collections.delete"),
        Binding("escape", "back", "Back", id="collections.back"),
    ]
    COLUMNS = ("", "name", "docs", "chunks", "model", "size")

    def __init__(self, service: Docchat, current: str = "") -> None:
        super().__init__(service, "docchat — collections")
        self.current = current  # the collection the main screen shows, marked with ●

    @property
    def names(self) -> list[str]:
        return self.keys

    def reload(self, current: str) -> None:
        """List the collections again; `current` is the one open now."""
        self.current = current
        self.load()

    @work(thread=True, exclusive=True, group="collections")
    def load(self) -> None:
        with guarded(self, "collections"):
            self.post_message(CollectionsLoaded(self.service.collections()))

    def on_collections_loaded(self, message: CollectionsLoaded) -> None:
        self.show_rows(
            [
                (
                    i.name,
                    (
                        "●" if i.name == self.current else " ",
                        i.name,
                        str(i.documents),
                        str(i.chunks),
                        i.model or "-",
                        size(i.size_bytes),
                    ),
                )
                for i in message.infos
            ]
        )
        self.sub_title = count(len(self.names), "collection")

    def on_work_failed(self, message: WorkFailed) -> None:
        super().on_work_failed(message)
        self.load()

    def on_done(self, message: Done) -> None:
        self.notify(message.text)  # the app has the list shown again

    def action_open(self) -> None:
        if self.selected:
            self.post_message(OpenCollection(self.selected))

    async def action_new(self) -> None:
        from docchat.ui.screens.index import IndexScreen

        await self.app.push_screen(IndexScreen(self.service, ""))

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
            self.service.rename_collection(old, new)
            self.post_message(CollectionRenamed(old, new))
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
            self.service.remove(name)
            self.post_message(CollectionRemoved(name))
            self.post_message(Done(f"deleted collection '{name}'"))
