"""Plain data passed between the stages of the data path (and `location()`, the one phrase
they all share).

The classes are frozen dataclasses with no behaviour beyond small derived properties and
JSON shapes. Frozen means no field is reassigned, not that everything is immutable: a few
hold a dict or lists (Hit.explain, IndexSummary.skipped, CheckReport.problems), so those
compare by value but cannot be hashed. Treat them all as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


def location(page: int | None, line_start: int, line_end: int) -> str:
    """'p. 3, lines 10–24' ('lines 10–24' in an unpaged file, 'line 7' for one line).

    The one way docchat names a place in a file: the model's prompt shows its sources with
    it, and the CLI, the TUI and exported chats cite them with it (docchat/presentation.py).
    """
    lines = f"line {line_start}" if line_start == line_end else f"lines {line_start}–{line_end}"
    return f"p. {page}, {lines}" if page is not None else lines


# ---------------------------------------------------------------- ingest


@dataclass(frozen=True)
class Heading:
    """A heading found by a parser: `line` is 1-based within its page's text."""

    line: int
    level: int
    title: str


@dataclass(frozen=True)
class Page:
    """Extracted text of one page (PDF) or of a whole unpaged file (`number` is None)."""

    text: str
    number: int | None = None
    headings: tuple[Heading, ...] = ()
    ocr: bool = False  # the text was read from an image of the page (docchat/ingest/ocr.py)


@dataclass(frozen=True)
class ParsedDocument:
    """What a parser returns: the text of a file, page by page."""

    pages: tuple[Page, ...]
    title: str | None = None
    kind: str = "text"  # parser name, e.g. "pdf", "html", "markdown"

    @property
    def ocr_pages(self) -> frozenset[int | None]:
        """The numbers of the pages read by OCR (None: an unpaged image)."""
        return frozenset(p.number for p in self.pages if p.ocr)


@dataclass(frozen=True)
class ChunkSpan:
    """A chunk of one page's text.

    `text == page.text[char_start:char_end]` exactly; `line_start`/`line_end` are the 1-based
    lines of that page's text holding the first and last character of the chunk.
    """

    text: str
    page: int | None
    char_start: int
    char_end: int
    line_start: int
    line_end: int
    heading: str | None = None


# ---------------------------------------------------------------- retrieval


@dataclass(frozen=True)
class Restriction:
    """Which chunks a query may return. retrieve/ builds it from `in:`, `page:` and quoted
    phrases; the store turns it into SQL. The default restricts nothing."""

    document_ids: tuple[int, ...] | None = None  # None: any document; (): none at all
    pages: tuple[int | None, int | None] | None = None  # inclusive; None = an open end
    phrase_match: str | None = None  # an FTS5 expression every chunk must satisfy

    @property
    def empty(self) -> bool:
        """No chunk can satisfy it (no document matched the `in:` patterns)."""
        return self.document_ids == ()


@dataclass(frozen=True)
class Hit:
    """One search result. `rank` is 1-based; higher `score` is better."""

    rank: int
    score: float
    chunk_id: int
    path: str
    page: int | None
    line_start: int
    line_end: int
    heading: str | None
    text: str
    # Per-retriever detail for --explain: e.g. {"dense_rank": 3, "dense_score": 0.61, ...}
    explain: dict[str, float | int | None] = field(default_factory=dict)
    ocr: bool = False  # the passage was read by OCR from an image of its page

    def to_json(self) -> dict[str, object]:
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "chunk_id": self.chunk_id,
            "path": self.path,
            "page": self.page,
            "line_start": self.line_start,
            "line_end": self.line_end,
            "heading": self.heading,
            "text": self.text,
            "ocr": self.ocr,
            **self.explain,
        }


# ---------------------------------------------------------------- indexing progress


@dataclass(frozen=True)
class IndexStarted:
    collection: str
    files_total: int


@dataclass(frozen=True)
class FileDone:
    """One file finished. `status` says what happened to it."""

    path: Path
    status: Literal["indexed", "unchanged", "skipped", "failed", "removed"]
    chunks: int = 0
    reason: str | None = None
    files_done: int = 0
    files_total: int = 0
    chunks_done: int = 0


