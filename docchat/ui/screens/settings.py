"""Settings that matter day to day, saved to the config file and applied at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Select

from docchat.ui.widgets.titlebar import TitleBar

if TYPE_CHECKING:
    from docchat.ui.app import DocchatApp

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


class SettingsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="settings.save"),
        Binding("escape", "back", "Back", id="settings.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.title = "docchat — settings"
        self.sub_title = "Ctrl+S saves to the config file"

    @property
    def dapp(self) -> DocchatApp:
        return self.app  # type: ignore[return-value]

    def _choices(self, source: str, current: str) -> list[str]:
        if source == "backends":
            names = self.dapp.service.generator_backends()
        elif source == "modes":
            names = ["hybrid", "dense", "keyword"]
        else:
            names = sorted(self.app.available_themes)
        return names if current in names else [current, *names]

    def compose(self) -> ComposeResult:
        settings = self.dapp.service.settings
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
                        typ = {"int": "integer", "float": "number"}.get(kind, "text")
                        yield Input(str(value), type=typ, id=field_id)  # type: ignore[arg-type]
        yield Footer(compact=True)

    def collect(self) -> dict[tuple[str, str], Any]:
        """The fields whose value differs from the running settings, typed."""
        settings = self.dapp.service.settings
        changed: dict[tuple[str, str], Any] = {}
        for section, key, _, kind in FIELDS:
            widget = self.query_one(f"#set-{section}-{key}")
            raw = widget.value if isinstance(widget, Select | Input) else None
            if raw is None or raw is Select.BLANK:
                continue
            value: Any = str(raw)
            if kind == "int":
                value = int(value) if value.strip() else None
            elif kind == "float":
                value = float(value) if value.strip() else None
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
            self.app.theme = changed.pop(("ui", "theme"))  # saved by the app's theme watcher
        if changed and not self.dapp.save_settings(changed):
            return
        if any(section == "generate" for section, _ in changed):
            self.dapp.settings_changed()
        self.app.pop_screen()

    def action_back(self) -> None:
        self.app.pop_screen()
