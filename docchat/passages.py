"""The exact text of a cited passage, with a little context, from an indexed document.

Line numbers in hits and sources count lines of the text docchat extracted from the file (of
one page, for PDFs), so the file is parsed again the same way rather than read raw: the lines
of a PDF page or an HTML page's main text come back exactly as they were indexed. Only files
that are documents of the collection can be opened, so a caller (an MCP client, say) cannot
read arbitrary files through this.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from docchat.errors import DocchatError
from docchat.store.collection import Collection, DocumentRow

MAX_LINES = 2000  # one passage, not a whole book
# Parsers whose text keeps the file's own lines: line N of a passage is line N of the file.
PLAIN_KINDS = frozenset({"text", "markdown", "rst", "org", "asciidoc", "code"})


@dataclass(frozen=True)
class PassageText:
    path: str
    page: int | None
    line_start: int
    line_end: int
    text: str  # exactly lines line_start..line_end
    before: str  # up to `context` lines before it
    after: str  # up to `context` lines after it
    changed: bool  # the file changed since it was indexed: lines may have moved

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "page": self.page,
            "line_start": self.line_start,
            "line_end": self.line_end,
            "text": self.text,
            "before": self.before,
            "after": self.after,
            "changed_since_indexed": self.changed,
        }


def open_passage(
    coll: Collection,
    path: str,
    line_start: int,
    line_end: int | None = None,
    page: int | None = None,
    context: int = 3,
) -> PassageText:
    from docchat.ingest.parsers import parse

    row = _document(coll, path)
    end = line_start if line_end is None else line_end
    if line_start < 1 or end < line_start:
        raise DocchatError(f"lines {line_start}–{end}: give 1 ≤ line_start ≤ line_end")
    if end - line_start >= MAX_LINES:
        raise DocchatError(f"lines {line_start}–{end}: at most {MAX_LINES} lines at a time")
    file = Path(row.path)
    try:
        stat = file.stat()
    except OSError:
        raise DocchatError(f"{row.path} is gone from disk (index the collection again)") from None
    pages = parse(file).pages
    numbered = [p for p in pages if p.number is not None]
    if page is None and numbered:
        raise DocchatError(f"{row.path} has pages: give the page of the passage too")
    chosen = next((p for p in pages if p.number == page), None)
    if chosen is None:
        raise DocchatError(f"{row.path} has no page {page}")
    lines = chosen.text.split("\n")  # the chunker counts lines by "\n" alone
    if end > len(lines):
        where = f"page {page} of {row.path}" if page is not None else row.path
        raise DocchatError(f"lines {line_start}–{end}: {where} has {len(lines)} lines")
    context = max(0, min(context, 50))
    return PassageText(
        path=row.path,
        page=page,
        line_start=line_start,
        line_end=end,
        text="\n".join(lines[line_start - 1 : end]),
        before="\n".join(lines[max(0, line_start - 1 - context) : line_start - 1]),
        after="\n".join(lines[end : end + context]),
        changed=(stat.st_size, stat.st_mtime_ns) != (row.size, row.mtime_ns),
    )


def _document(coll: Collection, path: str) -> DocumentRow:
    row = coll.document(path) or coll.document(os.path.abspath(os.path.expanduser(path)))
    if row is None:
        raise DocchatError(f"{path} is not a document of collection '{coll.name}'")
    return row


def extracted_text(coll: Collection, path: str, page: int | None = None) -> str | None:
    """The text docchat indexed from one of the collection's documents (one page of a paged
    one), whose lines the passages' line numbers count; None when that is the file itself
    (plain text and markup), so an editor can open the file at the line as it is."""
    from docchat.ingest.parsers import parse

    row = _document(coll, path)
    try:
        parsed = parse(Path(row.path))
    except OSError:
        raise DocchatError(f"{row.path} is gone from disk (index the collection again)") from None
    if parsed.kind in PLAIN_KINDS:
        return None
    chosen = next((p for p in parsed.pages if p.number == page), None)
    if chosen is None:
        raise DocchatError(f"{row.path} has no page {page}")
    return chosen.text
