"""Worker bodies run inside `guarded`: a DocchatError becomes a WorkFailed message with its
user-facing text, anything else is logged with its traceback and reported as unexpected. So a
worker never takes the app down and every failure leaves a trace in the log file. `report`
does the same for work done on the UI thread itself (saving settings)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from textual.app import App
from textual.message_pump import MessagePump
from textual.widget import Widget

from docchat.errors import DocchatError
from docchat.ui.messages import WorkFailed

log = logging.getLogger("docchat.ui")


def describe(error: BaseException) -> str:
    if isinstance(error, DocchatError):
        return str(error)
    return f"unexpected error: {type(error).__name__}: {error} (details in the log file)"


@contextmanager
def guarded(target: MessagePump, what: str) -> Iterator[None]:
    try:
        yield
    except DocchatError as e:
        log.warning("%s: %s", what, e)
        target.post_message(WorkFailed(what, str(e)))
    except Exception as e:
        log.exception("%s failed", what)
        target.post_message(WorkFailed(what, describe(e)))


def report(where: App[Any] | Widget, error: Exception, title: str) -> None:
    """Say that `title` failed, in a notification (and, for a bug, in the log)."""
    if not isinstance(error, DocchatError):
        log.error("%s failed", title, exc_info=error)
    where.notify(describe(error), title=title, severity="error")
