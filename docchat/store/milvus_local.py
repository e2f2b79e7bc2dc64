"""Milvus Lite files: where they are, and who holds them.

pymilvus runs Milvus Lite for a URI that is a path ending in `.db`: milvus-lite 3 inside the
process (a gRPC server on a loopback port, one per file; the "file" is a folder that one
process at a time may hold, by an flock of its LOCK file), milvus-lite 2.5 as a C++ child
process. Both serve one process at a time. Within a process, every store of one file shares
that server; the last one to close it stops it, so the file can be renamed, removed, or
opened by the next process.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

from docchat.store.lock import describe_holder

LITE_FILE = "milvus.db"  # the default Milvus Lite file, inside the collection folder
HOLDER_FILE = "docchat-holder.json"  # who holds it, to name them in an error

_users: dict[str, int] = {}
_guard = threading.Lock()


def is_lite(uri: str) -> bool:
    """An empty URI or a path ending in .db is a Milvus Lite file (pymilvus's own rule)."""
    return not uri or uri.endswith(".db")


def lite_path(uri: str, folder: Path) -> Path:
    return folder / LITE_FILE if not uri else Path(uri).expanduser().resolve()


def acquire(path: str) -> None:
    """Count one more user of this file in this process (before pymilvus opens it)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with _guard:
        _users[path] = _users.get(path, 0) + 1


def opened(path: str) -> None:
    """pymilvus opened the file: note who holds it (this process), to name us in another
    process's error."""
    _write_holder(Path(path))


def release(path: str) -> None:
    """One user fewer; the last one stops this process's Milvus Lite server for the file."""
    with _guard:
        left = _users.get(path, 0) - 1
        if left > 0:
            _users[path] = left
            return
        _users.pop(path, None)
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(path)


def holder(path: str) -> str | None:
    """Who holds the file, if another process does (None: nobody)."""
    lock = Path(path) / "LOCK"
    if not lock.exists():
        return None
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            raw = (Path(path) / HOLDER_FILE).read_bytes()
        except OSError:
            raw = b""
        return describe_holder(raw)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _write_holder(path: Path) -> None:
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "cmd": " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv)),
        "since": time.time(),
    }
    try:  # milvus-lite 3 keeps a folder (milvus-lite 2.5, a C++ build, a single file)
        if path.is_dir():
            (path / HOLDER_FILE).write_text(json.dumps(info), encoding="utf-8")
    except OSError:
        pass  # only ever used to name the holder in an error message
