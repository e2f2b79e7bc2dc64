"""EPUB e-books: the chapters in reading (spine) order, as one Markdown page.

Chapters are joined with blank lines; their `#` headings (h1-h3) become Heading entries, so a
citation names the chapter it comes from.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from docchat.errors import ParseError, UnsupportedFile, missing
from docchat.ingest.parsers.common import check_archive, one_line
from docchat.ingest.parsers.html import html_to_markdown
from docchat.ingest.parsers.text import markdown_headings
from docchat.types import Heading, Page, ParsedDocument

EPUB_SUFFIXES = (".epub",)

_MAX_HEADING_LEVEL = 3  # deeper headings in e-books are mostly typographic, not structure


def parse_epub(path: Path) -> ParsedDocument:
    """Parse an .epub file; raises ParseError when the archive or its manifest is broken."""
    try:
        import ebooklib
        from ebooklib import epub
    except ImportError:
        raise missing("ebooklib", "reading EPUB files") from None
    check_archive(path, "EPUB", "META-INF/container.xml", "an e-book")
    try:
        with warnings.catch_warnings():  # ebooklib warns about its own future defaults
            warnings.simplefilter("ignore")
            book = epub.read_epub(str(path), options={"ignore_ncx": True})
        chapters = []
        for idref, *_ in book.spine:
            item = book.get_item_with_id(idref)
            if item is not None and item.get_type() == ebooklib.ITEM_DOCUMENT:
                chapters.append(item.get_content())
        titles = book.get_metadata("DC", "title")
    except FileNotFoundError:
        raise  # deleted since the walk: the indexer reports it as gone
    except Exception as err:  # missing OPF, broken XML ...
        raise ParseError(f"not a readable EPUB file: {one_line(err)}") from None

    blocks: list[str] = []
    headings: list[Heading] = []
    line = 1  # where the next chapter starts
    for content in chapters:
        text = html_to_markdown(content, main_only=False)
        if not text:
            continue
        headings.extend(
            Heading(h.line + line - 1, h.level, h.title)
            for h in markdown_headings(text)
            if h.level <= _MAX_HEADING_LEVEL
        )
        blocks.append(text)
        line += text.count("\n") + 2  # the chapter plus one blank separator line
    if not blocks:
        raise UnsupportedFile("no text in EPUB file")
    title = str(titles[0][0]).strip() if titles and titles[0] and titles[0][0] else None
    return ParsedDocument(
        pages=(Page(text="\n\n".join(blocks), headings=tuple(headings)),),
        title=title or None,
        kind="epub",
    )
