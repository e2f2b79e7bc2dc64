"""One writer per collection: an advisory lock file that names its holder.

fcntl locks vanish with the process that holds them, so a kill -9 never leaves a stale lock;
the pid and command line are written inside only to tell the next process who is writing.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

from docchat.errors import CollectionLocked


class WriterLock:
    def __init__(self, path: Path, collection: str) -> None:
        self.path = path
        self.collection = collection
        self._fd: int | None = None

    def acquire(self) -> WriterLock:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = describe_holder(os.read(fd, 4096))
            os.close(fd)
            raise CollectionLocked(
                f"collection '{self.collection}' is being written by {holder}; "
                "wait for it to finish or stop it"
            ) from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "cmd": " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv)),
            "since": time.time(),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            import fcntl

            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def describe_holder(raw: bytes) -> str:
    """The holder a lock file names, in words (the JSON that `acquire` writes)."""
    try:
        info = json.loads(raw.decode() or "{}")
    except ValueError:
        info = {}
    if not info:
        return "another process"
    since = time.strftime("%H:%M:%S", time.localtime(info.get("since", 0)))
    return f"pid {info.get('pid')} on {info.get('host')} ({info.get('cmd')}, since {since})"
