"""Settings that matter day to day, saved to the config file and applied at once."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, ClassVar, Literal

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.events import DescendantFocus
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Select, Static

from docchat.ui.guard import report
from docchat.ui.messages import SettingsSaved
from docchat.ui.screens.dialogs import ConfirmScreen
from docchat.ui.widgets.titlebar import TitleBar

if TYPE_CHECKING:
    from docchat.service import Docchat
    from docchat.types import LocalModel

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

LOCAL_MODELS_HELP = (
    "Chat models already on this machine (as `docchat models` lists them: the bundled one, "
    "generate.model_dirs, the Hugging Face cache, Ollama, LM Studio); picking one fills Model."
)


def model_label(model: LocalModel) -> str:
    """One line per model: name, what it is, and whether this machine can run it."""
    size = (
        f"{model.size_bytes / 2**30:.1f} GB"
        if model.size_bytes >= 2**30
        else (f"{model.size_bytes / 2**20:.0f} MB")
    )
    facts = [f for f in (model.parameters, model.quantization, size) if f]
    verdict = (
        f" — cannot run: {model.problem}"
        if model.problem
        else f" — too big: {model.too_big}"
        if model.too_big
        else ""
    )
    return f"{model.name} ({', '.join(facts)}){verdict}"


class SettingsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="settings.save"),
        Binding("escape", "back", "Back", id="settings.back"),
    ]

    def __init__(self, service: Docchat) -> None:
        super().__init__()
        self.service = service
        self.title = "docchat — settings"
        self.sub_title = "Ctrl+S saves to the config file · Tab/↓ next field"

    def description(self, section: str, key: str) -> str:
        """The setting's own description from docchat/config.py, so the help never drifts."""
        model = type(getattr(self.service.settings, section))
        info = model.model_fields.get(key)
        return (info.description or "") if info is not None else ""

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
                if (section, key) == ("generate", "model"):
                    with Horizontal(classes="field"):
                        yield Label(f"{'  on machine':<12}", classes="label")
                        yield Select[str](
                            [],
                            prompt="looking for models…",
                            id="set-local-models",
                            disabled=True,
                        )
        yield Static("", id="settings-help", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # Focus the first field so keys edit settings, not whatever screen lies below.
        section, key, _, _ = FIELDS[0]
        self.query_one(f"#set-{section}-{key}").focus()
        self._help_for(f"set-{section}-{key}")
        self.find_models()

    @work(thread=True, exclusive=True, group="local-models", exit_on_error=False)
    def find_models(self) -> None:
        """Reading GGUF headers across the model stores can take a moment on a big cache: a
        worker, so the form is usable at once."""
        problem = None
        try:
            models = self.service.local_models()
        except Exception as e:  # the list is a convenience: the Model field still works
            models, problem = [], f"could not list models: {e}"
        with contextlib.suppress(RuntimeError):  # the app closed meanwhile: nobody to tell
            self.app.call_from_thread(self._show_models, models, problem)

    def _show_models(self, models: list[LocalModel], problem: str | None) -> None:
        try:
            select = self.query_one("#set-local-models", Select)
        except NoMatches:  # the screen was closed before the list came
            return
        select.set_options((model_label(m), m.name) for m in models)
        n = len(models)
        select.prompt = problem or (
            f"{n} model{'s' if n != 1 else ''} on this machine — pick one"
            if n
            else "no local models found"
        )
        select.disabled = not models

    @on(Select.Changed, "#set-local-models")
    def use_local_model(self, event: Select.Changed) -> None:
        if event.value is not Select.BLANK:
            self.query_one("#set-generate-model", Input).value = str(event.value)

    @on(DescendantFocus)
    def show_help(self, event: DescendantFocus) -> None:
        node: DOMNode | None = event.widget  # a Select's focus may sit on a part of it
        while node is not None and not (node.id or "").startswith("set-"):
            node = node.parent
        if node is not None:
            self._help_for(node.id or "")

    def _help_for(self, widget_id: str) -> None:
        if widget_id == "set-local-models":
            self.query_one("#settings-help", Static).update(LOCAL_MODELS_HELP)
            return
        for section, key, _, _ in FIELDS:
            if widget_id == f"set-{section}-{key}":
                help_text = self.description(section, key)
                where = f"[{section}] {key}"
                self.query_one("#settings-help", Static).update(
                    f"{help_text} ({where})" if help_text else where
                )
                return

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
        try:
            # All values in one write: validated together, the file replaced once, so a
            # refused value leaves nothing half saved.
            path = self.service.save_settings(changed)
        except Exception as e:  # stay open, so the value can be fixed
            report(self, e, "settings")
            return
        if ("ui", "theme") in changed:
            self.app.theme = str(changed[("ui", "theme")])  # already saved: the watcher skips it
        self.notify(f"saved to {path}", title="settings")
        # To the app directly: this screen is closed before it could pass it on.
        self.app.post_message(SettingsSaved(list(changed)))
        self.app.pop_screen()

    def action_back(self) -> None:
        try:
            changed = self.collect()
        except ValueError:
            changed = {("?", "?"): ""}  # a half-typed number is an edit too
        if not changed:
            self.app.pop_screen()
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.app.pop_screen()

        names = ", ".join(key for _, key in changed) if ("?", "?") not in changed else "edits"
        self.app.push_screen(
            ConfirmScreen(f"Discard unsaved changes ({names})? Ctrl+S saves them instead."),
            answered,
        )
