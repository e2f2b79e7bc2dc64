"""The top line: "docchat — collection — stats", following the screen's title and sub-title.

Used instead of Textual's Header, whose title watcher can fire before the header has
composed its children (a NoMatches crash when a screen's sub-title changes right after it is
pushed); this one only calls Static.update, which is safe at any time after mount.
"""

from __future__ import annotations

from textual.widgets import Static


class TitleBar(Static):
    DEFAULT_CSS = """
    TitleBar {
        dock: top;
        width: 100%;
        height: 1;
        background: $panel;
        color: $foreground;
        text-style: bold;
        content-align: center middle;
    }
    """

    def __init__(self) -> None:
        super().__init__("", markup=False)

    def on_mount(self) -> None:
        self.watch(self.screen, "title", self._show, init=False)
        self.watch(self.screen, "sub_title", self._show, init=False)
        self._show()

    def _show(self) -> None:
        title = self.screen.title or self.app.title
        sub = self.screen.sub_title
        self.update(f"{title} — {sub}" if sub else title)
