"""The model process: `python -m docchat.generate.child`, started by ProcessGenerator.

It loads one model and serves requests (JSON lines on stdin, events on the original stdout)
until told to close or its input ends (the parent is gone). See generate/process.py for the
protocol. A reader thread takes `stop` requests at once, while the main thread generates, so
a stop ends generation after the current token.
"""

from __future__ import annotations

import faulthandler
import importlib
import json
import logging
import os
import queue
import signal
import sys
import threading
from dataclasses import fields
from typing import IO, Any

log = logging.getLogger("docchat.generate.child")


class _ParentGone(Exception):
    pass


class ChildServer:
    def __init__(self, channel: IO[bytes], requests: IO[bytes]) -> None:
        self.channel = channel
        self.input = requests
        self.queue: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.cancels: dict[int, threading.Event] = {}
        self.produced: dict[int, int] = {}
        self.stopped_at: dict[int, int] = {}
        self.generator: Any = None

    # ------------------------------------------------------------ input and output

    def send(self, event: dict[str, Any]) -> None:
        try:
            self.channel.write(json.dumps(event).encode("utf-8") + b"\n")
            self.channel.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise _ParentGone from None

    def read(self) -> None:
        """Reader thread: `stop` acts at once; everything else queues for the main thread."""
        for line in self.input:
            try:
                message = json.loads(line)
            except ValueError:
                log.warning("unreadable request %r", line[:200])
                continue
            op, rid = message.get("op"), message.get("id")
            if op == "stop":
                with self.lock:
                    event = self.cancels.get(rid)
                    if event is not None:  # else that stream has already finished
                        self.stopped_at.setdefault(rid, self.produced.get(rid, 0))
                        event.set()
                continue
            if op == "stream":  # its cancel event exists before the stream starts
                with self.lock:
                    self.cancels.setdefault(rid, threading.Event())
            self.queue.put(message)
        with self.lock:  # the parent closed our input (or died): stop, then exit
            for event in self.cancels.values():
                event.set()
        self.queue.put(None)

    def run(self) -> int:
        threading.Thread(target=self.read, name="docchat-requests", daemon=True).start()
        while True:
            message = self.queue.get()
            if message is None or message.get("op") == "close":
                return 0
            try:
                self.handle(message)
            except _ParentGone:
                return 0

    # ------------------------------------------------------------ requests

    def handle(self, message: dict[str, Any]) -> None:
        from docchat.errors import DocchatError, ModelError

        op, rid = message.get("op"), int(message.get("id") or 0)
        try:
            if op == "load":
                self.load(message)
            elif op == "stream":
                self.stream(rid, message)
            elif op == "system_info":
                self.send({"ev": "result", "id": rid, "value": system_info()})
            elif op in ("count_tokens", "count_prompt_tokens"):
                if self.generator is None:
                    raise ModelError("no model loaded in the model process")
                if op == "count_tokens":
                    value = self.generator.count_tokens(message["text"])
                else:
                    value = self.generator.count_prompt_tokens(message["messages"])
                self.send({"ev": "result", "id": rid, "value": value})
            else:
                raise ModelError(f"unknown request {op!r} to the model process")
        except _ParentGone:
            raise
        except DocchatError as e:
            self.send({"ev": "error", "id": rid, "type": type(e).__name__, "message": str(e)})
        except Exception as e:  # a bug or a library failure: one line up, the traceback here
            log.exception("%s failed", op)
            where = "loading the model" if op == "load" else f"{op}"
            text = f"{where} failed: {type(e).__name__}: {e} (details in the model log)"
            self.send({"ev": "error", "id": rid, "type": "ModelError", "message": text})
        finally:
            if op == "stream":
                with self.lock:
                    for table in (self.cancels, self.produced, self.stopped_at):
                        table.pop(rid, None)

    def load(self, message: dict[str, Any]) -> None:
        from docchat.config import GenerateSettings
        from docchat.errors import ConfigError
        from docchat.generate import registry

        module = str(message.get("module") or "")
        if module and module != "__main__":
            try:
                importlib.import_module(module)  # registers the backend, as in the parent
            except ImportError as e:
                raise ConfigError(f"the model process cannot import {module!r}: {e}") from None
        settings = GenerateSettings.model_validate(message["settings"])
        self.generator = registry.backend(settings.backend).factory(settings)
        gen = self.generator
        log.info("loaded %s (%s, n_ctx %d)", gen.name, settings.backend, gen.n_ctx)
        self.send(
            {
                "ev": "loaded",
                "name": gen.name,
                "n_ctx": gen.n_ctx,
                "device": gen.device,
                "path": getattr(gen, "path", None),
            }
        )

    def stream(self, rid: int, message: dict[str, Any]) -> None:
        from docchat.errors import ModelError
        from docchat.generate.base import GenerationOptions

        if self.generator is None:
            raise ModelError("no model loaded in the model process")
        known = {f.name for f in fields(GenerationOptions)}
        raw = {k: v for k, v in dict(message.get("options") or {}).items() if k in known}
        if "stop" in raw:
            raw["stop"] = tuple(raw["stop"])
        options = GenerationOptions(**raw)
        with self.lock:
            cancel = self.cancels.setdefault(rid, threading.Event())
            self.produced[rid] = 0
        pieces = self.generator.stream(message["messages"], options, cancel)
        try:
            for piece in pieces:
                with self.lock:
                    self.produced[rid] += 1
                self.send({"ev": "token", "id": rid, "text": piece})
                if cancel.is_set():
                    break
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()  # the backend's own clean-up stops the model
        with self.lock:
            produced = self.produced.get(rid, 0)
            stopped = self.stopped_at.get(rid)
        after = produced - stopped if stopped is not None else None
        self.send({"ev": "done", "id": rid, "tokens": produced, "after_stop": after})


def system_info() -> dict[str, Any]:
    """What this process's native libraries say about themselves (for `docchat doctor`)."""
    info: dict[str, Any] = {"python": sys.version.split()[0]}
    try:
        import llama_cpp

        raw = llama_cpp.llama_print_system_info()
        info["llama_cpp_version"] = getattr(llama_cpp, "__version__", "")
        info["llama_cpp_system_info"] = raw.decode() if isinstance(raw, bytes) else str(raw)
        info["llama_cpp_gpu_offload"] = bool(llama_cpp.llama_supports_gpu_offload())
    except ImportError:
        info["llama_cpp_version"] = None
    return info


def _detach_stdout() -> IO[bytes]:
    """The protocol keeps the original stdout; fd 1 becomes the log (stderr), so anything
    that native code prints cannot land in the middle of a message."""
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    return channel


def main() -> int:
    os.environ["DOCCHAT_MODEL_PROCESS"] = "1"
    # Ctrl-C in the terminal reaches the whole process group; the parent turns it into a stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    faulthandler.enable()  # a native crash leaves the Python stack in the model log
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format=f"%(asctime)s model[{os.getpid()}] %(levelname)s %(name)s: %(message)s",
    )
    channel = _detach_stdout()
    log.info("model process started")
    code = ChildServer(channel, sys.stdin.buffer).run()
    log.info("model process exits")
    logging.shutdown()
    return code


if __name__ == "__main__":
    # No interpreter shutdown: it would wait on the reader thread's blocked read of stdin,
    # and native libraries' destructors have nothing to save.
    os._exit(main())
