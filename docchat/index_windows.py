"""The embedding side of an index run (indexing.py reads the files): parsed and chunked files
wait as `Pending`; when enough wait (or enough time passed) their new texts are embedded in
windows of files sized to take about half of index.checkpoint_seconds at the rate measured
(the first one a single batch, so the first files are searchable within seconds), each sorted
by length so that a batch pads little, and every file goes to the writer as soon as its
vectors are made. Cancellation is checked between batches.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from docchat.config import Settings
from docchat.embed.base import Embedder
from docchat.index_tally import RunTally
from docchat.store.writer import CollectionWriter
from docchat.types import ChunksEmbedded, ChunkSpan, FileDone, ParsedDocument

FLUSH_CHUNKS = 256  # embed this many new chunks at once across small files
FLUSH_FILES = 64


@dataclass
class Pending:
    """A file read and chunked, waiting for its vectors."""

    path: Path
    size: int
    mtime_ns: int
    content_hash: str
    doc: ParsedDocument
    chunks: list[tuple[ChunkSpan, str]]  # (span, hash of the text embedded for it)
    texts: dict[str, str]  # hash → the text embedded (docchat/embed/context.py)
    note: str | None = None  # a limit that left part of the file out


def _waiting(pending: list[Pending]) -> int:
    """Chunks of the files waiting (some may be stored already: counted all the same)."""
    return sum(len(p.chunks) for p in pending)


class EmbedWindows:
    def __init__(
        self,
        writer: CollectionWriter,
        embedder: Embedder,
        settings: Settings,
        tally: RunTally,
        cancelled: Callable[[], bool],
    ) -> None:
        self.writer = writer
        self.embedder = embedder
        self.settings = settings
        self.tally = tally
        self.cancelled = cancelled  # (a watch hands each batch a cancel of its own)
        # Work is handed to the writer by time as well as by size, so that a kill loses at
        # most index.checkpoint_seconds of embedding.
        self.commit_seconds = settings.index.checkpoint_seconds
        self._last_commit = time.monotonic()
        self._committed_any = False
        self._rate = 0.0  # texts embedded per second, measured
        # A new collection's fingerprint (a probe through the model) is recorded with its
        # first vectors: the model is loaded then (indexing.py, `_begin`).
        self.fingerprint_due = False

    def restart_clock(self) -> None:
        """Count the time to the next checkpoint from now (a run or a watch's batch starts)."""
        self._last_commit = time.monotonic()

    def due(self, pending: list[Pending]) -> bool:
        """Whether the parsed files waiting should be embedded and written now."""
        if not pending:
            return False
        chunks = _waiting(pending)
        if len(pending) >= FLUSH_FILES or chunks >= FLUSH_CHUNKS:
            return True
        if not self._committed_any and chunks >= self.settings.embed.batch_size:
            return True  # the first results, soon
        return time.monotonic() - self._last_commit >= self.commit_seconds

    def a_batch_waits(self, pending: list[Pending]) -> bool:
        """Whether at least one full batch of chunks waits (so a flush is never a few texts)."""
        return _waiting(pending) >= self.settings.embed.batch_size

    def flush(self, pending: list[Pending], total: int) -> Iterator[FileDone | ChunksEmbedded]:
        """Embed the pending files' new texts (those the collection does not hold yet) and hand
        each file to the writer as soon as its vectors are made, a window at a time."""
        if not pending:
            return
        texts = {h: t for p in pending for h, t in p.texts.items()}
        todo_set = set(texts) - self.writer.collection.known_hashes(texts)
        vectors: dict[str, np.ndarray] = {}
        batch = self.settings.embed.batch_size
        queue = list(pending)
        pending.clear()
        while queue and not self.cancelled():
            window: list[Pending] = []
            wanted: dict[str, None] = {}
            size = self._window_size(batch)
            while queue and (not window or len(wanted) < size):
                p = queue.pop(0)
                window.append(p)
                wanted.update((h, None) for _, h in p.chunks if h in todo_set and h not in vectors)
            todo = sorted(wanted, key=lambda h: len(texts[h]))
            started = time.monotonic()
            yield from self.embed(todo, texts, vectors, files=len(window))
            took = time.monotonic() - started
            if todo and took > 0 and not self.cancelled():
                self._rate = len(todo) / took
            yield from self._put(window, todo_set, vectors, total)

    def embed(
        self,
        todo: Sequence[str],
        texts: dict[str, str],
        vectors: dict[str, np.ndarray],
        files: int = 0,
    ) -> Generator[ChunksEmbedded, None, bool]:
        """Embed the texts of `todo` (hashes, sorted by length so a batch pads little) into
        `vectors`, a batch at a time, with a progress event per batch (so a screen's progress
        moves while a window is embedded); False when the run was cancelled first."""
        batch = self.settings.embed.batch_size
        counts = self.tally.counts
        for i in range(0, len(todo), batch):
            if self.cancelled():
                return False
            part = todo[i : i + batch]
            with self.tally.timed("embed"):
                made = self.embedder.embed([texts[h] for h in part], batch)
                if self.fingerprint_due:  # (the model is loaded now: one probe)
                    self.writer.remember_fingerprint(self.embedder.fingerprint())
                    self.fingerprint_due = False
            vectors.update(zip(part, made, strict=True))
            counts.embedded += len(part)
            done = min(i + batch, len(todo))
            yield ChunksEmbedded(done, len(todo), files, counts.chunks_added)
        return True

    def _window_size(self, batch: int) -> int:
        """How many texts to embed before handing finished files to the writer."""
        if not self._committed_any or self._rate <= 0:
            return batch
        fits = int(self._rate * self.commit_seconds / 2)
        return max(batch, min(fits, FLUSH_CHUNKS * 4))

    def _put(
        self,
        window: list[Pending],
        todo_set: set[str],
        vectors: dict[str, np.ndarray],
        total: int,
    ) -> Iterator[FileDone]:
        counts = self.tally.counts
        for p in window:
            if any(h in todo_set and h not in vectors for _, h in p.chunks):
                continue  # cancelled before this file's vectors were made; next run redoes it
            with self.tally.timed("store"):
                added, removed = self._store_file(p, vectors)
            counts.chunks_added += added
            counts.chunks_removed += removed
            self._committed_any = True
            event = FileDone(p.path, "indexed", chunks=added, reason=p.note)
            yield self.tally.count(event, total)
        self._last_commit = time.monotonic()
        with self.tally.timed("store"):
            self.writer.checkpoint()

    def _store_file(self, p: Pending, vectors: dict[str, np.ndarray]) -> tuple[int, int]:
        return self.writer.put(
            path=str(p.path),
            size=p.size,
            mtime_ns=p.mtime_ns,
            content_hash=p.content_hash,
            kind=p.doc.kind,
            title=p.doc.title,
            pages=sum(1 for pg in p.doc.pages if pg.number is not None) or None,
            chunks=p.chunks,
            vectors={h: vectors[h] for _, h in p.chunks if h in vectors},
            ocr_pages=p.doc.ocr_pages,
        )
