"""Settings that matter day to day, saved to the config file and applied at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Select

from docchat.ui.guard import report
from docchat.ui.messages import SettingsSaved
from docchat.ui.widgets.titlebar import TitleBar

if TYPE_CHECKING:
    from docchat.service import Docchat

# (section, key, label, kind): kind is "select:<source>", "int", "float" or "text".
FIELDS: list[tuple[str, str, str, str]] = [
    ("generate", "backend", "Backend", "select:backends"),
    ("generate", "model", "Model", "text"),
    ("search", "k", "Passages k", "int"),
    ("generate", "temperature", "Temperature", "float"),
    ("generate", "max_tokens", "Max tokens", "int"),
    ("search", "mode", "Retrieval", "select:modes"),
    ("ui", "theme", "Theme", "select:themes"),
    ("ui", "editor", "Editor", "text"),
    ("ui", "pdf_viewer", "PDF viewer", "text"),
]


INPUT_TYPES: dict[str, Literal["integer", "number", "text"]] = {"int": "integer", "float": "number"}


class SettingsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="settings.save"),
        Binding("escape", "back", "Back", id="settings.back"),
    ]

    def __init__(self, service: Docchat) -> None:
        super().__init__()
        self.service = service
        self.title = "docchat — settings"
        self.sub_title = "Ctrl+S saves to the config file"

    def _choices(self, source: str, current: str) -> list[str]:
        if source == "backends":
            names = self.service.generator_backends()
        elif source == "modes":
            names = ["hybrid", "dense", "keyword"]
        else:
            names = sorted(self.app.available_themes)
        return names if current in names else [current, *names]

    def compose(self) -> ComposeResult:
        settings = self.service.settings
        yield TitleBar()
        with VerticalScroll(id="settings-form"):
            for section, key, label, kind in FIELDS:
                value = getattr(getattr(settings, section), key)
                field_id = f"set-{section}-{key}"
                with Horizontal(classes="field"):
                    yield Label(f"{label:<12}", classes="label")
                    if kind.startswith("select:"):
                        options = [(c, c) for c in self._choices(kind[7:], str(value))]
                        yield Select(options, value=str(value), allow_blank=False, id=field_id)
                    else:
                        yield Input(str(value), type=INPUT_TYPES.get(kind, "text"), id=field_id)
        yield Footer(compact=True)

    def collect(self) -> dict[tuple[str, str], str | int | float]:
        """The fields whose value differs from the running settings, typed."""
        settings = self.service.settings
        changed: dict[tuple[str, str], str | int | float] = {}
        for section, key, _, kind in FIELDS:
            widget = self.query_one(f"#set-{section}-{key}")
            raw = widget.value if isinstance(widget, Select | Input) else None
            if raw is None or raw is Select.BLANK:
                continue
            text = str(raw)
            value: str | int | float | None = text
            if kind == "int":
                value = int(text) if text.strip() else None
            elif kind == "float":
                value = float(text) if text.strip() else None
            if value is not None and value != getattr(getattr(settings, section), key):
                changed[(section, key)] = value
        return changed

    def action_save(self) -> None:
        try:
            changed = self.collect()
        except ValueError as e:
            self.notify(f"not a number: {e}", severity="error")
            return
        if not changed:
            self.app.pop_screen()
            return
        if ("ui", "theme") in changed:
            self.app.theme = str(changed.pop(("ui", "theme")))  # saved by the app's watcher
        if changed:
            try:
                path = self.service.save_settings(changed)
            except Exception as e:  # stay open, so the value can be fixed
                report(self, e, "settings")
                return
            self.notify(f"saved to {path}", title="settings")
            # To the app directly: this screen is closed before it could pass it on.
            self.app.post_message(SettingsSaved(list(changed)))
        self.app.pop_screen()

    def action_back(self) -> None:
        self.app.pop_screen()
