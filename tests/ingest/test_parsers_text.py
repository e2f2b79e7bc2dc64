"""Text-like files: decoding, binary/empty detection, headings on the right lines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from docchat.errors import UnsupportedFile
from docchat.ingest.parsers import parse, parser_for
from docchat.ingest.parsers.text import decode, markdown_headings, parse_text, rst_headings
from docchat.types import Heading, ParsedDocument

Check = Callable[[ParsedDocument], None]

MARKDOWN = """\
---
title: front matter
---
# Guide

Intro text.

```python
# not a heading
x = 1
```

Setext Title
============

## Install ##

Some paragraph
---

- list item
---

Sub section
-----------
    # indented code, not a heading
"""


def test_markdown_headings_skip_fences_front_matter_and_rules() -> None:
    assert markdown_headings(MARKDOWN) == (
        Heading(4, 1, "Guide"),
        Heading(13, 1, "Setext Title"),
        Heading(16, 2, "Install"),
        Heading(18, 2, "Some paragraph"),
        Heading(24, 2, "Sub section"),
    )


def test_markdown_tilde_fence_and_longer_closing_fence() -> None:
    text = "~~~~\n# no\n~~~\n# still no\n~~~~~\n# yes\n"
    assert markdown_headings(text) == (Heading(6, 1, "yes"),)


RST = """\
=========
 Manual
=========

Intro paragraph.

Usage
=====

Details
-------

text
----

Not a title because
this is a paragraph
-------------------

Too long title
----

Back to level two
=================
"""


def test_rst_headings_levels_follow_first_use_of_each_adornment() -> None:
    assert rst_headings(RST) == (
        Heading(2, 1, "Manual"),
        Heading(7, 2, "Usage"),
        Heading(10, 3, "Details"),
        Heading(13, 3, "text"),
        Heading(23, 2, "Back to level two"),
    )


def test_markdown_file_parses_with_title_and_positions(
    tmp_path: Path, check_positions: Check
) -> None:
    path = tmp_path / "guide.md"
    path.write_text(MARKDOWN.replace("\n", "\r\n"), encoding="utf-8")
    doc = parse(path)
    check_positions(doc)
    assert doc.kind == "markdown"
    assert doc.title == "Guide"
    (page,) = doc.pages
    assert page.number is None
    assert page.headings[0] == Heading(4, 1, "Guide")


def test_rst_file(tmp_path: Path, check_positions: Check) -> None:
    path = tmp_path / "manual.rst"
    path.write_text(RST, encoding="utf-8")
    doc = parse(path)
    check_positions(doc)
    assert (doc.kind, doc.title) == ("rst", "Manual")


@pytest.mark.parametrize("name", ["main.py", "lib.rs", "Makefile", "Dockerfile", "conf.yaml"])
def test_source_code_is_text_without_headings(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("# a comment, not a heading\nvalue = 1\n", encoding="utf-8")
    doc = parse(path)
    assert doc.kind == "code"
    assert doc.pages[0].headings == ()
    assert doc.pages[0].text == "# a comment, not a heading\nvalue = 1\n"


def test_unknown_suffix_has_no_parser() -> None:
    assert parser_for(Path("photo.psd")) is None
    with pytest.raises(UnsupportedFile, match=r"unsupported file type '\.psd'"):
        parse(Path("photo.psd"))


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-16", "utf-8-sig", "utf-32"])
def test_encodings_round_trip(tmp_path: Path, encoding: str) -> None:
    text = "Café crème brûlée, naïve façade, garçon. " * 20 + "\nÀ bientôt, Zoë!\n"
    path = tmp_path / "notes.txt"
    path.write_bytes(text.encode(encoding))
    assert parse_text(path).pages[0].text == text


def test_newlines_are_normalised_and_nuls_dropped() -> None:
    assert decode(b"a\r\nb\rc\nd\x0ce") == "a\nb\nc\nd e"
    assert decode("one\u2028two".encode()) == "one\ntwo"


def test_binary_file_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(UnsupportedFile, match="binary"):
        parse(path)


def test_random_bytes_without_nul_are_binary() -> None:
    data = bytes((i * 7919 + 13) % 255 + 1 for i in range(4000))  # no NUL, not UTF-8
    with pytest.raises(UnsupportedFile, match="binary"):
        decode(data)


@pytest.mark.parametrize("content", [b"", b"  \n\t\r\n", "\ufeff".encode()])
def test_empty_file_is_unsupported(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.md"
    path.write_bytes(content)
    with pytest.raises(UnsupportedFile, match="empty"):
        parse(path)
