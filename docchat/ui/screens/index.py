"""The indexing screen: choose folders, start/stop a run, watch progress and the skip log."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, OptionList, ProgressBar, RichLog, Static
from textual.worker import get_current_worker

from docchat.errors import DocchatError
from docchat.locations import validate_collection_name
from docchat.presentation import count, index_summary
from docchat.types import ChunksEmbedded, FileDone, IndexStarted, IndexSummary, OcrProgress
from docchat.ui.formatting import (
    RecentRate,
    collection_name_for,
    display_path,
    progress_line,
    relative_to_roots,
)
from docchat.ui.guard import describe
from docchat.ui.messages import (
    CollectionChanged,
    IndexBegan,
    IndexFailed,
    IndexFinished,
    IndexPhase,
    IndexProgress,
    LeaveIndex,
    OpenCollection,
)
from docchat.ui.widgets.path_input import PathSuggester
from docchat.ui.widgets.titlebar import TitleBar

if TYPE_CHECKING:
    from docchat.service import Docchat

POST_EVERY_S = 0.1  # at most ~10 progress messages a second, however fast files go by
NOTES_SHOWN = 50  # a run's notes written into the log at its end
LOG_PER_POST = 100  # log lines carried by one message; the rest are counted, not listed

now = time.monotonic  # module-level so snapshot tests can freeze the clock


class IndexScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "start", "Start", id="index.start"),
        Binding("escape", "stop_or_back", "Stop", id="index.stop"),
        Binding("delete", "remove_folder", "Remove folder", show=False, id="index.remove"),
        Binding("ctrl+o", "open_collection", "Open", id="index.open"),
    ]

    def __init__(
        self,
        service: Docchat,
        collection: str = "",
        folders: list[str] | None = None,
        *,
        auto_start: bool = False,
    ) -> None:
        super().__init__()
        self.service = service
        self.collection = collection
        self.folders: list[Path] = [Path(f).expanduser().resolve() for f in folders or []]
        self.auto_start = auto_start
        self.cancel: threading.Event | None = None
        self.running = False
        self.finished: IndexSummary | None = None
        self._started_at = 0.0
        self._files_total = 0
        self._log_lines = 0
        self._rate = RecentRate()
        # Set before mounting so the first frame already shows them.
        self.title = "docchat — index"
        self.sub_title = collection or "new collection"

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with Vertical(id="index-form"):
            with Horizontal(classes="field"):
                yield Label("Add folder ", classes="label")
                yield Input(
                    placeholder="path (→ completes, Enter adds)",
                    id="index-path",
                    suggester=PathSuggester(),
                )
            with Horizontal(classes="field"):
                yield Label("Collection ", classes="label")
                yield Input(
                    self.collection, placeholder="name (proposed from the folder)", id="index-name"
                )
            yield OptionList(id="index-folders")
            with Horizontal(classes="bar"):
                yield Label("files  ", classes="label")
                yield ProgressBar(id="files-bar", show_eta=False)
            with Horizontal(classes="bar"):
                yield Label("chunks ", classes="label")
                yield ProgressBar(id="chunks-bar", show_eta=False)
            yield Static("add a folder, then Ctrl+R to start", id="index-rate")
            yield RichLog(id="index-log", markup=False, wrap=True, max_lines=5000)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#index-log", RichLog).border_title = "Skipped and failed files"
        self._show_folders()
        # The folder first: the name is proposed from it (a new user typed the folder into
        # the name field and got "invalid collection name '~/docs'").
        self.query_one("#index-path").focus()
        if self.auto_start:
            self.action_start()

    def _show_folders(self) -> None:
        folders = self.query_one("#index-folders", OptionList)
        folders.clear_options()
        folders.add_options([display_path(f) for f in self.folders])
        folders.border_title = f"Folders ({len(self.folders)}) — Del removes"

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "index-name":
            value = event.value.strip()
            if value.startswith(("~", "/", ".")) or "/" in value:  # a folder, not a name
                event.input.value = ""
                path_input = self.query_one("#index-path", Input)
                path_input.value = value
                path_input.focus()
                self.post_message(Input.Submitted(path_input, value))
                return
            self.query_one("#index-path").focus()
            return
        raw = event.value.strip()
        if not raw:
            if self.folders:
                self.action_start()
            return
        path = Path(raw).expanduser().resolve()
        if not path.exists():
            self.notify(f"no such file or folder: {raw}", severity="error")
            return
        if path not in self.folders:
            self.folders.append(path)
            self._show_folders()
        if not self.query_one("#index-name", Input).value.strip():
            self.query_one("#index-name", Input).value = collection_name_for(path)
        event.input.clear()

    def action_remove_folder(self) -> None:
        folders = self.query_one("#index-folders", OptionList)
        if self.running or folders.highlighted is None or not self.folders:
            return
        del self.folders[folders.highlighted]
        self._show_folders()

    # ------------------------------------------------------------ run

    def action_start(self) -> None:
        if self.running:
            return
        name = self.query_one("#index-name", Input).value.strip()
        try:
            validate_collection_name(name)
        except DocchatError as e:
            self.notify(str(e), severity="error")
            return
        if not self.folders:
            self.notify("add a folder first", severity="warning")
            return
        self.collection = name
        self.sub_title = name
        self.running = True
        self.finished = None
        self.cancel = threading.Event()
        self._started_at = now()
        self.query_one("#files-bar", ProgressBar).update(total=None, progress=0)
        self.query_one("#chunks-bar", ProgressBar).update(total=None, progress=0)
        self.query_one("#index-rate", Static).update("starting…")
        self.query_one("#index-log", RichLog).clear()
        self._rate = RecentRate()
        self._log_lines = 0
        self.run_index(name, list(self.folders), self.cancel)

    @work(thread=True, exclusive=True, group="index")
    def run_index(self, name: str, folders: list[Path], cancel: threading.Event) -> None:
        worker = get_current_worker()
        latest: FileDone | None = None
        files_total = 0
        group: ChunksEmbedded | None = None  # the batch group being embedded, if any
        reading: OcrProgress | None = None  # a file being read by OCR, if any
        log: list[tuple[str, str, str]] = []
        unlogged = 0
        last_post = 0.0

        def flush() -> None:
            nonlocal log, unlogged, last_post
            if latest is not None or group is not None or reading is not None:
                self.post_message(
                    IndexProgress(
                        latest.files_done if latest else 0,
                        files_total,
                        latest.chunks_done if latest else group.chunks_done if group else 0,
                        relative_to_roots(latest.path, folders) if latest else "",
                        log,
                        unlogged,
                        group.embedded if group else 0,
                        group.queued if group else 0,
                        group.files if group else 0,
                        relative_to_roots(reading.path, folders) if reading else "",
                        reading.pages if reading else 0,
                    )
                )
            log, unlogged = [], 0
            last_post = time.monotonic()

        try:
            # Load the embedding model first, saying so: it can take many seconds, and the
            # screen said "scanning folders…" all that time.
            self.post_message(IndexPhase("loading the embedding model…"))
            self._load_embedder(name)
            self.post_message(IndexPhase("scanning folders…"))
            for event in self.service.index(name, folders, cancel):
                if worker.is_cancelled:
                    cancel.set()  # the run stops after this file and checkpoints
                if isinstance(event, IndexStarted):
                    files_total = event.files_total
                    self.post_message(IndexBegan(event.files_total))
                elif isinstance(event, ChunksEmbedded):
                    group = event
                    if time.monotonic() - last_post >= POST_EVERY_S:
                        flush()
                elif isinstance(event, OcrProgress):
                    reading = event
                    if time.monotonic() - last_post >= POST_EVERY_S:
                        flush()
                elif isinstance(event, FileDone):
                    latest = event
                    reading = None
                    if event.status == "indexed":
                        group = None  # the group is stored: its files are counted done
                    if event.status in ("skipped", "failed") and len(log) >= LOG_PER_POST:
                        unlogged += 1
                    elif event.status in ("skipped", "failed"):
                        where = relative_to_roots(event.path, folders)
                        log.append((event.status, where, event.reason or ""))
                    if time.monotonic() - last_post >= POST_EVERY_S:
                        flush()
                elif isinstance(event, IndexSummary):
                    flush()
                    self.post_message(IndexFinished(event))
        except Exception as e:  # reported on screen; the writer lock is released by `with`
            if not isinstance(e, DocchatError):
                import logging

                logging.getLogger("docchat.ui").exception("index run failed")
            self.post_message(IndexFailed(describe(e)))

    def _load_embedder(self, name: str) -> None:
        """The model the run will use, into the service's cache (the run then finds it)."""
        if name in self.service.collection_names():
            coll = self.service.open_collection(name)
            if self.service.embedder_for(coll) is not None:
                return
        self.service.embedder()

    def on_index_phase(self, message: IndexPhase) -> None:
        if self.running:
            self.query_one("#index-rate", Static).update(message.text)

    def on_index_began(self, message: IndexBegan) -> None:
        self._files_total = message.files_total
        self._rate.add(now(), 0, 0)  # rates count from here: scanning and model loading are done
        self.query_one("#files-bar", ProgressBar).update(total=message.files_total, progress=0)
        self.query_one("#index-rate", Static).update(f"0/{message.files_total} files")

    def on_index_progress(self, message: IndexProgress) -> None:
        m = message
        # Files of the group being embedded count as done in proportion to its batches, so
        # the bar moves with the work rather than in one jump per group.
        files = m.files_done + (m.waiting * m.embedded / m.queued if m.queued else 0)
        self.query_one("#files-bar", ProgressBar).update(total=m.files_total, progress=files)
        chunks_bar = self.query_one("#chunks-bar", ProgressBar)
        if m.queued:  # its own measure: the chunks of the group being embedded
            chunks_bar.update(total=m.queued, progress=m.embedded)
        else:
            chunks_bar.update(total=max(m.chunks_done, 1), progress=m.chunks_done)
        chunks = m.chunks_done + m.embedded
        self._rate.add(now(), files, chunks)
        line = progress_line(files, m.files_total, chunks, self._rate.rates())
        if m.queued:
            doing = f"embedding {m.embedded}/{m.queued} chunks of {m.waiting} files"
        elif m.ocr_reading:
            doing = f"reading {m.ocr_reading} by OCR — {count(m.ocr_pages, 'page')} read"
        else:
            doing = m.current
        self.query_one("#index-rate", Static).update(f"{line}\n{doing}")
        log = self.query_one("#index-log", RichLog)
        for status, path, reason in m.log:
            style = "red" if status == "failed" else "yellow"
            log.write(Text.assemble((f"{status:<8}", style), f"{path}: {reason}"))
            self._log_lines += 1
        if m.unlogged:
            log.write(Text(f"… and {m.unlogged} more skipped or failed", style="dim"))

    def on_index_finished(self, message: IndexFinished) -> None:
        s = message.summary
        self.running = False
        self.finished = s
        chunks = self.query_one("#chunks-bar", ProgressBar)
        done_chunks = int(chunks.progress)
        chunks.update(total=done_chunks or 1, progress=done_chunks or 1)
        text = index_summary(s, now() - self._started_at, chunks=False)
        self.query_one("#index-rate", Static).update(text + "\nEsc or Ctrl+O opens the collection")
        log = self.query_one("#index-log", RichLog)
        # (a capped file, a re-embed, a collection to read again; thousands of capped files
        # are not thousands of lines: the CLI's `docchat index` lists them all)
        for where, note in s.notes[:NOTES_SHOWN]:
            shown = relative_to_roots(Path(where), self.folders)  # (a name stays a name)
            log.write(Text.assemble(("note    ", "cyan"), f"{shown}: {note}"))
        if len(s.notes) > NOTES_SHOWN:
            log.write(Text(f"… and {len(s.notes) - NOTES_SHOWN} more notes", style="dim"))
        if not s.cancelled:
            self.query_one("#files-bar", ProgressBar).update(
                total=self._files_total or 1, progress=self._files_total or 1
            )
        self.notify(
            text, title=f"index {s.collection}", severity="warning" if s.failed else "information"
        )
        self.post_message(CollectionChanged(s.collection))
        if self.auto_start and not s.cancelled:
            self.action_open_collection()

    def on_index_failed(self, message: IndexFailed) -> None:
        self.running = False
        self.query_one("#index-rate", Static).update(f"failed: {message.error}")
        self.notify(message.error, title="index failed", severity="error", timeout=10)

    @property
    def progress_text(self) -> str:
        """Where the run is, for a question about stopping it."""
        bar = self.query_one("#files-bar", ProgressBar)
        if bar.total is None:
            return "starting"
        return f"{int(bar.progress)}/{int(bar.total)} files"

    def stop(self) -> None:
        """Stop the run after the current file or batch (it checkpoints)."""
        if self.running and self.cancel is not None:
            self.cancel.set()

    def action_stop_or_back(self) -> None:
        if self.running and self.cancel is not None:
            self.cancel.set()
            self.query_one("#index-rate", Static).update("stopping after the current file…")
            return
        done = self.finished is not None and not self.finished.cancelled
        self.post_message(LeaveIndex(self.collection, indexed=done))

    def action_open_collection(self) -> None:
        if self.running:
            self.notify("still indexing: Esc stops the run", severity="warning")
            return
        if self.finished is None:
            self.notify("nothing indexed yet: Ctrl+R starts", severity="warning")
            return
        self.post_message(OpenCollection(self.collection))
