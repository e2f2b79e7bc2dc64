"""The model process from the parent's side: starting it, writing requests, reading its
events on a thread, closing or killing it; how its death is told to the user; and a short-lived
one that only reports on the system (for `docchat doctor`). ProcessGenerator
(generate/process.py) builds on it; docchat.generate.child is the other end.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from docchat import errors
from docchat.errors import DocchatError, ModelCrashed, ModelError

log = logging.getLogger("docchat.generate")

CHILD_MODULE = "docchat.generate.child"
LOG_NAME = "model.log"
LOG_ROTATE_BYTES = 5 * 1024 * 1024
EOF: dict[str, Any] = {"ev": "eof"}  # the reader's last word: the child's output closed


def model_log_path() -> Path | None:
    """`model.log` in the user log dir (next to docchat.log), rotated once it grows large."""
    try:
        from docchat.locations import user_log_dir

        folder = user_log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOG_NAME
        if path.exists() and path.stat().st_size > LOG_ROTATE_BYTES:
            path.replace(path.with_suffix(".log.1"))
        return path
    except OSError:
        return None


def crash_message(returncode: int, during: str, model: str, log_path: Path | None) -> str:
    """One line: how the child died, doing what, with which model, and where its log is."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        how = f"crashed ({name}{', often out of memory' if name == 'SIGKILL' else ''})"
    else:
        how = f"exited unexpectedly (exit code {returncode})"
    where = f"details in {log_path}" if log_path else "no log file"
    return f"the model process {how} while {during} {model}; {where}; ask again to restart it"


def error_from(event: dict[str, Any]) -> DocchatError:
    """The child's error as the same DocchatError class (a ModelError when unknown)."""
    cls = getattr(errors, str(event.get("type")), None)
    if not (isinstance(cls, type) and issubclass(cls, DocchatError)):
        cls = ModelError
    return cls(str(event.get("message") or "the model process failed"))


class ChildProcess:
    """One running child process and the thread that reads its events into a queue."""

    def __init__(self, log_path: Path | None) -> None:
        env = dict(os.environ)
        # The child imports exactly what the parent can (docchat from the same tree, plugins
        # and test fakes from wherever they were found).
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        stderr: IO[bytes] | int = subprocess.DEVNULL
        if log_path is not None:
            try:
                stderr = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
            except OSError:
                stderr = subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", CHILD_MODULE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=env,
                close_fds=True,
            )
        except OSError as e:
            raise ModelError(f"cannot start the model process: {e.strerror or e}") from None
        finally:
            if not isinstance(stderr, int):
                stderr.close()
        self.events: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        threading.Thread(
            target=self._read, name=f"docchat-model-{self.proc.pid}", daemon=True
        ).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.events.put(json.loads(line))
            except ValueError:
                log.warning("model process: unreadable line %r", line[:200])
        self.events.put(EOF)

    def send(self, message: dict[str, Any]) -> bool:
        """Write one request; False when the child is gone."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(message).encode("utf-8") + b"\n")
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def next_event(self, timeout: float | None) -> dict[str, Any] | None:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self, grace: float) -> None:
        """Ask the child to exit; kill it when it has not within `grace` seconds."""
        if self.proc.poll() is None:
            self.send({"op": "close"})
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def probe_system_info(timeout: float = 60.0) -> dict[str, Any]:
    """System facts from a short-lived child that loads no model (for `docchat doctor`):
    native libraries are asked there, where a crash cannot take the caller down."""
    child = ChildProcess(model_log_path())
    try:
        if not child.send({"op": "system_info", "id": 1}):
            raise ModelError("the model process did not start")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            event = child.next_event(0.1)
            if event is None:
                continue
            if event is EOF:
                child.kill()
                raise ModelCrashed(
                    crash_message(child.proc.returncode, "probing", "the system", None)
                )
            if event["ev"] == "error":
                raise error_from(event)
            return dict(event.get("value") or {})
        raise ModelError(f"the model process did not answer within {timeout:.0f} s")
    finally:
        child.close(1.0)
