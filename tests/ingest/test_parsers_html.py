"""HTML: main text only (no scripts, styles, menus, footers), headings as Markdown."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from docchat.errors import UnsupportedFile
from docchat.ingest.parsers import parse
from docchat.ingest.parsers.html import html_to_markdown
from docchat.types import ParsedDocument

Check = Callable[[ParsedDocument], None]

ARTICLE = " ".join(
    f"Sentence {i} explains how the tide tables are computed from harmonic constituents."
    for i in range(12)
)
PAGE = f"""<!DOCTYPE html>
<html><head><title>Tide Tables Explained</title>
<style>body {{ color: red; }} .secret-style {{}}</style>
<script>var trackingSecret = "do-not-index";</script></head>
<body>
<nav><a href="/">Home</a> <a href="/shop">ShopMenuLink</a></nav>
<header>SiteBannerText</header>
<article>
<h1>Tide Tables Explained</h1>
<p>{ARTICLE}</p>
<h2>Harmonic analysis</h2>
<p>{ARTICLE}</p>
<table><tr><th>Port</th><th>Range</th></tr><tr><td>Brest</td><td>7.2 m</td></tr></table>
</article>
<footer>CopyrightFooterText 2024</footer>
<script>console.log("trailingScript")</script>
</body></html>"""

NOISE = ["trackingSecret", "secret-style", "ShopMenuLink", "SiteBannerText", "CopyrightFooterText",
         "trailingScript", "color: red"]  # fmt: skip


def test_main_text_without_chrome(tmp_path: Path, check_positions: Check) -> None:
    path = tmp_path / "tides.html"
    path.write_text(PAGE, encoding="utf-8")
    doc = parse(path)
    check_positions(doc)
    text = doc.pages[0].text
    assert doc.kind == "html" and doc.title == "Tide Tables Explained"
    assert "harmonic constituents" in text and "Brest" in text
    for noise in NOISE:
        assert noise not in text
    assert [(h.level, h.title) for h in doc.pages[0].headings] == [
        (1, "Tide Tables Explained"),
        (2, "Harmonic analysis"),
    ]


def test_tiny_page_falls_back_to_visible_text(tmp_path: Path) -> None:
    path = tmp_path / "tiny.htm"
    path.write_bytes(b"<html><body><script>hidden()</script><p>Just one line.</p></body></html>")
    text = parse(path).pages[0].text
    assert "Just one line." in text and "hidden" not in text


def test_full_text_mode_keeps_lists_and_marks_headings() -> None:
    chapter = (
        b"<html><body><h2>Part A</h2><p>Para.</p><ul><li>one</li><li>two</li></ul></body></html>"
    )
    assert html_to_markdown(chapter, main_only=False) == "## Part A\n\nPara.\n\n- one\n- two"


@pytest.mark.parametrize("content", [b"", b"<html><body><script>x()</script></body></html>"])
def test_page_without_text_is_unsupported(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "blank.html"
    path.write_bytes(content)
    with pytest.raises(UnsupportedFile):
        parse(path)


def test_sample_pages(html_samples: Path, check_positions: Check) -> None:
    paths = sorted(html_samples.glob("*.html"))
    assert len(paths) >= 5
    for path in paths:
        check_positions(parse(path))
    mozilla = parse(html_samples / "mozilla.org.firefox.developer.html")
    text = mozilla.pages[0].text
    assert "Firefox Developer Edition" in text
    assert "_gaq" not in text  # inline analytics script
    assert "Partner with Us" not in text  # footer / nav links
    utf8 = parse(html_samples / "utf8.html").pages[0].text
    assert "ᚻᛖ ᚳᚹᚫᚦ ᚦᚫᛏ" in utf8  # runes survive encoding detection


MANUAL_PAGE = f"""<html><head><title>13.5. Serialization Failure Handling</title></head><body>
<div class="navheader"><table><tr><td><a href="prev.html">Prev</a></td></tr></table></div>
<div class="sect1"><div class="titlepage"><div><div>
<h2 class="title">13.5. Serialization Failure Handling</h2></div></div></div>
<p>{ARTICLE}</p>
<div class="note"><h3 class="title">Note</h3><p>Retry the whole transaction.</p></div>
<p>{ARTICLE}</p></div></body></html>"""


def test_a_manual_page_keeps_its_title_as_the_top_heading(tmp_path: Path) -> None:
    # Generated manuals (DocBook: PostgreSQL's) keep the title in a "titlepage" block that
    # the article search may drop, and their first in-page heading is a "Note" box.
    path = tmp_path / "mvcc-serialization-failure-handling.html"
    path.write_text(MANUAL_PAGE, encoding="utf-8")
    doc = parse(path)
    assert doc.title == "13.5. Serialization Failure Handling"
    page = doc.pages[0]
    assert page.headings[0].title == doc.title and page.headings[0].line == 1
    assert doc.title in page.text.split("\n")[0]


def test_a_title_missing_from_the_text_is_put_back_on_top(tmp_path: Path) -> None:
    path = tmp_path / "routine-vacuuming.html"
    page = f"<html><head><title>25.1. Routine Vacuuming</title></head><body><p>{ARTICLE}</p>"
    path.write_text(page + "<h2>Vacuuming Basics</h2><p>{ARTICLE}</p></body></html>")
    text = parse(path).pages[0].text
    assert text.startswith("# 25.1. Routine Vacuuming\n\nSentence 0")
    assert [(h.level, h.title) for h in parse(path).pages[0].headings] == [
        (1, "25.1. Routine Vacuuming"),
        (2, "Vacuuming Basics"),
    ]


def test_docbook_section_titles_are_headings(tmp_path: Path) -> None:
    # DocBook wraps each section title in <div class="titlepage">, which the article search
    # drops with its heading; a question that is a section title must still find it.
    def section(level: int, title: str) -> str:
        return (
            f'<div class="sect{level - 1}"><div class="titlepage"><div><div>'
            f'<h{level} class="title">{title}</h{level}></div></div></div><p>{ARTICLE}</p></div>'
        )

    body = section(2, "25.1. Routine Vacuuming") + section(3, "25.1.5. Preventing Wraparound")
    path = tmp_path / "routine-vacuuming.html"
    path.write_text(f"<html><head><title>25.1. Routine Vacuuming</title></head><body>{body}")
    doc = parse(path)
    assert [(h.level, h.title) for h in doc.pages[0].headings] == [
        (2, "25.1. Routine Vacuuming"),
        (3, "25.1.5. Preventing Wraparound"),
    ]
    assert "\\#" not in doc.pages[0].text


# The head of an AsciiDoc man page (Git's git-clean.html): the NAME section sits in
# <div id="header">, which the article search drops as a page header.
ASCIIDOC_MAN_PAGE = f"""<html><head><title>git-clean(1)</title></head><body>
<div id="header">
<h1>
git-clean(1) Manual Page
</h1>
<h2>NAME</h2>
<div class="sectionbody">
<p>git-clean -
   Remove untracked files from the working tree
