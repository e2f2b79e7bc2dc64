"""The shape the collections and sessions screens share: a title bar, one table with a row
per item, the footer; Esc goes back. Subclasses name the columns and load the rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from docchat.ui.messages import WorkFailed
from docchat.ui.widgets.titlebar import TitleBar

if TYPE_CHECKING:
    from docchat.service import Docchat

K = TypeVar("K", str, int)


class RowTable(DataTable[str]):
    """A table of rows where Home/End move the cursor to the first/last row (DataTable's
    own Home/End scroll sideways and leave the cursor — and the row a key acts on — put)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("home", "first_row", "First", show=False, id="table.first"),
        Binding("end", "last_row", "Last", show=False, id="table.last"),
    ]

    def action_first_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=0)

    def action_last_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)


class TableScreen(Screen[None], Generic[K]):
    COLUMNS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, service: Docchat, title: str) -> None:
        super().__init__(classes="list-screen")
        self.service = service
        self.keys: list[K] = []  # the item each row shows, in order
        self.title = title

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield RowTable(cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*self.COLUMNS)
        table.focus()
        self.load()

    def load(self) -> object:
        """Start a worker that fetches the rows; its message's handler calls `show_rows`."""
        raise NotImplementedError

    def show_rows(self, rows: Sequence[tuple[K, Sequence[str]]]) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self.keys = [key for key, _ in rows]
        for key, cells in rows:
            table.add_row(*cells, key=str(key))

    @property
    def selected(self) -> K | None:
        row = self.query_one(DataTable).cursor_row
        return self.keys[row] if self.keys and row is not None and row < len(self.keys) else None

    def on_work_failed(self, message: WorkFailed) -> None:
        self.notify(message.error, title=f"{message.what} failed", severity="error", timeout=8)

    def action_back(self) -> None:
        self.app.pop_screen()
