"""The docchat terminal app and `run_app`, which `docchat` with no command calls.

Start-up is split so the first frame is instant: the app paints a skeleton, then a worker
builds the service (settings, SQLite) and another loads the models while a status line says
so. Nothing heavy (torch, faiss, llama.cpp) is imported before the first frame.

Screens never call the app: they post requests (ui/messages.py) that bubble up here, and the
`@on` handlers below do the navigation, calling the main screen's public methods.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult, SuspendNotSupported, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from docchat.errors import DocchatError
from docchat.logs import setup_logging
from docchat.ui import messages as m
from docchat.ui.commands import binding_commands
from docchat.ui.formatting import collection_name_for
from docchat.ui.guard import describe, guarded, report
from docchat.ui.opener import OpenCommand, launch, open_command
from docchat.ui.widgets.titlebar import TitleBar

if TYPE_CHECKING:
    from docchat.service import Docchat
    from docchat.ui.screens.index import IndexScreen
    from docchat.ui.screens.main import MainScreen

log = logging.getLogger("docchat.ui")

HEAVY_MODULES = ("torch", "faiss", "llama_cpp", "transformers", "sentence_transformers")


class DocchatApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "docchat"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "toggle_keys", "Keys", show=False, id="app.keys"),
        # Only while the keys panel is open (check_action): Esc closes it, before any screen's
        # own Esc (stop, back) sees the key.
        Binding("escape", "hide_keys", "Close keys", show=False, priority=True, id="app.hide_keys"),
        Binding("f2", "collections", "Collections", id="app.collections"),
        Binding("f3", "index", "Index", id="app.index"),
        Binding("f4", "sessions", "Sessions", id="app.sessions"),
        Binding("f5", "settings", "Settings", id="app.settings"),
    ]

    def __init__(
        self,
        service_factory: Callable[[], Docchat],
        collection: str | None = None,
        folders: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.service_factory = service_factory
        self.start_collection = collection
        self.start_folders = list(folders)
        self.service: Docchat | None = None  # set once start-up has built it
        self.models_ready = False
        self.models_error: str | None = None
        self.heavy_at_first_frame: list[str] | None = None
        self.launcher: Callable[[OpenCommand, App[Any]], int | None] = launch
        self._quit_after_run = False

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static("starting docchat…", id="boot")
        yield Footer(compact=True)

    @property
    def docchat(self) -> Docchat:
        """The service; only screens pushed after start-up (which sets it) ask for it."""
        assert self.service is not None, "the service is used before start-up built it"
        return self.service

    # ------------------------------------------------------------ start-up

    def on_ready(self) -> None:
        # Recorded for the start-up test and benchmark: what was loaded when the user first
        # saw something.
        self.heavy_at_first_frame = [name for name in HEAVY_MODULES if name in sys.modules]
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
            self.post_message(m.Booted(service, collection))
        except Exception as e:
            if not isinstance(e, DocchatError):
                log.exception("start-up failed")
            self.call_from_thread(self._boot_failed, describe(e))

    def _boot_failed(self, error: str) -> None:
        self.query_one("#boot", Static).update(f"docchat could not start:\n{error}")
        self.notify(error, title="start-up failed", severity="error", timeout=30)

    async def on_booted(self, message: m.Booted) -> None:
        from docchat.ui.screens.index import IndexScreen
        from docchat.ui.screens.welcome import WelcomeScreen

        self.service = message.service
        theme = self.service.settings.ui.theme
        if theme in self.available_themes:
            self.theme = theme
        if self.start_folders:
            name = collection_name_for(Path(self.start_folders[0]).expanduser().resolve())
            await self.push_screen(
                IndexScreen(self.service, name, self.start_folders, auto_start=True)
            )
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

        main = MainScreen(self.docchat, name)
        await self.push_screen(main)
        main.show_models(self.models_ready, self.models_error)
        self._remember_collection(name)
        self.warm_models(name)

    @work(thread=True, exclusive=True, group="warm")
    def warm_models(self, collection: str) -> None:
        """Load the models on a worker so the first question does not pay for it on screen."""
        try:
            service = self.docchat
            coll = service.open_collection(collection)
            service.embedder_for(coll) or service.embedder()
            service.generator()
            self.post_message(m.ModelsReady())
        except Exception as e:
            if not isinstance(e, DocchatError):
                log.exception("loading models failed")
            self.post_message(m.ModelsReady(describe(e)))

    def on_models_ready(self, message: m.ModelsReady) -> None:
        self.models_ready = message.error is None
        self.models_error = message.error
        if message.error:
            self.notify(message.error, title="models", severity="error", timeout=15)
        if (main := self._main_screen()) is not None:
            main.show_models(self.models_ready, self.models_error)

    def _main_screen(self) -> MainScreen | None:
        from docchat.ui.screens.main import MainScreen

        return next((s for s in self.screen_stack if isinstance(s, MainScreen)), None)

    # ------------------------------------------------------------ collections

    @on(m.OpenCollection)
    async def open_collection(self, message: m.OpenCollection) -> None:
        run = self._index_run()
        if run is None:
            await self._open(message.name)
            return
        # Opening another collection closes the indexing screen, which would stop its run
        # without a word: ask first; "no" goes back to the run's progress.
        from docchat.ui.screens.dialogs import ConfirmScreen

        name = message.name

        async def answered(stop: bool | None) -> None:
            if stop:
                run.stop()
                await self._open(name)
            else:
                await self._show_index(run)

        question = (
            f"An index run into '{run.collection}' is still going ({run.progress_text}). "
            f"Stop it and open '{name}'?"
        )
        await self.push_screen(ConfirmScreen(question), answered)

    def _index_run(self) -> IndexScreen | None:
        """The indexing screen whose run is going, if any."""
        from docchat.ui.screens.index import IndexScreen

        return next(
            (s for s in self.screen_stack if isinstance(s, IndexScreen) and s.running), None
        )

    async def _show_index(self, screen: IndexScreen) -> None:
        while self.screen is not screen and len(self.screen_stack) > 1:
            await self.pop_screen()

    async def _open(self, name: str) -> None:
        while len(self.screen_stack) > 2:
            await self.pop_screen()
        main = self._main_screen()
        if main is not None:
            await main.set_collection(name)
            self._remember_collection(name)
            self.warm_models(name)
        elif len(self.screen_stack) > 1:
            await self.pop_screen()
            await self._push_main(name)
        else:
            await self._push_main(name)

    @on(m.LeaveIndex)
    async def leave_index(self, message: m.LeaveIndex) -> None:
        from docchat.ui.screens.welcome import WelcomeScreen

        main = self._main_screen()
        name = message.collection
        if (
            message.indexed
            and (main is None or main.collection != name)
            and name in self.docchat.collection_names()
        ):  # show what was just indexed
            await self._open(name)
            return
        if len(self.screen_stack) > 2:
            await self.pop_screen()
            return
        # The index screen is the base (started as `docchat FOLDER`): go to the collection.
        if message.collection and message.collection in self.docchat.collection_names():
            await self._open(message.collection)
        else:
            await self.switch_screen(WelcomeScreen())

    @on(m.CollectionChanged)
    def collection_changed(self) -> None:
        self._collections_changed()

    @on(m.CollectionRenamed)
    async def collection_renamed(self, message: m.CollectionRenamed) -> None:
        main = self._main_screen()
        if main is not None and main.collection == message.old:
            await main.set_collection(message.new)
            self._remember_collection(message.new)
        self._collections_changed()

    @on(m.CollectionRemoved)
    async def collection_removed(self, message: m.CollectionRemoved) -> None:
        from docchat.ui.screens.welcome import WelcomeScreen

        main = self._main_screen()
        if main is not None and main.collection == message.name:
            names = self.docchat.collection_names()
            if not names:
                # Nothing left to show: the welcome screen replaces the main screen.
                while self.screen is not main:
                    await self.pop_screen()
                await self.switch_screen(WelcomeScreen())
                return
            await main.set_collection(names[0])
            self._remember_collection(names[0])
        self._collections_changed()

    def _collections_changed(self) -> None:
        """What lists or counts collections shows them again."""
        from docchat.ui.screens.collections import CollectionsScreen

        main = self._main_screen()
        for screen in self.screen_stack:
            if isinstance(screen, CollectionsScreen):
                screen.reload(main.collection if main else "")
        if main is not None:
            main.refresh_stats()

    def _remember_collection(self, name: str) -> None:
        if self.docchat.settings.ui.last_collection != name:
            self._save_quietly({("ui", "last_collection"): name})

    # ------------------------------------------------------------ settings

    @on(m.SettingsSaved)
    def settings_saved(self, message: m.SettingsSaved) -> None:
        main = self._main_screen()
        if main is not None and any(section == "generate" for section, _ in message.keys):
            # A new generation model may be needed: load it in the background again.
            self.models_ready = False
            main.show_models(self.models_ready, self.models_error)
            self.warm_models(main.collection)

    def watch_theme(self, theme: str) -> None:
        if self.service is not None and self.service.settings.ui.theme != theme:
            self._save_quietly({("ui", "theme"): theme})

    def _save_quietly(self, values: dict[tuple[str, str], object]) -> None:
        try:
            self.docchat.save_settings(values)
        except Exception as e:
            report(self, e, "settings")

    # ------------------------------------------------------------ sources and sessions

    @on(m.OpenSource)
    def open_source(self, message: m.OpenSource) -> None:
        p = message.passage
        main = self._main_screen()
        if Path(p.path).suffix.lower() == ".pdf" or main is None:
            self._launch(p.path, p.page, p.line_start)
        else:
            self.open_extracted(main.collection, p.path, p.page, p.line_start)

    @work(thread=True, group="open")
    def open_extracted(self, collection: str, path: str, page: int | None, line: int) -> None:
        """Line numbers count lines of the text docchat extracted (an HTML page's main text,
        a notebook's cells), not of the file: for such files open that text, written to the
        cache folder, at the line, so the editor lands on the passage."""
        from docchat.locations import user_cache_dir

        target = path
        try:
            text = self.docchat.extracted_text(collection, path, page)
            if text is not None:
                name = Path(path).name + (f".page{page}" if page is not None else "") + ".txt"
                view = user_cache_dir() / "opened" / name
                view.parent.mkdir(parents=True, exist_ok=True)
                view.write_text(text, encoding="utf-8")
                target, page = str(view), None
        except Exception as e:  # the file as it is, then, with a word about why
            self.call_from_thread(report, self, e, "open")
        self.call_from_thread(self._launch, target, page, line)

    def _launch(self, path: str, page: int | None, line: int) -> None:
        import os

        command = open_command(path, page, line, self.docchat.settings.ui, os.environ)
        if command is None:
            self.notify(
                "no way to open it: set ui.editor or $EDITOR (and ui.pdf_viewer for PDFs)",
                severity="warning",
            )
            return
        try:
            status = self.launcher(command, self)
        except SuspendNotSupported:
            self.notify("this terminal cannot hand over the screen", severity="error")
        except OSError as e:
            self.notify(f"cannot run {command.argv[0]}: {e.strerror or e}", severity="error")
        else:
            if status:  # the editor failed at once: say so rather than flash back silently
                self.notify(
                    f"{' '.join(command.argv[:-1])} … exited with status {status}",
                    title="open",
                    severity="error",
                )

    @on(m.ExportSession)
    def export_session(self, message: m.ExportSession) -> None:
        """Ask where to write, then write the session as Markdown (footnoted citations)."""
        from docchat.ui.screens.dialogs import PromptScreen

        collection, session = message.collection, message.session

        def chosen(target: str | None) -> None:
            if target:
                self.write_export(collection, session, target)

        default = f"~/docchat-{collection}-session-{session}.md"
        self.push_screen(PromptScreen("Export the session as Markdown to:", default), chosen)

    @work(thread=True, group="export")
    def write_export(self, collection: str, session: int, target: str) -> None:
        with guarded(self, "export"):
            text = self.docchat.export_session(collection, session)
            path = Path(target).expanduser()
            path.write_text(text, encoding="utf-8")
            self.post_message(m.Done(f"wrote {path}", title="export"))

    def on_done(self, message: m.Done) -> None:
        self.notify(message.text, title=message.title)

    def on_work_failed(self, message: m.WorkFailed) -> None:
        self.notify(message.error, title=f"{message.what} failed", severity="error", timeout=8)

    @on(m.SessionChosen)
    async def session_chosen(self, message: m.SessionChosen) -> None:
        if (main := await self._back_to_main()) is not None:
            await main.show_history(message.session, message.turns)

    @on(m.NewChat)
    async def new_chat(self) -> None:
        if (main := await self._back_to_main()) is not None:
            await main.action_new_session()

    async def _back_to_main(self) -> MainScreen | None:
        main = self._main_screen()
        while main is not None and self.screen is not main:
            await self.pop_screen()
        return main

    # ------------------------------------------------------------ screens by key

    async def action_index(self) -> None:
        from docchat.ui.screens.index import IndexScreen

        if self.service is None or isinstance(self.screen, IndexScreen):
            return
        open_one = next((s for s in self.screen_stack if isinstance(s, IndexScreen)), None)
        if open_one is not None:  # back to the run in progress (or its result), not a new one
            await self._show_index(open_one)
            return
        main = self._main_screen()
        await self.push_screen(IndexScreen(self.service, main.collection if main else ""))

    async def action_collections(self) -> None:
        from docchat.ui.screens.collections import CollectionsScreen

        if self.service is not None and not isinstance(self.screen, CollectionsScreen):
            main = self._main_screen()
            await self.push_screen(CollectionsScreen(self.service, main.collection if main else ""))

    async def action_sessions(self) -> None:
        from docchat.ui.screens.sessions import SessionsScreen

        main = self._main_screen()
        if main is None:
            self.notify("open a collection first", severity="warning")
            return
        if not isinstance(self.screen, SessionsScreen):
            await self.push_screen(SessionsScreen(self.docchat, main.collection))

    async def action_doctor(self) -> None:
        from docchat.ui.screens.doctor import DoctorScreen

        if self.service is not None and not isinstance(self.screen, DoctorScreen):
            await self.push_screen(DoctorScreen(self.service))

    async def action_settings(self) -> None:
        from docchat.ui.screens.settings import SettingsScreen

        if self.service is not None and not isinstance(self.screen, SettingsScreen):
            if (main := self._main_screen()) is not None:
                main.focus_input_on_resume = True
            await self.push_screen(SettingsScreen(self.service))

    # ------------------------------------------------------------ quit

    async def action_quit(self) -> None:
        run = self._index_run()
        if run is None:
            self.exit()
            return
        from docchat.ui.screens.dialogs import ConfirmScreen

        def answered(stop: bool | None) -> None:
            if stop:
                # Quit once the run has stopped and checkpointed (IndexFinished below), so
                # the quick exit of run_app never cuts a write short.
                self._quit_after_run = True
                run.stop()

        question = (
            f"An index run into '{run.collection}' is still going ({run.progress_text}). "
            "Stop it and quit? (what is indexed so far is kept)"
        )
        await self.push_screen(ConfirmScreen(question), answered)

    @on(m.IndexFinished)
    @on(m.IndexFailed)
    def index_ended(self) -> None:
        if self._quit_after_run:
            self.exit()
            return
        if (main := self._main_screen()) is not None:
            main.start_watch()  # an index run of its collection stopped its watch

    # ------------------------------------------------------------ keys panel

    def _keys_shown(self) -> bool:
        from textual.widgets import HelpPanel

        return bool(self.screen.query(HelpPanel))

    def action_toggle_keys(self) -> None:
        if self._keys_shown():
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_hide_keys(self) -> None:
        self.action_hide_help_panel()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "hide_keys":
            return self._keys_shown()
        if action == "sessions":
            # Sessions belong to the collection on the main screen; elsewhere F4 is off (and
            # out of the footer, which must fit 80 columns).
            from docchat.ui.screens.main import MainScreen

            return isinstance(self.screen, MainScreen)
        here = type(self.screen).__name__
        if (action, here) in {
            ("collections", "CollectionsScreen"),
            ("index", "IndexScreen"),
            ("settings", "SettingsScreen"),
        }:
            return False  # the key of the screen one is on: no-op, and room in the footer
        return super().check_action(action, parameters)

    # ------------------------------------------------------------ palette, errors

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # Of Textual's own commands only these two mean something here; docchat's actions
        # come from its bindings (ui/commands.py), each once and described.
        for command in super().get_system_commands(screen):
            if command.title in ("Theme", "Quit"):
                yield command
        yield from binding_commands(self, screen)
        yield SystemCommand(
            "Doctor",
            "Check Python, CPU features, models, storage and collections (docchat doctor)",
            self.action_doctor,
        )

    def _handle_exception(self, error: Exception) -> None:
        log.critical("uncaught exception", exc_info=error)
        super()._handle_exception(error)


def run_app(
    service_factory: Callable[[], Docchat], collection: str | None, folders: list[str]
) -> int:
    setup_logging()
    app = DocchatApp(service_factory, collection, folders)
    app.run()
    code = app.return_code or 0
    if app.service is not None:
        app.service.close()  # the collections and their vector stores' connections
    quick_exit(code)
    return code  # not reached


def quick_exit(code: int) -> None:
    """Leave without the interpreter's orderly shutdown: with the models loaded it took
    seconds (native libraries' destructors, waiting for the model process to close) and had
    nothing to save — every write is committed, an index run has stopped and checkpointed
    before the app quits, and the model process exits by itself when its input closes."""
    import contextlib
    import os

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
