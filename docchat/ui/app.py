"""The docchat terminal app and `run_app`, which `docchat` with no command calls.

Start-up is split so the first frame is instant: the app paints a skeleton, then a worker
builds the service (settings, SQLite) and another loads the models while a status line says
so. Nothing heavy (torch, faiss, llama.cpp) is imported before the first frame.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult, SuspendNotSupported, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from docchat.ui.commands import binding_commands
from docchat.ui.guard import describe
from docchat.ui.logsetup import setup_logging
from docchat.ui.messages import Booted, ModelsReady
from docchat.ui.opener import OpenCommand, launch, open_command
from docchat.ui.widgets.items import Passage
from docchat.ui.widgets.titlebar import TitleBar

log = logging.getLogger("docchat.ui")

HEAVY_MODULES = ("torch", "faiss", "llama_cpp", "transformers", "sentence_transformers")


class DocchatApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "docchat"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "show_help_panel", "Keys", show=False, id="app.keys"),
        Binding("f2", "collections", "Collections", id="app.collections"),
        Binding("f3", "index", "Index", id="app.index"),
        Binding("f4", "sessions", "Sessions", id="app.sessions"),
        Binding("f5", "settings", "Settings", id="app.settings"),
    ]

    def __init__(
        self,
        service_factory: Callable[[], Any],
        collection: str | None = None,
        folders: Sequence[str] = (),
        *,
        config_file: str | None = None,
        log_path: Path | None = None,
    ) -> None:
        super().__init__()
        self.service_factory = service_factory
        self.start_collection = collection
        self.start_folders = list(folders)
        self.config_file = config_file
        self.log_path = log_path
        self.service: Any = None
        self.models_ready = False
        self.models_error: str | None = None
        self.heavy_at_first_frame: list[str] | None = None
        self.launcher: Callable[[OpenCommand, App[Any]], None] = launch

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static("starting docchat…", id="boot")
        yield Footer(compact=True)

    # ------------------------------------------------------------ start-up

    def on_ready(self) -> None:
        # Recorded for the start-up test and benchmark: what was loaded when the user first
        # saw something.
        self.heavy_at_first_frame = [m for m in HEAVY_MODULES if m in sys.modules]
        self.boot()

    @work(thread=True, exclusive=True, group="boot")
    def boot(self) -> None:
        try:
            service = self.service_factory()
            names = service.collection_names()
            collection = self.start_collection or ""
            if not collection and not self.start_folders:
                last = service.settings.ui.last_collection
                collection = last if last in names else (names[0] if len(names) == 1 else "")
            self.post_message(Booted(service, collection))
        except Exception as e:
            if not _is_user_error(e):
                log.exception("start-up failed")
            self.call_from_thread(self._boot_failed, describe(e))

    def _boot_failed(self, error: str) -> None:
        self.query_one("#boot", Static).update(f"docchat could not start:\n{error}")
        self.notify(error, title="start-up failed", severity="error", timeout=30)

    async def on_booted(self, message: Booted) -> None:
        from docchat.ui.formatting import collection_name_for
        from docchat.ui.screens.index import IndexScreen
        from docchat.ui.screens.welcome import WelcomeScreen

        self.service = message.service
        theme = self.service.settings.ui.theme
        if theme in self.available_themes:
            self.theme = theme
        if self.start_folders:
            name = collection_name_for(Path(self.start_folders[0]).expanduser().resolve())
            await self.push_screen(IndexScreen(name, self.start_folders, auto_start=True))
        elif message.collection:
            if message.collection not in self.service.collection_names():
                await self.push_screen(WelcomeScreen())
                self.notify(f"no collection named '{message.collection}'", severity="error")
            else:
                await self._push_main(message.collection)
        else:
            await self.push_screen(WelcomeScreen())
            if self.service.collection_names():  # several, none used last: let the user pick
                await self.action_collections()

    async def _push_main(self, name: str) -> None:
        from docchat.ui.screens.main import MainScreen

        await self.push_screen(MainScreen(name))
        self.remember_collection(name)
        self.warm_models(name)

    @work(thread=True, exclusive=True, group="warm")
    def warm_models(self, collection: str) -> None:
        """Load the models on a worker so the first question does not pay for it on screen."""
        try:
            coll = self.service.open_collection(collection)
            self.service.embedder_for(coll) or self.service.embedder()
            warm_generator = getattr(self.service, "generator", None)
            if callable(warm_generator):
                warm_generator()
            self.post_message(ModelsReady())
        except Exception as e:
            if not _is_user_error(e):
                log.exception("loading models failed")
            self.post_message(ModelsReady(describe(e)))

    def on_models_ready(self, message: ModelsReady) -> None:
        self.models_ready = message.error is None
        self.models_error = message.error
        if message.error:
            self.notify(message.error, title="models", severity="error", timeout=15)
        self._main_screen_call("update_status")

    def _main_screen(self) -> Any:
        from docchat.ui.screens.main import MainScreen

        return next((s for s in self.screen_stack if isinstance(s, MainScreen)), None)

    def _main_screen_call(self, method: str, *args: Any) -> Any:
        main = self._main_screen()
        return getattr(main, method)(*args) if main is not None else None

    # ------------------------------------------------------------ navigation

    async def open_collection(self, name: str) -> None:
        """Show collection `name` on the main screen, closing whatever is on top of it.

        Screens call it with `app.call_later`: awaiting it from a handler of a screen that it
        pops would wait for that very handler."""
        while len(self.screen_stack) > 2:
            await self.pop_screen()
        main = self._main_screen()
        if main is not None:
            await main.set_collection(name)
            self.remember_collection(name)
            self.warm_models(name)
        elif len(self.screen_stack) > 1:
            await self.pop_screen()
            await self._push_main(name)
        else:
            await self._push_main(name)

    async def leave_index_screen(self) -> None:
        from docchat.ui.screens.welcome import WelcomeScreen

        if len(self.screen_stack) > 2:
            await self.pop_screen()
            return
        # The index screen is the base (started as `docchat FOLDER`): go to the collection.
        screen = self.screen
        name = getattr(screen, "collection", "")
        if name and name in self.service.collection_names():
            await self.open_collection(name)
        else:
            await self.switch_screen(WelcomeScreen())

    def settings_changed(self) -> None:
        """A new generation model may be needed: load it in the background again."""
        main = self._main_screen()
        if main is not None:
            self.models_ready = False
            main.update_status()
            self.warm_models(main.collection)

    async def collection_renamed(self, old: str, new: str) -> None:
        main = self._main_screen()
        if main is not None and main.collection == old:
            await main.set_collection(new)
            self.remember_collection(new)

    async def collection_removed(self, name: str) -> None:
        from docchat.ui.screens.welcome import WelcomeScreen

        main = self._main_screen()
        if main is None or main.collection != name:
            return
        names = self.service.collection_names()
        if names:
            await main.set_collection(names[0])
            self.remember_collection(names[0])
        else:
            # Nothing left to show: the welcome screen replaces the main screen.
            index = self.screen_stack.index(main)
            while len(self.screen_stack) > index + 1:
                await self.pop_screen()
            await self.switch_screen(WelcomeScreen())

    def collections_changed(self) -> None:
        self._main_screen_call("refresh_stats")

    def remember_collection(self, name: str) -> None:
        if self.service.settings.ui.last_collection != name:
            self.save_settings({("ui", "last_collection"): name}, quiet=True)

    def save_settings(self, values: dict[tuple[str, str], Any], quiet: bool = False) -> bool:
        """Write settings to the config file and apply them to the running service."""
        from docchat.config import config_path, save_setting

        path = config_path(self.config_file)
        try:
            for (section, key), value in values.items():
                save_setting(path, section, key, value)
                setattr(getattr(self.service.settings, section), key, value)
        except Exception as e:
            if not _is_user_error(e):
                log.exception("saving settings failed")
            self.notify(describe(e), title="settings", severity="error")
            return False
        if not quiet:
            self.notify(f"saved to {path}", title="settings")
        return True

    async def action_index(self) -> None:
        from docchat.ui.screens.index import IndexScreen

        if self.service is None or isinstance(self.screen, IndexScreen):
            return
        main = self._main_screen()
        await self.push_screen(IndexScreen(main.collection if main else ""))

    async def action_collections(self) -> None:
        from docchat.ui.screens.collections import CollectionsScreen

        if self.service is not None and not isinstance(self.screen, CollectionsScreen):
            await self.push_screen(CollectionsScreen())

    async def action_sessions(self) -> None:
        from docchat.ui.screens.sessions import SessionsScreen

        main = self._main_screen()
        if main is None:
            self.notify("open a collection first", severity="warning")
            return
        if not isinstance(self.screen, SessionsScreen):
            await self.push_screen(SessionsScreen(main.collection))

    async def action_doctor(self) -> None:
        from docchat.ui.screens.doctor import DoctorScreen

        if self.service is not None and not isinstance(self.screen, DoctorScreen):
            await self.push_screen(DoctorScreen())

    async def action_settings(self) -> None:
        from docchat.ui.screens.settings import SettingsScreen

        if self.service is not None and not isinstance(self.screen, SettingsScreen):
            await self.push_screen(SettingsScreen())

    # ------------------------------------------------------------ sources and sessions

    def open_source(self, passage: Passage) -> None:
        import os

        command = open_command(
            passage.path, passage.page, passage.line_start, self.service.settings.ui, os.environ
        )
        if command is None:
            self.notify(
                "no way to open it: set ui.editor or $EDITOR (and ui.pdf_viewer for PDFs)",
                severity="warning",
            )
            return
        try:
            self.launcher(command, self)
        except SuspendNotSupported:
            self.notify("this terminal cannot hand over the screen", severity="error")
        except OSError as e:
            self.notify(f"cannot run {command.argv[0]}: {e.strerror or e}", severity="error")

    def export_session(self, collection: str, session: int) -> None:
        from docchat.ui.screens.sessions import export_session

        export_session(self, collection, session)

    # ------------------------------------------------------------ palette, themes, errors

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from binding_commands(self, screen)
        yield SystemCommand(
            "Doctor",
            "Check Python, CPU features, models, storage and collections (docchat doctor)",
            self.action_doctor,
        )

    def watch_theme(self, theme: str) -> None:
        if self.service is not None and self.service.settings.ui.theme != theme:
            self.save_settings({("ui", "theme"): theme}, quiet=True)

    def _handle_exception(self, error: Exception) -> None:
        log.critical("uncaught exception", exc_info=error)
        super()._handle_exception(error)


def _is_user_error(e: BaseException) -> bool:
    from docchat.errors import DocchatError

    return isinstance(e, DocchatError)


def run_app(app_context: Any, collection: str | None, folders: list[str]) -> int:
    log_path = setup_logging()
    app = DocchatApp(
        app_context.service,
        collection,
        folders,
        config_file=app_context.config_file,
        log_path=log_path,
    )
    app.run()
    return app.return_code or 0
