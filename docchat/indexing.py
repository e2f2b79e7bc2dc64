"""One index run: walk → detect changes → parse → chunk → embed → the collection's writer, as
a generator of progress events. The writer (store/writer.py) owns the vector index and the
crash-safety protocol; this module decides what to parse and embed. Cancellation is a
threading.Event checked between files and between embedding batches, after which the run
checkpoints and reports.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from docchat.config import Settings
from docchat.embed.base import Embedder
from docchat.errors import DocchatError, UnsupportedFile
from docchat.ingest.chunking import chunk_page
from docchat.ingest.parsers import parse
from docchat.ingest.walk import walk
from docchat.store.writer import CollectionWriter
from docchat.types import (
    ChunksEmbedded,
    ChunkSpan,
    FileDone,
    IndexEvent,
    IndexStarted,
    IndexSummary,
    ParsedDocument,
)

Status = Literal["indexed", "unchanged", "skipped", "failed", "removed"]
log = logging.getLogger(__name__)
FLUSH_CHUNKS = 256  # embed this many new chunks at once across small files
FLUSH_FILES = 64


@dataclass
class _Pending:
    path: Path
    size: int
    mtime_ns: int
    content_hash: str
    doc: ParsedDocument
    chunks: list[tuple[ChunkSpan, str]]


@dataclass
class _Tally:
    indexed: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks_added: int = 0
    chunks_removed: int = 0
    done: int = 0


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def file_hash(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class IndexRun:
    def __init__(
        self,
        writer: CollectionWriter,
        embedder: Embedder,
        settings: Settings,
        cancel: threading.Event | None = None,
    ) -> None:
        self.writer = writer
        self.coll = writer.collection  # what is stored already (reads)
        self.embedder = embedder
        self.settings = settings
        self.cancel = cancel or threading.Event()
        self.max_tokens = min(settings.index.chunk_tokens, embedder.max_tokens)
        self.tally = _Tally()

    def run(self, roots: Sequence[Path]) -> Iterator[IndexEvent]:
        started = time.perf_counter()
        cfg = self.settings.index
        items = list(
            walk(
                roots,
                exclude=cfg.exclude,
                include_hidden=cfg.include_hidden,
                max_file_bytes=int(cfg.max_file_mb * 1024 * 1024),
                follow_symlinks=cfg.follow_symlinks,
            )
        )
        self.writer.use_model(
            self.embedder.name, self.embedder.dimension, self.embedder.fingerprint
        )
        total = len(items)
        yield IndexStarted(self.coll.name, total)
        seen: set[str] = set()
        pending: list[_Pending] = []
        try:
            for item in items:
                if self.cancel.is_set():
                    break
                path = str(item.path)
                seen.add(path)
                if item.skip_reason:
                    self.tally.skipped.append((path, item.skip_reason))
                    yield self._done(item.path, "skipped", reason=item.skip_reason, total=total)
                    yield from self._forget(path, total, quiet=True)
                    continue
                event = self._examine(item.path, pending)
                if event is not None:
                    yield self._count(event, total)
                if (
                    len(pending) >= FLUSH_FILES
                    or sum(len(p.chunks) for p in pending) >= FLUSH_CHUNKS
                ):
                    yield from self._flush(pending, total)
            yield from self._flush(pending, total)
            if not self.cancel.is_set():
                for path in self._gone(roots, seen):
                    yield from self._forget(path, total)
        finally:
            self.writer.finish()
        t = self.tally
        yield IndexSummary(
            collection=self.coll.name,
            indexed=t.indexed,
            unchanged=t.unchanged,
            skipped=t.skipped,
            failed=t.failed,
            removed=t.removed,
            chunks_added=t.chunks_added,
            chunks_removed=t.chunks_removed,
            seconds=time.perf_counter() - started,
            cancelled=self.cancel.is_set(),
        )

    # ------------------------------------------------------------ steps

    def _examine(self, path: Path, pending: list[_Pending]) -> FileDone | None:
        """Unchanged → event now; changed → parsed and queued for embedding (None)."""
        try:
            st = path.stat()
            doc = self.coll.document(str(path))
            if doc and doc.size == st.st_size and doc.mtime_ns == st.st_mtime_ns:
                return FileDone(path, "unchanged")
            content_hash = file_hash(path)
            if doc and doc.content_hash == content_hash:
                self.writer.touch(doc.id, st.st_size, st.st_mtime_ns)
                return FileDone(path, "unchanged")
            parsed = parse(path)
            spans = [
                span
                for page in parsed.pages
                for span in chunk_page(
                    page,
                    self.embedder.count_tokens,
                    self.max_tokens,
                    self.settings.index.chunk_overlap,
                )
            ]
        except UnsupportedFile as e:
            return FileDone(path, "skipped", reason=str(e))
        except DocchatError as e:
            return FileDone(path, "failed", reason=str(e))
        except Exception as e:
            # A parser bug on one file must not end a 10,000-file run: report it, log the
            # traceback for the bug report, go on.
            log.exception("failed to read %s", path)
            return FileDone(path, "failed", reason=f"{type(e).__name__}: {e}".splitlines()[0])
        if not spans:
            return FileDone(path, "skipped", reason="no text")
        chunks = [(s, text_hash(s.text)) for s in spans]
        pending.append(_Pending(path, st.st_size, st.st_mtime_ns, content_hash, parsed, chunks))
        return None

    def _flush(self, pending: list[_Pending], total: int) -> Iterator[FileDone | ChunksEmbedded]:
        if not pending:
            return
        texts = {h: s.text for p in pending for s, h in p.chunks}
        # Similar lengths batched together: each batch pads to its longest text.
        todo = sorted(set(texts) - self.coll.known_hashes(texts), key=lambda h: len(texts[h]))
        todo_set = set(todo)
        vectors: dict[str, np.ndarray] = {}
        batch = self.settings.embed.batch_size
        for i in range(0, len(todo), batch):
            if self.cancel.is_set():
                break
            part = todo[i : i + batch]
            for h, v in zip(
                part, self.embedder.embed([texts[h] for h in part], batch), strict=True
            ):
                vectors[h] = v
            # Per batch, so a screen's progress moves while a big group is embedded.
            yield ChunksEmbedded(len(vectors), len(todo), len(pending), self.tally.chunks_added)
        for p in pending:
            if any(h in todo_set and h not in vectors for _, h in p.chunks):
                continue  # cancelled before this file's vectors were made; next run redoes it
            added, removed = self.writer.put(
                path=str(p.path),
                size=p.size,
                mtime_ns=p.mtime_ns,
                content_hash=p.content_hash,
                kind=p.doc.kind,
                title=p.doc.title,
                pages=sum(1 for pg in p.doc.pages if pg.number is not None) or None,
                chunks=p.chunks,
                vectors={h: vectors[h] for _, h in p.chunks if h in vectors},
            )
            self.tally.chunks_added += added
            self.tally.chunks_removed += removed
            yield self._count(FileDone(p.path, "indexed", chunks=added), total)
        pending.clear()
        self.writer.checkpoint()

    def _forget(self, path: str, total: int, quiet: bool = False) -> Iterator[FileDone]:
        removed = self.writer.forget(path)
        if removed or not quiet:
            self.tally.chunks_removed += removed
            self.tally.removed += 1
            if not quiet:
                yield self._done(Path(path), "removed", total=total)

    def _gone(self, roots: Sequence[Path], seen: set[str]) -> list[str]:
        """Stored files under the given roots that the walk no longer finds."""
        prefixes = [str(r.resolve()) for r in roots]
        return [
            p
            for p in self.coll.document_paths()
            if p not in seen and any(p == r or p.startswith(r.rstrip("/") + "/") for r in prefixes)
        ]

    # ------------------------------------------------------------ events

    def _count(self, event: FileDone, total: int) -> FileDone:
        t = self.tally
        if event.status == "indexed":
            t.indexed += 1
        elif event.status == "unchanged":
            t.unchanged += 1
        elif event.status == "skipped":
            t.skipped.append((str(event.path), event.reason or ""))
        elif event.status == "failed":
            t.failed.append((str(event.path), event.reason or ""))
        return self._done(event.path, event.status, event.chunks, event.reason, total)

    def _done(
        self,
        path: Path,
        status: Status,
        chunks: int = 0,
        reason: str | None = None,
        total: int = 0,
    ) -> FileDone:
        if status != "removed":
            self.tally.done += 1
        return FileDone(
            path,
            status,
            chunks=chunks,
            reason=reason,
            files_done=self.tally.done,
            files_total=total,
            chunks_done=self.tally.chunks_added,
        )
