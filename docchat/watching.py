"""Live folders: `docchat watch` and the app follow a collection's folders.

The OS's file events come through watchfiles, whose Rust watcher holds the watches (one per
folder, in the kernel) and gathers a burst of events into one batch of changed paths: nothing
per file is kept in Python, and nothing is walked but the changed paths. The watcher starts
before the first index run, so what changes during that run is the first batch. Each batch
goes through `IndexRun.apply`, the same incremental path as an index run (a renamed file
keeps its embeddings). When events are lost or unavailable (no watcher could be started, its
watch limit was reached, a burst overflowed the kernel's queue, a network file system that
sends none), the folders are walked again every so often instead, and a notice says so;
`rescan` asks for such walks on top of the events.

Stopping (`stop` set: Ctrl-C, SIGTERM, the app closing) ends the first run or a rescan as a
cancelled run does (checkpointed), and lets a batch in progress finish; then the writer
finishes as at the end of a run.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from docchat.indexing import IndexRun
from docchat.types import WatchEvent, WatchStatus

DEBOUNCE_MS = 1600  # a burst is gathered into one batch for at most this long...
STEP_MS = 50  # ...and ends after this much quiet
FALLBACK_RESCAN_SECONDS = 60.0
ADDED, MODIFIED, DELETED = 1, 2, 3  # watchfiles' Change values
NETWORK_FS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs", "lustre",
        "fuse.sshfs", "fuse.rclone", "fuse.s3fs", "davfs", "fuse.davfs2", "fuse.gvfsd-fuse",
    }
)  # fmt: skip


def follow(
    run: IndexRun,
    roots: Sequence[Path],
    stop: threading.Event,
    *,
    rescan: float | None = None,
    ignore: Path | None = None,
) -> Iterator[WatchEvent]:
    """Index `roots`, then keep the collection in step with them until `stop` is set.
    `rescan`: also walk them every so many seconds. `ignore`: a folder whose changes are not
    the user's (the collection's own, when it lies inside a watched folder)."""
    follower = _Follower(run, list(roots), stop, rescan, ignore)
    try:
        yield from follower.events()
    finally:
        follower.close()
    run.writer.finish()


class _Follower:
    def __init__(
        self,
        run: IndexRun,
        roots: list[Path],
        stop: threading.Event,
        rescan: float | None,
        ignore: Path | None,
    ) -> None:
        self.run = run
        self.roots = roots
        self.stop = stop
        self.every = rescan if rescan and rescan > 0 else None
        self.ignore = str(ignore.resolve()) + os.sep if ignore else None
        self.notify: Any = None
        self.problem: str | None = None

    def close(self) -> None:
        if self.notify is not None:
            self.notify.close()
            self.notify = None

    def events(self) -> Iterator[WatchEvent]:
        self._start_watcher()  # first: what changes during the first run is not missed
        self.run.cancel = self.stop
        yield from self.run.run(self.roots)
        if self.stop.is_set():
            return
        if self.problem is not None:
            yield from self._fall_back(self.problem)
            return
        try:
            yield from self._follow_events()
        except (OSError, RuntimeError) as e:  # watchfiles' errors are RuntimeErrors
            self.close()
            if not self.stop.is_set():
                yield from self._fall_back(f"file events stopped: {e}", walk_now=True)

    # ------------------------------------------------------------ events

    def _start_watcher(self) -> None:
        network = _network_fs(self.roots)
        if network:
            self.problem = f"{network} sends no file events"
            return
        try:
            from watchfiles._rust_notify import RustNotify
        except ImportError:
            self.problem = "file events need the 'watchfiles' package: pip install watchfiles"
            return
        try:
            self.notify = RustNotify([str(r) for r in self.roots], False, False, 300, True, True)
        except (OSError, RuntimeError) as e:
            self.problem = f"file events unavailable: {e}"

    def _follow_events(self) -> Iterator[WatchEvent]:
        limit = _queue_limit()
        last_walk = time.monotonic()
        yield WatchStatus("synced")
        while not self.stop.is_set():
            timeout = 0
            if self.every:
                timeout = max(1, int((last_walk + self.every - time.monotonic()) * 1000))
            raw = self.notify.watch(DEBOUNCE_MS, STEP_MS, timeout, self.stop)
            if raw == "stop":
                return
            if raw == "signal":  # a signal handler raised (a second Ctrl-C): pass it on
                raise KeyboardInterrupt
            did = False
            if isinstance(raw, set) and raw:
                paths = self._relevant(raw)
                if paths:
                    did = True
                    yield WatchStatus("indexing", changed=len(paths))
                    yield from self._apply(paths)
                if len(raw) >= limit:
                    did = True
                    yield WatchStatus(
                        "notice",
                        message=f"a burst of {len(raw)} changes may have overflowed the "
                        "kernel's event queue: walking the folders again to catch up",
                    )
                    yield from self._walk()
                    last_walk = time.monotonic()
            if self.every and time.monotonic() - last_walk >= self.every:
                did = True
                yield from self._walk()
                last_walk = time.monotonic()
            if did:
                yield WatchStatus("synced")

    def _relevant(self, raw: set[tuple[int, str]]) -> list[Path]:
        """The changed paths worth applying: not the collection's own files, nor a folder
        that was only touched (its files have events of their own)."""
        out = set()
        for change, path in raw:
            if self.ignore and (path + os.sep).startswith(self.ignore):
                continue
            if change == MODIFIED and os.path.isdir(path):
                continue
            out.add(Path(path))
        return sorted(out)

    def _apply(self, paths: list[Path]) -> Iterator[WatchEvent]:
        self.run.cancel = threading.Event()  # a batch in progress finishes on stop
        yield from self.run.apply(self.roots, paths)

    # ------------------------------------------------------------ rescans

    def _walk(self) -> Iterator[WatchEvent]:
        yield WatchStatus("rescanning")
        self.run.cancel = self.stop  # a long walk stops (checkpointed) on stop
        yield from self.run.run(self.roots)

    def _fall_back(self, why: str, *, walk_now: bool = False) -> Iterator[WatchEvent]:
        every = self.every or FALLBACK_RESCAN_SECONDS
        yield WatchStatus("notice", message=f"{why}: walking the folders every {every:g} s instead")
        if walk_now:
            yield from self._walk()
        yield WatchStatus("synced")
        while not self.stop.wait(every):
            yield from self._walk()
            yield WatchStatus("synced")


def _queue_limit() -> int:
    """Events the kernel queues before it drops some (Linux inotify; elsewhere a guess)."""
    try:
        with open("/proc/sys/fs/inotify/max_queued_events") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 16384


def _network_fs(roots: Sequence[Path]) -> str | None:
    """'a folder on nfs4' when a root lies on a network file system (Linux mount table)."""
    try:
        with open("/proc/self/mounts") as f:
            mounts = [line.split()[1:3] for line in f if len(line.split()) >= 3]
    except OSError:
        return None
    for root in roots:
        path = str(root)
        best = ("", "")
        for point, fstype in mounts:
            point = point.replace("\\040", " ")
            inside = path == point or path.startswith(point.rstrip("/") + "/")
            if inside and len(point) > len(best[0]):
                best = (point, fstype)
        if best[1] in NETWORK_FS:
            return f"{root} is on {best[1]}, which"
    return None
