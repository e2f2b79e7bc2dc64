"""Word (.docx) files: body paragraphs and tables in reading order.

Each paragraph becomes its own block separated by a blank line (so chunkers can split on
paragraphs); each table row becomes one line of `cell | cell` so a row stays together.
Headers, footers and footnotes are left out: they repeat on every page and add noise.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from docchat.errors import ParseError, UnsupportedFile, missing
from docchat.ingest.parsers.common import check_archive, normalize_newlines, one_line
from docchat.ingest.parsers.text import title_from
from docchat.types import Heading, Page, ParsedDocument

if TYPE_CHECKING:
    from docx.table import Table, _Cell
    from docx.text.paragraph import Paragraph

DOCX_SUFFIXES = (".docx",)

_HEADING_STYLE = re.compile(r"^heading ([1-9])$", re.IGNORECASE)


def parse_docx(path: Path) -> ParsedDocument:
    """Parse a .docx file into one page whose headings come from Word's heading styles."""
    try:
        import docx
        from docx.table import Table
    except ImportError:
        raise missing("python-docx", "reading Word files") from None
    from docx.opc.exceptions import PackageNotFoundError

    check_archive(path, "DOCX", "[Content_Types].xml", "a Word document")
    try:
        document = docx.Document(str(path))
    except FileNotFoundError:
        raise  # deleted since the walk: the indexer reports it as gone
    except PackageNotFoundError:  # python-docx says this of any zip that is not a document
        raise ParseError("not a valid DOCX file (a zip without a Word document)") from None
    except Exception as err:  # wrong content type, broken XML ...
        raise ParseError(f"not a readable DOCX file: {one_line(err)}") from None

    lines: list[str] = []
    headings: list[Heading] = []
    try:
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                block_lines = _table_lines(block)
            else:
                block_lines = _paragraph_lines(block)
                level = _heading_level(block)
                if level and block_lines:
                    line = len(lines) + (2 if lines else 1)
                    headings.append(Heading(line, level, block_lines[0].strip()))
            if block_lines:
                if lines:
                    lines.append("")  # a blank line between blocks
                lines.extend(block_lines)
        core_title = document.core_properties.title
    except Exception as err:  # malformed XML inside a valid zip
        raise ParseError(f"broken .docx file: {one_line(err)}") from None

    text = "\n".join(lines)
    if not text.strip():
        raise UnsupportedFile("empty document")
    title = (core_title or "").strip() or title_from(tuple(headings))
    page = Page(text=text, headings=tuple(headings))
    return ParsedDocument(pages=(page,), title=title, kind="docx")


def _paragraph_lines(paragraph: Paragraph) -> list[str]:
    text = normalize_newlines(paragraph.text).strip()
    return [line.rstrip() for line in text.split("\n")] if text else []


def _heading_level(paragraph: Paragraph) -> int | None:
    name = paragraph.style.name if paragraph.style is not None else None
    if not name:
        return None
    if name.lower() == "title":
        return 1
    m = _HEADING_STYLE.match(name)
    return int(m.group(1)) if m else None


def _table_lines(table: Table) -> list[str]:
    out = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            # A horizontally merged cell is returned once per grid column it spans.
            if cell._tc is previous:
                continue
            previous = cell._tc
            cells.append(_cell_text(cell))
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            out.append(" | ".join(cells))
    return out


def _cell_text(cell: _Cell) -> str:
    from docx.table import Table

    parts = []
    for block in cell.iter_inner_content():
        parts.extend(_table_lines(block) if isinstance(block, Table) else _paragraph_lines(block))
    return " ".join(part.strip() for part in parts if part.strip())
