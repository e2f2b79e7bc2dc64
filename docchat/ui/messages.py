"""Typed messages that workers post back to the UI thread.

Workers never touch widgets: they iterate a service generator on a thread and report through
these messages, which Textual delivers on the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

from docchat.types import Answer, CollectionInfo, Hit, IndexSummary, SessionRow


@dataclass
class Booted(Message):
    """The service is built; `collection` is what the app should open ("" = none)."""

    service: Any
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


@dataclass
class IndexFinished(Message):
    summary: IndexSummary


@dataclass
class IndexFailed(Message):
    error: str


@dataclass
class SearchDone(Message):
    query: str
    hits: list[Hit]


@dataclass
class AnswerPiece(Message):
    text: str
    ticket: int = 0  # which question it belongs to: late pieces of a replaced one are dropped


@dataclass
class AnswerDone(Message):
    answer: Answer
    ticket: int = 0


@dataclass
class WorkFailed(Message):
    """A worker hit a DocchatError (or a bug); `what` names the job for the notification."""

    what: str
    error: str


@dataclass
class CollectionsLoaded(Message):
    infos: list[CollectionInfo]


@dataclass
class SessionsLoaded(Message):
    rows: list[SessionRow]


@dataclass
class SessionOpened(Message):
    session: int
    turns: list[tuple[str, Answer]]


@dataclass
class Done(Message):
    """A short job finished; `text` is said in a notification."""

    text: str


@dataclass
class DoctorRow(Message):
    check: Any  # docchat.doctor.Check


@dataclass
class DoctorFinished(Message):
    pass
