"""Shown when there is no collection yet: it offers to index a folder."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from docchat.ui.widgets.titlebar import TitleBar

TEXT = """\
[b]Welcome to docchat[/b]

docchat answers questions about your own documents, offline.
Index a folder of notes, papers or books into a collection, or open one.

[b]Enter[/b] or [b]F3[/b]  index a folder
[b]F2[/b]          collections
[b]Ctrl+P[/b]      every command
[b]Ctrl+Q[/b]      quit
"""


class WelcomeScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "app.index", "Index a folder", id="welcome.index")
    ]

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with Center(), Vertical(id="welcome"):
            yield Static(TEXT, id="welcome-text")
        yield Footer(compact=True)

    def __init__(self) -> None:
        super().__init__()
        self.title = "docchat"
        self.sub_title = "no collection open"
