"""From a parsed file to the chunks to embed, with every limit that keeps one file's cost
bounded: text past `max_text_chars` is cut, text that is not prose is refused, identical
chunks are kept once and at most `max_chunks` are made. Each limit that bites leaves a note
for the index report, so a capped file never passes for a complete one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from docchat.errors import UnsupportedFile
from docchat.ingest.chunking import ChunkStats, TokenCounter, chunk_document
from docchat.ingest.prose import not_prose
from docchat.types import ChunkSpan, Page, ParsedDocument

# How files become chunks (the built-in parsers and the chunker), recorded per collection:
# bump it when a change makes the same file give other chunks, so that the collections
# indexed before say so and `docchat index --reread` brings them up to date.
#   1: before the reader was recorded
#   2: PDF pages whose words run together are read again with pypdfium2; man pages
#      (AsciiDoc HTML) keep their NAME line
READER = 2


@dataclass
class PreparedFile:
    spans: list[ChunkSpan]
    notes: list[str] = field(default_factory=list)
    stats: ChunkStats = field(default_factory=ChunkStats)

    @property
    def note(self) -> str | None:
        return "; ".join(self.notes) or None


def prepare_chunks(
    doc: ParsedDocument,
    count_tokens: TokenCounter,
    max_tokens: int,
    overlap: int,
    *,
    max_chunks: int | None = None,
    max_text_chars: int | None = None,
) -> PreparedFile:
    """The chunks of `doc`; raises UnsupportedFile ("not prose: ...") for data, not text."""
    notes = []
    if max_text_chars is not None:
        doc, cut = cap_text(doc, max_text_chars)
        if cut:
            notes.append(
                f"text cut at {max_text_chars:,} characters (index.max_text_chars); "
                "the rest is not indexed"
            )
    if reason := not_prose(doc):
        raise UnsupportedFile(reason)
    chunked = chunk_document(doc, count_tokens, max_tokens, overlap, max_chunks)
    if chunked.capped:
        notes.append(
            f"capped at {max_chunks:,} chunks (index.max_chunks_per_file); the rest is not indexed"
        )
    return PreparedFile(chunked.spans, notes, chunked.stats)


def cap_text(doc: ParsedDocument, max_chars: int) -> tuple[ParsedDocument, bool]:
    """`doc` with at most `max_chars` characters of text in all; whether anything was cut."""
    if sum(len(p.text) for p in doc.pages) <= max_chars:
        return doc, False
    pages: list[Page] = []
    left = max_chars
    for page in doc.pages:
        if left <= 0:
            break
        if len(page.text) > left:
            lines = page.text[:left].count("\n") + 1
            headings = tuple(h for h in page.headings if h.line <= lines)
            page = replace(page, text=page.text[:left], headings=headings)
        pages.append(page)
        left -= len(page.text)
    return replace(doc, pages=tuple(pages)), True
