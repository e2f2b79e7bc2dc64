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
