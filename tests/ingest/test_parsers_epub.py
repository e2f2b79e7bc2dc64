"""EPUB: chapters in spine order, headings from the chapters, broken books as ParseError."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from docchat.errors import ParseError
from docchat.ingest.parsers import parse
from docchat.types import ParsedDocument

Check = Callable[[ParsedDocument], None]


def make_epub(path: Path) -> Path:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("docchat-test-book")
    book.set_title("The Sea Voyage")
    book.set_language("en")
    chapters = []
    for number, (title, body) in enumerate(
        [
            ("Departure", "<p>The ship left at dawn.</p><ul><li>rope</li><li>sail</li></ul>"),
            ("Storm", "<p>The wind rose.</p><h2>Aftermath</h2><p>All hands were safe.</p>"),
        ],
        start=1,
    ):
        chapter = epub.EpubHtml(title=title, file_name=f"chap_{number}.xhtml", lang="en")
        chapter.content = f"<html><body><h1>{title}</h1>{body}</body></html>"
        book.add_item(chapter)
        chapters.append(chapter)
    book.toc = tuple(chapters)
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    # Spine order differs from file order on purpose: reading order must win.
    book.spine = ["nav", chapters[1], chapters[0]]
    epub.write_epub(str(path), book)
    return path


def test_chapters_in_spine_order_with_headings(tmp_path: Path, check_positions: Check) -> None:
    doc = parse(make_epub(tmp_path / "voyage.epub"))
    check_positions(doc)
    (page,) = doc.pages
    assert doc.kind == "epub" and doc.title == "The Sea Voyage"
    assert page.text.index("The wind rose.") < page.text.index("The ship left at dawn.")
    assert "- rope\n- sail" in page.text  # short lists are kept, unlike web-page extraction
    assert [(h.level, h.title) for h in page.headings] == [
        (1, "Storm"),
        (2, "Aftermath"),
        (1, "Departure"),
    ]
    assert "\n\n# Departure" in page.text  # chapters are separated by a blank line


def test_broken_epub_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.epub"
    path.write_bytes(make_epub(tmp_path / "ok.epub").read_bytes()[:500])
    with pytest.raises(ParseError, match="not a valid EPUB file"):
        parse(path)