@dataclass(frozen=True)
class IndexSummary:
    collection: str
    indexed: int
    unchanged: int
    skipped: list[tuple[str, str]]
    failed: list[tuple[str, str]]
    removed: int
    chunks_added: int
    chunks_removed: int
    seconds: float
    cancelled: bool = False
    # Indexed files a limit cut short (index.max_chunks_per_file, index.max_text_chars).
    notes: list[tuple[str, str]] = field(default_factory=list)
    # Seconds spent per stage: walk, parse, chunk, embed (with the model's load, the part of
    # it that parsing the first file did not hide), store.
    timings: dict[str, float] = field(default_factory=dict)
    embedded: int = 0  # texts the embedder was given (texts stored before cost nothing)
    ocr_pages: int = 0  # pages read by OCR (index.ocr)

    def to_json(self) -> dict[str, object]:
        return {
            "collection": self.collection,
            "indexed": self.indexed,
            "unchanged": self.unchanged,
            "skipped": len(self.skipped),
            "failed": len(self.failed),
            "removed": self.removed,
            "chunks_added": self.chunks_added,
            "chunks_removed": self.chunks_removed,
            "embedded": self.embedded,
            "ocr_pages": self.ocr_pages,
            "seconds": round(self.seconds, 3),
            "cancelled": self.cancelled,
            "skipped_files": [{"path": p, "reason": r} for p, r in self.skipped],
            "failed_files": [{"path": p, "error": e} for p, e in self.failed],
            "noted_files": [{"path": p, "note": n} for p, n in self.notes],
            "timings": {stage: round(s, 3) for stage, s in self.timings.items()},
        }


@dataclass(frozen=True)
class ChunksEmbedded:
    """One embedding batch finished. Files are stored (and reported by FileDone) a group at a
    time, after all their chunks are embedded; this says how far the group is, so progress
    moves with the work: `embedded` of the group's `queued` new chunks have vectors, for
    `files` files waiting on them; `chunks_done` counts the run's stored chunks before it."""

    embedded: int
    queued: int
    files: int
    chunks_done: int = 0


@dataclass(frozen=True)
class WatchStatus:
    """What a watch (`docchat watch`, the app's live folders) is doing between index events:
    "synced" (waiting for changes), "indexing" (a batch of `changed` paths is being applied:
    IndexRun events and an IndexSummary follow), "rescanning" (the folders are walked again),
    or "notice" (`message` says something the user should know, e.g. that file events are
    unavailable and it falls back to rescans)."""

    state: Literal["synced", "indexing", "rescanning", "notice"]
    changed: int = 0
    message: str | None = None


@dataclass(frozen=True)
class OcrProgress:
    """While the run waits for a file to be parsed: `pages` read by OCR so far in this run,
    `path` the file being read (a scanned PDF of hundreds of pages takes minutes)."""

    path: Path
    pages: int


IndexEvent = IndexStarted | FileDone | ChunksEmbedded | OcrProgress | IndexSummary
WatchEvent = IndexEvent | WatchStatus

FileState = Literal["indexed", "unchanged", "skipped", "failed", "removed"]
FILE_STATES: tuple[FileState, ...] = ("indexed", "unchanged", "skipped", "failed", "removed")


@dataclass(frozen=True)
class FileRecord:
    """A file's row in a collection's ledger: what the last run that saw it did with it."""

    path: str
    state: FileState
    reason: str | None = None  # why it was skipped or failed
    size: int | None = None
    mtime_ns: int | None = None
    pages: int | None = None
    chunks: int = 0
    ocr: bool = False  # some of its text was read by OCR
    indexed_at: float | None = None  # unix time its chunks were last made

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "state": self.state,
            "reason": self.reason,
            "chunks": self.chunks,
            "pages": self.pages,
            "ocr": self.ocr,
            "indexed_at": self.indexed_at,
            "size": self.size,
        }


@dataclass(frozen=True)
class FileCounts:
    """How many of a collection's files are in each state (removed ones are not counted
    in `total`: they are gone)."""

    indexed: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    removed: int = 0

    @property
    def total(self) -> int:
        return self.indexed + self.unchanged + self.skipped + self.failed

    @property
    def searchable(self) -> int:
        return self.indexed + self.unchanged

    def to_json(self) -> dict[str, int]:
        return {
            "indexed": self.indexed,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "failed": self.failed,
            "removed": self.removed,
            "searchable": self.searchable,
            "total": self.total,
        }