</p>
</div>
</div>
<div id="content">
<div class="sect1">
<h2 id="_synopsis">SYNOPSIS</h2>
<div class="sectionbody"><p>git clean [-d] [-f] [-i] [-n] [-q] [-e &lt;pattern&gt;]</p></div>
</div>
<div class="sect1">
<h2 id="_description">DESCRIPTION</h2>
<div class="sectionbody"><p>{ARTICLE}</p></div>
</div>
</div></body></html>"""


def test_a_man_page_keeps_its_name_line(tmp_path: Path) -> None:
    # The NAME line is what says what a command is for: "delete untracked files" must find
    # git-clean(1) by it.
    path = tmp_path / "git-clean.html"
    path.write_text(ASCIIDOC_MAN_PAGE, encoding="utf-8")
    page = parse(path).pages[0]
    lines = [line for line in page.text.split("\n") if line]
    assert lines[:3] == [
        "# git-clean(1)",
        "## NAME",
        "git-clean - Remove untracked files from the working tree",
    ]
    assert [h.title for h in page.headings][:3] == ["git-clean(1)", "NAME", "SYNOPSIS"]


def test_the_name_line_is_not_added_twice_or_to_other_pages(tmp_path: Path) -> None:
    from docchat.ingest.parsers.html import manpage_name

    name = "git-clean - Remove untracked files from the working tree"
    assert manpage_name(ASCIIDOC_MAN_PAGE) == name
    kept = ASCIIDOC_MAN_PAGE.replace("<p>git clean [-d]", f"<p>{name}.</p><p>git clean [-d]")
    path = tmp_path / "git-clean.html"
    path.write_text(kept, encoding="utf-8")
    assert parse(path).pages[0].text.count(name) == 1  # the page's text has it already
    assert manpage_name(MANUAL_PAGE) is None  # DocBook: no AsciiDoc header
    assert manpage_name(f"<html><body><h2>NAME</h2><p>{ARTICLE}</p></body></html>") is None
