"""Typed messages: what workers report back to the UI thread, and what screens ask the app.

Workers never touch widgets: they iterate a service generator on a thread and report through
the first group, which Textual delivers on the event loop. Screens never call the app: they
post one of the requests below, which bubbles up to `DocchatApp`, whose `@on` handlers do
the navigation (ui/app.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message

from docchat.types import Answer, CollectionInfo, Hit, IndexSummary, SessionRow
from docchat.ui.items import Passage

if TYPE_CHECKING:
    from docchat.doctor import Check
    from docchat.service import Docchat

# ---------------------------------------------------------------- from workers


@dataclass
class Booted(Message):
    """The service is built; `collection` is what the app should open ("" = none)."""

    service: Docchat
    collection: str


@dataclass
class ModelsReady(Message):
    """Models finished loading in the background (error is a user-facing message, or None)."""

    error: str | None = None


@dataclass
class CollectionStats(Message):
    info: CollectionInfo


@dataclass
class IndexBegan(Message):
    files_total: int


@dataclass
class IndexProgress(Message):
    """Coalesced progress: the latest counters plus the log lines gathered since the last one."""

    files_done: int
    files_total: int
    chunks_done: int
    current: str
    log: list[tuple[str, str, str]] = field(default_factory=list)  # (status, path, reason)
    unlogged: int = 0  # skipped/failed files left out of `log` to keep each message small
    # The group of files being embedded now (none: 0): `embedded` of its `queued` new
    # chunks have vectors, for `waiting` files that are reported done once stored.
    embedded: int = 0
    queued: int = 0
    waiting: int = 0
    # A file being read by OCR ("" when none) and the pages OCR has read in this run.
    ocr_reading: str = ""
    ocr_pages: int = 0


@dataclass
class IndexPhase(Message):
    """What an index run does before its first file: loading the model, scanning folders."""

    text: str


@dataclass
class IndexFinished(Message):
    summary: IndexSummary


@dataclass
class IndexFailed(Message):
    error: str


@dataclass
class WatchState(Message, bubble=False):
    """What the watch of a collection's folders (index.watch) is doing: `text` for the
    status line ("synced", "3 files changed — indexing…"; "" = not watching); `synced`
    after changes were applied (counts may have changed); `notice`, a word to say once."""

    collection: str
    text: str
    synced: bool = False
    notice: str | None = None


@dataclass
class SearchDone(Message):
    query: str
    hits: list[Hit]
    ms: float = 0.0  # how long the search took, shown beside the hit count


@dataclass
class AnswerPiece(Message):
    text: str
    ticket: int = 0  # which question it belongs to: late pieces of a replaced one are dropped


@dataclass
class AnswerPhase(Message):
    """What answering is doing now: 'searching for "…"', 'reading 5 sources'."""

    text: str
    ticket: int = 0


@dataclass
class AnswerDone(Message):
    answer: Answer
    ticket: int = 0


@dataclass
class WorkFailed(Message, bubble=False):
    """A worker hit a DocchatError (or a bug); `what` names the job for the notification.
    It stays with the screen (or app) whose worker failed."""

    what: str
    error: str


@dataclass
class CollectionsLoaded(Message):
    infos: list[CollectionInfo]


@dataclass
class SessionsLoaded(Message):
    rows: list[SessionRow]


@dataclass
class Done(Message, bubble=False):
    """A short job finished; `text` is said in a notification."""

    text: str
    title: str = ""


@dataclass
class DoctorRow(Message):
    check: Check


@dataclass
class DoctorFinished(Message):
    pass


# ---------------------------------------------------------------- screens -> app


@dataclass
class OpenCollection(Message):
    """Show collection `name` on the main screen, closing whatever is on top of it."""

    name: str


@dataclass
class LeaveIndex(Message):
    """The indexing screen is closed; `collection` is what it indexed into ("" = nothing);
    `indexed`: a run into it finished there (so the app opens it)."""

    collection: str
    indexed: bool = False


@dataclass
class CollectionChanged(Message):
    """An index run changed what collection `name` holds."""

    name: str


@dataclass
class CollectionRenamed(Message):
    old: str
    new: str


@dataclass
class CollectionRemoved(Message):
    name: str


@dataclass
class SettingsSaved(Message):
    """Settings were written and applied; `keys` are the (section, key) pairs changed."""

    keys: list[tuple[str, str]]


@dataclass
class OpenSource(Message):
    """Open a passage's file at its page/line in the user's editor or viewer."""

    passage: Passage


@dataclass
class ExportSession(Message):
    """Ask where to, then write a session as Markdown."""

    collection: str
    session: int


@dataclass
class SessionChosen(Message):
    """Show a stored session on the main screen and continue it."""

    session: int
    turns: list[tuple[str, Answer]]


@dataclass
class NewChat(Message):
    """Start a new conversation on the main screen."""
