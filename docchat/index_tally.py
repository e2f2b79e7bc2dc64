"""What an index run counts as it goes: files by outcome, chunks, notes, and the seconds each
stage took (the summary's `timings`). One `RunTally` is shared by the run (indexing.py),
which reads files, and its embedding windows (index_windows.py), which embed and store them:
both count into it, and both turn a file's outcome into the `FileDone` event that reports it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from docchat.types import FileDone

Status = Literal["indexed", "unchanged", "skipped", "failed", "removed"]
STAGES = ("walk", "parse", "chunk", "embed", "store")  # the summary's timings


@dataclass
class Counts:
    indexed: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    chunks_added: int = 0
    chunks_removed: int = 0
    embedded: int = 0  # texts sent to the embedder (a renamed file's: none)
    done: int = 0


class RunTally:
    """The counts and stage timings of the run (or watch batch) in progress."""

    def __init__(self) -> None:
        self.counts = Counts()
        self.timings = dict.fromkeys(STAGES, 0.0)

    def restart_timings(self) -> None:
        self.timings = dict.fromkeys(STAGES, 0.0)

    def restart_counts(self) -> None:
        self.counts = Counts()

    @contextlib.contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] += time.perf_counter() - started

    def count(self, event: FileDone, total: int) -> FileDone:
        """Count a file's outcome; the event that reports it, with the run's progress."""
        c = self.counts
        if event.status == "indexed":
            c.indexed += 1
            if event.reason:
                c.notes.append((str(event.path), event.reason))
        elif event.status == "unchanged":
            c.unchanged += 1
        elif event.status == "skipped":
            c.skipped.append((str(event.path), event.reason or ""))
        elif event.status == "failed":
            c.failed.append((str(event.path), event.reason or ""))
        return self.done(event.path, event.status, event.chunks, event.reason, total)

    def done(
        self,
        path: Path,
        status: Status,
        chunks: int = 0,
        reason: str | None = None,
        total: int = 0,
    ) -> FileDone:
        if status != "removed":
            self.counts.done += 1
        return FileDone(
            path,
            status,
            chunks=chunks,
            reason=reason,
            files_done=self.counts.done,
            files_total=total,
            chunks_done=self.counts.chunks_added,
        )