@dataclass(frozen=True)
class FilesReport:
    """`docchat status`: a collection's folders, files and counts."""

    collection: str
    folders: list[str]
    files: list[FileRecord]
    counts: FileCounts

    def to_json(self) -> dict[str, object]:
        return {
            "collection": self.collection,
            "folders": self.folders,
            "files": [f.to_json() for f in self.files],
            "counts": self.counts.to_json(),
        }


# ---------------------------------------------------------------- collections


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    documents: int
    chunks: int
    model: str | None
    dimension: int | None
    size_bytes: int
    last_indexed: float | None  # unix time
    # Where the vectors live: {"backend": "faiss"} or Milvus's URI, collection, index, ...
    vector_store: dict[str, object] = field(default_factory=lambda: {"backend": "faiss"})
    # The version of docchat's reading its files went through (ingest.prepare.READER; 1:
    # before it was recorded): older than this docchat's, `index --reread` reads them again.
    reader: int = 1

    @property
    def vector_backend(self) -> str:
        return str(self.vector_store.get("backend", "faiss"))

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "documents": self.documents,
            "chunks": self.chunks,
            "model": self.model,
            "dimension": self.dimension,
            "size_bytes": self.size_bytes,
            "last_indexed": self.last_indexed,
            "vector_backend": self.vector_backend,
            "vector_store": self.vector_store,
            "reader": self.reader,
        }


@dataclass(frozen=True)
class CheckReport:
    collection: str
    problems: list[str]
    chunks: int
    vectors: int

    @property
    def ok(self) -> bool:
        return not self.problems


# ---------------------------------------------------------------- answers


@dataclass(frozen=True)
class Source:
    """A passage offered to the model as `[n]`.

    It copies path/page/lines out of the Hit so that a stored answer keeps pointing at the
    right place after the collection is re-indexed (chunk ids do not survive that).
    """

    n: int
    path: str
    page: int | None
    line_start: int
    line_end: int
    score: float
    text: str = ""
    heading: str | None = None
    chunk_id: int | None = None

    @property
    def location(self) -> str:
        return location(self.page, self.line_start, self.line_end)

    def to_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "path": self.path,
            "page": self.page,
            "line_start": self.line_start,
            "line_end": self.line_end,
            "score": round(self.score, 6),
        }


@dataclass(frozen=True)
class AnswerTimings:
    """Milliseconds, except tokens_per_s; None where the step did not run."""

    retrieval_ms: float | None = None
    condense_ms: float | None = None
    load_ms: float | None = None
    ttft_ms: float | None = None  # from asking the model to its first piece of text
    tokens_per_s: float | None = None  # answer tokens / time after the first one
    total_ms: float | None = None
    verify_ms: float | None = None  # checking the claims, after the last piece of text

    def to_json(self) -> dict[str, float | None]:
        return {
            k: (None if v is None else round(v, 2))
            for k, v in (
                ("retrieval_ms", self.retrieval_ms),
                ("condense_ms", self.condense_ms),
                ("load_ms", self.load_ms),
                ("ttft_ms", self.ttft_ms),
                ("tokens_per_s", self.tokens_per_s),
                ("total_ms", self.total_ms),
                ("verify_ms", self.verify_ms),
            )
        }


@dataclass(frozen=True)
class Claim:
    """One statement of an answer (a sentence or a list item) and the sources that support it.

    `start`/`end` place it in the model's raw text; `marked` are the sources the model cited
    in it, `sources` the ones that support it, best first (docchat/claims/support.py);
    `evidence` the sentences of the best source that say it.
    """

    text: str
    start: int
    end: int
    marked: tuple[int, ...] = ()
    sources: tuple[int, ...] = ()
    supported: bool = False
    score: float = 0.0
    evidence: tuple[str, ...] = ()

    @property
    def corrected(self) -> bool:
        """Cited, but not (only) by the sources that support it."""
        return bool(self.marked) and self.supported and not set(self.marked) <= set(self.sources)

    def to_json(self) -> dict[str, object]:
        return {
            "text": self.text,
            "sources": list(self.sources),
            "marked": list(self.marked),
            "supported": self.supported,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True)
