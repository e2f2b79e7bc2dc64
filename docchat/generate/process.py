"""The model in its own process: a Generator that drives a model loaded in a child process.

llama.cpp and torch run native code that can crash (a kernel built for another CPU, out of
memory, abort() in an assertion). In a child process such a crash is a one-line
`ModelCrashed` error naming the signal, the model and the log file — never a dead app — and
the next request starts a new child. The child loads the model once and serves every
question after that; `docchat.generate.child` is its side of the protocol.

The protocol is JSON lines: requests on the child's stdin, events on its stdout (the child
moves its own fd 1 to the log file, so stray prints from native code cannot corrupt it).

    parent -> child                                  child -> parent
    {"op": "load", "settings", "module"}             {"ev": "loaded", "name", "n_ctx", ...}
    {"op": "stream", "id", "messages", "options"}    {"ev": "token", "id", "text"} ..., then
                                                     {"ev": "done", "id", "tokens", "after_stop"}
    {"op": "stop", "id"}                             (acted on at once by the child's reader)
    {"op": "count_tokens", "id", "text"}             {"ev": "result", "id", "value"}
    {"op": "count_prompt_tokens", "id", "messages"}  {"ev": "result", "id", "value"}
    {"op": "system_info", "id"}                      {"ev": "result", "id", "value"}
    {"op": "close"} (or end of input)                the child exits
    any request that fails                           {"ev": "error", "id", "type", "message"}

A stop is a request, not a signal: the child sets the stream's cancel event, the backend
stops computing after the current token, and `done` says how many tokens came after the stop
(`after_stop`). A child that has not finished within `stop_grace_s` is killed.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from docchat.config import GenerateSettings
from docchat.errors import ModelCrashed
from docchat.generate.base import ChatMessage, GenerationOptions, Generator
from docchat.generate.child_process import (
    EOF,
    ChildProcess,
    crash_message,
    error_from,
    model_log_path,
)
from docchat.generate.models import display_name

log = logging.getLogger("docchat.generate")


@dataclass(frozen=True)
class StreamStats:
    """What the child reported for the last stream: pieces produced, and how many of them
    came after the stop request (None when not stopped)."""

    tokens: int
    after_stop: int | None


_live: weakref.WeakSet[ProcessGenerator] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for generator in list(_live):
        generator.close()


class ProcessGenerator(Generator):
    """A Generator whose model is loaded in a child process (started here, at once: callers
    that must not block, like the TUI, construct it on a worker)."""

    #: Seconds a stopped stream may take to finish before the child is killed.
    stop_grace_s = 1.0
    #: How often a waiting stream looks at its cancel event.
    poll_s = 0.02

    def __init__(
        self, settings: GenerateSettings, module: str, model_path: str | None = None
    ) -> None:
        self.settings = settings
        self.module = module
        self.model = model_path or settings.model or f"the default {settings.backend} model"
        self.name = display_name(settings.model or model_path or "")
        self.n_ctx = settings.n_ctx
        self.device = ""
        self.log_path = model_log_path()
        self.last_stream: StreamStats | None = None
        self._lock = threading.Lock()  # one request at a time (a stream holds it throughout)
        self._child: ChildProcess | None = None
        self._ids = itertools.count(1)
        self._token_counts: OrderedDict[str, int] = OrderedDict()
        self._counts_lock = threading.Lock()
        self._slowest_piece = 0.0  # longest wait between two pieces of the current stream
        with self._lock:
            self._start()
        _live.add(self)

    @property
    def pid(self) -> int | None:
        """The child's process id (None between a crash and the next request)."""
        return self._child.pid if self._child is not None else None

    # ------------------------------------------------------------ the child's life

    def _start(self) -> ChildProcess:
        child = ChildProcess(self.log_path)
        self._child = child
        sent = child.send(
            {"op": "load", "settings": self.settings.model_dump(), "module": self.module}
        )
        while sent:
            event = child.next_event(None)  # loading a big model takes as long as it takes
            if event is None:
                continue
            if event["ev"] == "loaded":
                self.name = str(event.get("name") or self.name)
                self.n_ctx = int(event.get("n_ctx") or self.n_ctx)
                self.device = str(event.get("device") or "")
                self.model = str(event.get("path") or self.model)
                log.info("model process %d loaded %s", child.pid, self.model)
                return child
            if event["ev"] == "error":
                self._child = None
                child.close(self.stop_grace_s)
                raise error_from(event)
            if event is EOF:
                break
        raise self._crashed(child, "loading")

    def _crashed(self, child: ChildProcess, during: str) -> ModelCrashed:
        child.kill()  # reaps it (it is already gone, or half gone)
        if self._child is child:
            self._child = None
        message = crash_message(child.proc.returncode, during, self.model, self.log_path)
        log.error("%s", message)
        return ModelCrashed(message)

    def _running(self) -> ChildProcess:
        """The child, started anew after a crash; a child found dead is reported once."""
        child = self._child
        if child is None:
            return self._start()
        if child.proc.poll() is not None:
            raise self._crashed(child, "idle with")
        return child

    def close(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.close(self.stop_grace_s)

    # ------------------------------------------------------------ requests

    def _request(self, op: str, **fields: Any) -> Any:
        with self._lock:
            child = self._running()
            rid = next(self._ids)
            if not child.send({"op": op, "id": rid, **fields}):
                raise self._crashed(child, "answering with")
            while True:
                event = child.next_event(None)
                if event is None:
                    continue
                if event is EOF:
                    raise self._crashed(child, "answering with")
                if event.get("id") != rid:
                    continue  # a late event of an earlier, abandoned request
                if event["ev"] == "error":
                    raise error_from(event)
                return event.get("value")

    def count_tokens(self, text: str) -> int:
        if not text:
            return 0
        # Prompt budgeting asks about the same texts again and again: keep round trips few.
        with self._counts_lock:
            cached = self._token_counts.get(text)
            if cached is not None:
                self._token_counts.move_to_end(text)
                return cached
        value = int(self._request("count_tokens", text=text))
        with self._counts_lock:
            self._token_counts[text] = value
            while len(self._token_counts) > 1024:
                self._token_counts.popitem(last=False)
        return value

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return int(self._request("count_prompt_tokens", messages=list(messages)))

    def system_info(self) -> dict[str, Any]:
        """What the child's native libraries report (llama.cpp's CPU features, ...)."""
        return dict(self._request("system_info") or {})

    def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        cancel: threading.Event | None = None,
    ) -> Iterator[str]:
        with self._lock:
            child = self._running()
            rid = next(self._ids)
            request = {"op": "stream", "id": rid, "messages": list(messages)}
            if not child.send({**request, "options": asdict(options)}):
                raise self._crashed(child, "answering with")
            stop_by: float | None = None  # set once a stop was sent: the kill deadline
            finished = False
            self._slowest_piece = 0.0
            last: float | None = None  # when the previous piece came (the first: after the prompt)
            try:
                while True:
                    if stop_by is None and cancel is not None and cancel.is_set():
                        stop_by = self._stop(child, rid)
                    event = child.next_event(self.poll_s)
                    if event is None:
                        if stop_by is not None and time.monotonic() > stop_by:
                            finished = True
                            self._kill_unstoppable(child)
                            return
                        continue
                    if event is EOF:
                        finished = True
                        raise self._crashed(child, "answering with")
                    if event.get("id") != rid:
                        continue
                    kind = event["ev"]
                    if kind == "token":
                        now = time.monotonic()
                        if last is not None:
                            self._slowest_piece = max(self._slowest_piece, now - last)
                        last = now
                        if stop_by is None:  # pieces after a stop request are not shown
                            yield str(event["text"])
                    elif kind == "done":
                        finished = True
                        self.last_stream = StreamStats(
                            int(event.get("tokens") or 0), event.get("after_stop")
                        )
                        return
                    elif kind == "error":
                        finished = True
                        raise error_from(event)
            finally:
                if not finished:  # our consumer stopped reading: stop the model too
                    self._finish_abandoned(child, rid, stop_by)

    def _stop(self, child: ChildProcess, rid: int) -> float:
        child.send({"op": "stop", "id": rid})
        return time.monotonic() + self._grace()

    def _grace(self) -> float:
        """How long a stop may take: `stop_grace_s`, or longer for a model that takes longer
        per token (a big model on a slow CPU), so a stop mid-answer finishes its token instead
        of costing a reload. A stop before the first token (a long prompt still being read,
        where llama.cpp does not look at the cancel event) gets `stop_grace_s`: killing is the
        only way to stop that computation."""
        return max(self.stop_grace_s, 1.5 * self._slowest_piece)

    def _finish_abandoned(self, child: ChildProcess, rid: int, stop_by: float | None) -> None:
        """Stop the stream and wait for its `done`, so the next request starts clean."""
        if stop_by is None:
            stop_by = self._stop(child, rid)
        while time.monotonic() < stop_by:
            event = child.next_event(self.poll_s)
            if event is EOF:
                self._crashed(child, "answering with")  # reported by the next request
                return
            if event is not None and event.get("id") == rid and event["ev"] in ("done", "error"):
                if event["ev"] == "done":
                    self.last_stream = StreamStats(
                        int(event.get("tokens") or 0), event.get("after_stop")
                    )
                return
        self._kill_unstoppable(child)

    def _kill_unstoppable(self, child: ChildProcess) -> None:
        log.warning(
            "model process %d did not stop within %.1f s: killed (the next question "
            "starts a new one)",
            child.pid,
            self._grace(),
        )
        child.kill()
        if self._child is child:
            self._child = None
        self.last_stream = None
