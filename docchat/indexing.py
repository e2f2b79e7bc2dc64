"""One index run: walk → detect changes → parse → chunk → embed → the collection's writer, as
a generator of progress events. The writer (store/writer.py) owns the vector index and the
crash-safety protocol; this module decides what to read, and reads it: files are parsed on
worker threads (the next ones ahead, ingest/ahead.py; while the run waits for one it reports
OCR progress). What it read waits in index_windows.py to be embedded and stored; both count
into one index_tally.RunTally. Cancellation is a threading.Event checked between files,
between embedding batches and between pages read by OCR, after which the run checkpoints and
reports.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import shlex
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from docchat.config import Settings
from docchat.embed.base import Embedder
from docchat.embed.context import PLAIN, embed_format, embed_text
from docchat.errors import DocchatError, UnsupportedFile
from docchat.index_tally import RunTally
from docchat.index_windows import FLUSH_CHUNKS, EmbedWindows, Pending
from docchat.ingest import ocr
from docchat.ingest.ahead import ReadAhead
from docchat.ingest.parsers import parse
from docchat.ingest.prepare import READER, PreparedFile, prepare_chunks
from docchat.ingest.walk import WalkItem, walk, walk_changed
from docchat.store.writer import CollectionWriter
from docchat.types import (
    ChunksEmbedded,
    FileDone,
    IndexEvent,
    IndexStarted,
    IndexSummary,
    OcrProgress,
    ParsedDocument,
)

log = logging.getLogger(__name__)
GONE = "gone (deleted during the run)"
STAMPS_AT_ONCE = 64  # files in a run or batch past which the stored stamps are read at once
READ_AHEAD = 16  # files parsed on a worker thread ahead of the one being read
READ_AHEAD_BYTES = 4 << 20  # larger files are parsed in turn: two at once could double the peak
WAIT_POLL_S = 0.25  # while a file is parsed: how often OCR progress and the cancel are looked at


@dataclass
class _Reading:
    """What a reading thread made of a file: its text, and its chunks if it cut them."""

    parsed: ParsedDocument
    prepared: PreparedFile | None = None
    chunk_seconds: float = 0.0


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
        *,
        retry_failed: bool = False,
        reread: bool = False,
    ) -> None:
        self.writer = writer
        self.coll = writer.collection  # what is stored already (reads)
        self.embedder = embedder
        self.settings = settings
        self.cancel = cancel or threading.Event()
        # `reread`: every file is read again, changed or not (after docchat learned to read
        # some better: prepare.READER); a file whose chunks come out the same is unchanged,
        # and only texts not stored yet are embedded.
        self.reread = reread
        self.retry_failed = retry_failed or reread
        self.tally = RunTally()
        # The files read wait there to be embedded and stored (index_windows.py).
        self.windows = EmbedWindows(
            writer, embedder, settings, self.tally, lambda: self.cancel.is_set()
        )
        cfg = settings.index
        self._ocr = ocr.OcrOptions(cfg.ocr, cfg.ocr_language, cfg.ocr_engine)
        self._ocr_tally = ocr.OcrTally(self.cancel)
        self._ahead: ReadAhead[_Reading] | None = None
        self._stamps: dict[str, tuple[int, int]] | None = None
        self._reading = ocr.reading_key(self._ocr)
        # Whether a file read before and skipped for what it holds ("image without text",
        # "no text", "not prose") keeps that verdict while it is unchanged: only if it was
        # read the way this run would read it (OCR options, engines installed).
        self._trust_skips = False
        self._reread_short = False  # a reread that kept a file's earlier text

    @functools.cached_property
    def max_tokens(self) -> int:
        """The longest chunk: asked of the embedder only when a file is chunked (a lazy
        embedder reads its tokenizer for it)."""
        return min(self.settings.index.chunk_tokens, self.embedder.max_tokens)

    def run(self, roots: Sequence[Path]) -> Iterator[IndexEvent]:
        """Index everything under `roots`; what is stored under them and no longer found is
        forgotten."""
        started = time.perf_counter()
        cfg = self.settings.index
        self.tally.restart_timings()  # (a watch runs again to rescan)
        with self.tally.timed("walk"):
            items = list(
                walk(
                    roots,
                    exclude=cfg.exclude,
                    include_hidden=cfg.include_hidden,
                    max_file_bytes=int(cfg.max_file_mb * 1024 * 1024),
                    follow_symlinks=cfg.follow_symlinks,
                )
            )
        self._begin(roots)
        yield IndexStarted(self.coll.name, len(items))
        yield from self._reformat()

        def leftovers(seen: set[str]) -> tuple[list[str], list[str]]:
            return self._gone(roots, seen), self._under(roots, self.coll.ledger_paths(), seen)

        reader = self.coll.reader()
        self._reread_short = False
        if reader < READER and not self.reread:
            # (the folders it was indexed from that are still there: the command must run)
            folders = [f for f in self.coll.folders() if os.path.exists(f)]
            self.tally.counts.notes.append(
                (
                    self.coll.name,
                    "docchat reads some files better than when this collection was indexed; "
                    f"to read them again: docchat index --reread -c {self.coll.name} "
                    + " ".join(shlex.quote(f) for f in folders),
                )
            )
        yield from self._sync(items, leftovers, started, finish=True)
        if not self.cancel.is_set() and not self._trust_skips:
            # Every file was looked at the way this run reads: its verdicts can be trusted
            # from now on. (A watch's batch sees only some files, so it records nothing.)
            self.writer.remember_reading(self._reading)
        if self.reread and reader < READER and not self.cancel.is_set():
            # Read by this docchat only if every file it holds was read again now (a reread
            # of some of its folders is not enough, nor one that kept earlier text) — but for
            # files gone since, which no run can read (a folder deleted or unmounted).
            paths = self.coll.document_paths()
            read = set(self._under(roots, paths, set()))
            whole = all(p in read or not os.path.exists(p) for p in paths)
            if whole and not self._reread_short:
                self.writer.remember_reader(READER)

    def apply(self, roots: Sequence[Path], changed: Iterable[Path]) -> Iterator[IndexEvent]:
        """Bring the collection in step with `changed` paths under `roots` (files or folders
        created, edited, deleted or renamed: a watch's batch), through the same steps as a
        run, looking at nothing else: what is stored at or under a changed path and is no
        longer there (or is now ignored) is forgotten. A renamed file's texts keep their
        embeddings (they are only dropped at the end of a run, `finish`), so it costs no
        embedding."""
        started = time.perf_counter()
        paths = sorted({Path(p) for p in changed})
        cfg = self.settings.index
        self.tally.restart_timings()
        with self.tally.timed("walk"):
            items = list(
                walk_changed(
                    roots,
                    paths,
                    exclude=cfg.exclude,
                    include_hidden=cfg.include_hidden,
                    max_file_bytes=int(cfg.max_file_mb * 1024 * 1024),
                    follow_symlinks=cfg.follow_symlinks,
                )
            )
        self._begin(roots, remember=False)
        yield IndexStarted(self.coll.name, len(items))
        yield from self._reformat()
        scopes = [str(p) for p in paths]

        def leftovers(seen: set[str]) -> tuple[list[str], list[str]]:
            docs, ledger = self.coll.paths_under(scopes)
            return [p for p in docs if p not in seen], [p for p in ledger if p not in seen]

        yield from self._sync(items, leftovers, started, finish=False)

    def _begin(self, roots: Sequence[Path], *, remember: bool = True) -> None:
        # A new collection's fingerprint (a probe through the model) is recorded with its
        # first vectors, not here: the model then loads while the first file is parsed
        # (`preload`, in _read) instead of before it (~1 s of a 30-page first index here),
        # and a run with nothing to embed never loads it.
        self.windows.fingerprint_due = self.coll.meta("fingerprint") is None
        with self.tally.timed("store"):  # (it opens the vector store when it must)
            self.writer.use_model(
                self.embedder.name,
                self.embedder.dimension,
                None,
                self.embedder.precision,
                reader=READER,  # (a new collection's files are all read by this docchat)
            )
        if remember:
            self.writer.remember_folders([str(r) for r in roots])
        self.tally.restart_counts()
        self._trust_skips = not self.retry_failed and self.coll.meta("reading") == self._reading

    def _reformat(self) -> Iterator[ChunksEmbedded]:
        """Bring the stored vectors to this run's embedded-text format (index.context_headers,
        docchat/embed/context.py) before adding any: a collection embedded before (or with
        the setting changed) has the chunks whose embedded text changed embedded again —
        a plain-text document without title or headings keeps its vectors. Stopped half way,
        nothing is written and the next run starts over."""
        fmt = embed_format(self.settings.index.context_headers)
        if self.coll.embed_format() == fmt:
            return
        changed: dict[int, str] = {}
        texts: dict[str, str] = {}
        for cid, old, text, heading, title in self.coll.embed_sources():
            wanted = embed_text(text, title, heading, fmt)
            h = text_hash(wanted)
            if h != old:
                changed[cid] = h
                texts[h] = wanted
        todo = sorted(set(texts) - self.coll.known_hashes(texts), key=lambda h: len(texts[h]))
        vectors: dict[str, np.ndarray] = {}
        if not (yield from self.windows.embed(todo, texts, vectors)):
            return  # cancelled: nothing changed, the next run starts over
        with self.tally.timed("store"):
            self.writer.rehash(changed, vectors, fmt)
        if changed:
            how = "with" if fmt != PLAIN else "without"
            self.tally.counts.notes.append(
                (
                    self.coll.name,
                    f"re-embedded {len(changed)} chunks {how} their titles and headings "
                    "(index.context_headers changed, or the collection predates it)",
                )
            )

    def _sync(
        self,
        items: list[WalkItem],
        leftovers: Callable[[set[str]], tuple[list[str], list[str]]],
        started: float,
        *,
        finish: bool,
    ) -> Iterator[IndexEvent]:
        """Examine `items`, embed and store what changed; then forget the stored documents
        and mark removed the ledger rows that `leftovers(seen)` names. `finish`: end as a run
        does (drop embeddings no chunk uses); otherwise only checkpoint, so that a file
        renamed across two batches still finds its embeddings."""
        total = len(items)
        seen: set[str] = set()
        pending: list[Pending] = []
        self.windows.restart_clock()
        gone: list[str] = []
        unseen: list[str] = []
        ocr_pages_before = self._ocr_tally.pages
        self._ocr_tally.cancel = self.cancel  # (a watch hands each batch a cancel of its own)
        # (one core: nothing is read ahead, but files are still read off this thread)
        self._ahead = ReadAhead(self._parse, READ_AHEAD if (os.cpu_count() or 1) > 1 else 0)
        # Many files (a run, a large batch): every stored stamp in one read, not a query per
        # file; a watch's few changes look theirs up.
        self._stamps = self.coll.document_stamps() if len(items) > STAMPS_AT_ONCE else None
        # Files are reported in walk order (and counted as reported: progress only goes
        # up): one that needs no embedding waits for the files before it still queued.
        held: list[Callable[[], FileDone]] = []

        def report(event: Callable[[], FileDone]) -> Iterator[FileDone]:
            if pending:
                held.append(event)
            else:
                yield event()

        def flush(files: list[Pending]) -> Iterator[IndexEvent]:
            yield from self.windows.flush(files, total)
            for event in held:
                yield event()
            held.clear()

        try:
            for index, item in enumerate(items):
                if self.cancel.is_set():
                    break
                path = str(item.path)
                seen.add(path)
                self._read_ahead(items, index)
                if item.skip_reason:
                    self.writer.record(path, "skipped", item.skip_reason)
                    skipped = FileDone(item.path, "skipped", reason=item.skip_reason)
                    yield from report(functools.partial(self.tally.count, skipped, total))
                    yield from self._forget(path, total, quiet=True)
                    continue
                event = yield from self._examine(item.path, pending)
                if self._ahead is not None:
                    self._ahead.discard(item.path)  # taken, or unchanged after all
                if event is not None:
                    yield from report(functools.partial(self.tally.count, event, total))
                    if event.reason == GONE:  # what was stored of it goes too
                        yield from self._forget(path, total, quiet=True)
                elif len(pending) > 1 and len(pending[-1].chunks) >= FLUSH_CHUNKS:
                    # Save the small files queued so far before embedding a big one, so a
                    # slow file never holds their finished work hostage.
                    big = pending.pop()
                    yield from flush(pending)
                    pending.append(big)
                if self.windows.due(pending) or self._embed_while_reading(items, index, pending):
                    yield from flush(pending)
            yield from flush(pending)
            if not self.cancel.is_set():
                gone, unseen = leftovers(seen)
                for path in gone:
                    yield from self._forget(path, total)
                for path in unseen:
                    self.writer.record(path, "removed")  # skipped or failed, and now gone
        except BaseException:
            # Keep what was done (Ctrl-C, a parser bug), but a failure of this last
            # checkpoint (the disk that is already full) must not hide the first error.
            with contextlib.suppress(Exception):
                self.writer.finish()
            raise
        finally:
            self._stamps = None
            if self._ahead is not None:
                self._ahead.close()
                self._ahead = None
        with self.tally.timed("store"):
            if finish:
                self.writer.finish()
            elif items or gone or unseen:  # (a batch that touched nothing writes nothing)
                self.writer.checkpoint(force=True)
        t = self.tally.counts
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
            notes=t.notes,
            timings=dict(self.tally.timings),
            embedded=t.embedded,
            ocr_pages=self._ocr_tally.pages - ocr_pages_before,
        )

    # ------------------------------------------------------------ steps

    def _embed_while_reading(
        self, items: list[WalkItem], index: int, pending: list[Pending]
    ) -> bool:
        """Whether to embed the files waiting now because the next one is still being read:
        the model works while the reader does, instead of both taking turns (a full batch
        at least, so that a flush is never a few texts)."""
        if self._ahead is None or index + 1 >= len(items):
            return False
        if not self.windows.a_batch_waits(pending):
            return False
        return self._ahead.busy(items[index + 1].path)

    def _examine(
        self, path: Path, pending: list[Pending]
    ) -> Generator[OcrProgress, None, FileDone | None]:
        """Unchanged → event now; changed → parsed and queued for embedding (None); a run
        stopped while it was read → None. What happened to a file that gets no chunks goes
        to the ledger here."""
        key = str(path)
        st = None
        event = yield from self._read(path, pending)
        if (
            self.reread
            and event is not None
            and event.status in ("failed", "skipped")
            and event.reason != GONE
            and self._stored_as_is(path)
        ):
            # Read again, the file (unchanged since it was indexed) now fails or gives
            # nothing: its chunks from the earlier reading are kept, not lost, and the
            # collection does not count as read again.
            self._reread_short = True
            self.tally.counts.notes.append(
                (key, f"read again: {event.reason}; its earlier text is kept")
            )
            event = FileDone(path, "unchanged")
        if event is not None:
            if event.status != "unchanged":  # (an unchanged file keeps its recorded ones)
                with contextlib.suppress(OSError):
                    st = path.stat()
            self.writer.record(
                key,
                event.status,
                event.reason,
                size=st.st_size if st else None,
                mtime_ns=st.st_mtime_ns if st else None,
            )
        return event

    def _stored_as_is(self, path: Path) -> bool:
        """Whether the collection holds this file with its present size and mtime."""
        try:
            return self._stored_with(path, path.stat())
        except OSError:
            return False

    def _read(
        self, path: Path, pending: list[Pending]
    ) -> Generator[OcrProgress, None, FileDone | None]:
        try:
            st = path.stat()
            if self._stamped(path, st):
                return FileDone(path, "unchanged")
            if (verdict := self._verdict(path, st)) is not None:
                return verdict
            doc = self.coll.document(str(path))
            content_hash = file_hash(path)
            if doc and doc.content_hash == content_hash and not self.reread:
                self.writer.touch(doc.id, st.st_size, st.st_mtime_ns)
                return FileDone(path, "unchanged")
            assert self._ahead is not None
            reading = self._ahead.take(path) or self._ahead.now(path)
            preload = getattr(self.embedder, "preload", None)  # (a lazy embedder's)
            if preload is not None:
                preload()  # a file to embed: load the model while it is parsed
            with self.tally.timed("parse"):  # (for a file read ahead: the wait for it, if any)
                done = yield from self._wait(reading, path)
            parsed = done.parsed
            if done.prepared is None:
                with self.tally.timed("chunk"):
                    prepared = self._chunk(parsed)
            else:  # chunked by the reading thread (its time, overlapped with embedding)
                prepared = done.prepared
                self.tally.timings["chunk"] += done.chunk_seconds
            spans = prepared.spans
        except ocr.Stopped:
            return None  # not read: the run was cancelled
        except UnsupportedFile as e:
            return FileDone(path, "skipped", reason=str(e))
        except DocchatError as e:
            if not os.path.lexists(path):
                return FileDone(path, "skipped", reason=GONE)
            return FileDone(path, "failed", reason=str(e))
        except Exception as e:
            if not os.path.lexists(path):  # deleted between the walk and now: not a failure
                return FileDone(path, "skipped", reason=GONE)
            if isinstance(e, OSError):  # e.g. permissions changed since the walk: no bug
                return FileDone(path, "failed", reason=f"cannot read file: {e.strerror or e}")
            # A parser bug on one file must not end a 10,000-file run: report it, log the
            # traceback for the bug report, go on.
            log.exception("failed to read %s", path)
            return FileDone(path, "failed", reason=f"{type(e).__name__}: {e}".splitlines()[0])
        if not spans:
            return FileDone(path, "skipped", reason="no text")
        fmt = embed_format(self.settings.index.context_headers)
        texts = [embed_text(s.text, parsed.title, s.heading, fmt) for s in spans]
        chunks = [(s, text_hash(t)) for s, t in zip(spans, texts, strict=True)]
        if self.reread and doc and doc.content_hash == content_hash:
            layout = [
                (h, s.page, s.line_start, s.line_end, s.char_start, s.char_end, s.heading)
                for s, h in chunks
            ]
            if self.coll.document_layout(doc.id) == (parsed.title, layout):
                self.writer.touch(doc.id, st.st_size, st.st_mtime_ns)
                return FileDone(path, "unchanged")  # read again, and read the same
        pending.append(
            Pending(
                path,
                st.st_size,
                st.st_mtime_ns,
                content_hash,
                parsed,
                chunks,
                {h: t for (_, h), t in zip(chunks, texts, strict=True)},
                prepared.note,
            )
        )
        return None

    def _parse(self, path: Path) -> _Reading:
        """Parse a file (on a reading thread), and chunk it there too when the embedder's
        token counting may run beside its embedding: then chunking, like parsing, overlaps
        the embedding of the files before."""
        with ocr.using(self._ocr, self._ocr_tally, str(path)):  # (per thread: the worker's)
            parsed = parse(path)
        if not self.embedder.counts_tokens_apart:
            return _Reading(parsed)
        started = time.perf_counter()
        prepared = self._chunk(parsed)
        return _Reading(parsed, prepared, time.perf_counter() - started)

    def _chunk(self, parsed: ParsedDocument) -> PreparedFile:
        return prepare_chunks(
            parsed,
            self.embedder.count_tokens,
            self.max_tokens,
            self.settings.index.chunk_overlap,
            max_chunks=self.settings.index.max_chunks_per_file,
            max_text_chars=self.settings.index.max_text_chars,
        )

    def _wait(
        self, reading: Future[_Reading], path: Path
    ) -> Generator[OcrProgress, None, _Reading]:
        """The parsed file, once its worker is done. Meanwhile: OCR progress (a scan of
        hundreds of pages takes many minutes), and on cancel `ocr.Stopped` at once (the
        worker stops before its next page)."""
        tally = self._ocr_tally
        shown: tuple[int, str | None] | None = None  # (nothing said yet)
        while True:
            try:
                return reading.result(timeout=WAIT_POLL_S)
            except TimeoutError:
                if self.cancel.is_set():
                    reading.cancel()
                    raise ocr.Stopped from None
                now = (tally.pages, tally.reading)
                # (a slow parse without OCR says nothing; once OCR was seen, every page)
                if now != shown and (now[1] is not None or shown is not None):
                    shown = now
                    yield OcrProgress(Path(now[1] or path), now[0])

    def _read_ahead(self, items: list[WalkItem], index: int) -> None:
        """Start parsing the next files that will need it, while this one is read and the
        files before it are embedded."""
        if self._ahead is None:
            return
        for item in items[index + 1 : index + 1 + READ_AHEAD]:
            if not self._ahead.room():
                return
            if not self._ahead.asked(item.path):
                self._ahead.want(item.path, not item.skip_reason and self._changed(item.path))

    def _changed(self, path: Path) -> bool:
        """Whether `_read` will parse the file (unless its content turns out the same), and
        it is small enough to parse beside another."""
        try:
            st = path.stat()
        except OSError:
            return False
        if st.st_size > READ_AHEAD_BYTES:
            return False
        return not self._stamped(path, st) and self._verdict(path, st) is None

    def _stamped(self, path: Path, st: os.stat_result) -> bool:
        """Whether the file is stored with this size and mtime (so it is not read)."""
        return not self.reread and self._stored_with(path, st)

    def _stored_with(self, path: Path, st: os.stat_result) -> bool:
        """Whether the collection holds the file with the size and mtime in `st`."""
        key = str(path)
        if self._stamps is not None:
            return self._stamps.get(key) == (st.st_size, st.st_mtime_ns)
        doc = self.coll.document(key)
        return doc is not None and (doc.size, doc.mtime_ns) == (st.st_size, st.st_mtime_ns)

    def _verdict(self, path: Path, st: os.stat_result) -> FileDone | None:
        """What an earlier run found in this unchanged file, if it stands: a file that failed
        is not read again until it changes (a broken file can cost a lot of memory and time
        on every run), and neither is one with nothing to index (an image without text
        costs seconds of OCR every time) while the way of reading it stays the same."""
        if self.retry_failed:
            return None
        known = self.coll.file_record(str(path))
        if known is None or (known.size, known.mtime_ns) != (st.st_size, st.st_mtime_ns):
            return None
        if known.state == "failed":
            return FileDone(path, "failed", reason=known.reason)
        if known.state == "skipped" and self._trust_skips and known.reason != GONE:
            return FileDone(path, "skipped", reason=known.reason)
        return None

    def _forget(self, path: str, total: int, quiet: bool = False) -> Iterator[FileDone]:
        removed = self.writer.forget(path)
        if removed or not quiet:
            self.tally.counts.chunks_removed += removed
            self.tally.counts.removed += 1
            if not quiet:
                self.writer.record(path, "removed")
                yield self.tally.done(Path(path), "removed", total=total)

    def _gone(self, roots: Sequence[Path], seen: set[str]) -> list[str]:
        """Stored files under the given roots that the walk no longer finds."""
        return self._under(roots, self.coll.document_paths(), seen)

    @staticmethod
    def _under(roots: Sequence[Path], paths: Iterable[str], seen: set[str]) -> list[str]:
        """Those of `paths` under the given roots that the walk did not find."""
        prefixes = [str(r.resolve()) for r in roots]
        return [
            p
            for p in paths
            if p not in seen and any(p == r or p.startswith(r.rstrip("/") + "/") for r in prefixes)
        ]