class Verified:
    """What checking an answer's claims against its sources gives the Answer."""

    text: str  # the answer as shown: citations corrected, unsupported claims marked/hidden
    claims: tuple[Claim, ...]
    cited: tuple[int, ...]  # the union of the supported claims' sources, in order of use
    abstained: bool = False  # no claim supported: the text says the documents don't say


@dataclass(frozen=True)
class Answer:
    """The result of one question: text, sources offered and cited, and how it went."""

    text: str
    question: str
    query: str  # the standalone search query (the question itself unless rewritten)
    sources: tuple[Source, ...] = ()
    cited: tuple[int, ...] = ()  # source numbers cited in the text, in order of first use
    abstained: bool = False
    stopped: bool = False
    model: str = ""
    session: int | None = None
    # The model began to repeat itself and was stopped there (generate/loops.py): the text
    # ends before the repetition, though a live view may have shown some of it.
    repeated: bool = False
    timings: AnswerTimings = field(default_factory=AnswerTimings)
    # Set when the claims were checked (answer.verify): the model's own text, and its claims.
    raw_answer: str | None = None
    claims: tuple[Claim, ...] = ()

    @property
    def verified(self) -> bool:
        return self.raw_answer is not None

    @property
    def support(self) -> float | None:
        """The fraction of claims that sources support; None when not checked or no claims."""
        if not self.claims:
            return None
        return sum(c.supported for c in self.claims) / len(self.claims)

    @property
    def rewritten(self) -> bool:
        return self.query.strip() != self.question.strip()

    @property
    def cited_sources(self) -> tuple[Source, ...]:
        by_n = {s.n: s for s in self.sources}
        return tuple(by_n[n] for n in self.cited if n in by_n)

    def to_json(self) -> dict[str, object]:
        return {
            "answer": self.text,
            "sources": [s.to_json() for s in self.sources],
            "cited": list(self.cited),
            "abstained": self.abstained,
            "stopped": self.stopped,
            "repeated": self.repeated,
            "query": self.query,
            "timings": self.timings.to_json(),
            "model": self.model,
            "session": self.session,
            "claims": [c.to_json() for c in self.claims],
            "support": None if self.support is None else round(self.support, 4),
            "raw_answer": self.raw_answer,
        }


# ---------------------------------------------------------------- stored conversations


@dataclass(frozen=True)
class SessionRow:
    """A stored conversation; `messages` counts questions and answers together."""

    id: int
    title: str
    created_at: float
    updated_at: float
    messages: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "messages": self.messages,
        }


@dataclass(frozen=True)
class MessageRow:
    """One stored question (`role` "user") or answer ("assistant", with its sources)."""

    id: int
    role: Literal["user", "assistant"]
    content: str
    created_at: float
    query: str | None = None
    model: str | None = None
    abstained: bool = False
    stopped: bool = False
    repeated: bool = False  # cut where the model began to repeat itself (Answer.repeated)
    sources: tuple[Source, ...] = ()
    cited: tuple[int, ...] = ()

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"id": self.id, "role": self.role, "content": self.content}
        if self.role == "assistant":
            out.update(
                query=self.query,
                model=self.model,
                abstained=self.abstained,
                stopped=self.stopped,
                repeated=self.repeated,
                sources=[s.to_json() for s in self.sources],
                cited=list(self.cited),
            )
        out["created_at"] = self.created_at
        return out


@dataclass(frozen=True)
class LocalModel:
    """A runnable chat model: where it is and what its GGUF header says."""

    name: str
    source: str
    path: str
    size_bytes: int
    architecture: str | None = None
    parameters: str | None = None  # general.size_label, e.g. "3B"
    quantization: str | None = None
    context_length: int | None = None
    chat_template: bool | None = None
    too_big: str | None = None  # why it will not fit this machine, or None
    problem: str | None = None  # the header could not be read

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "source": self.source,
            "path": self.path,
            "size_bytes": self.size_bytes,
            "architecture": self.architecture,
            "parameters": self.parameters,
            "quantization": self.quantization,
            "context_length": self.context_length,
            "chat_template": self.chat_template,
            "fits": self.too_big is None and self.problem is None,
            "too_big": self.too_big,
            "problem": self.problem,
        }
