"""HTML pages: the main text only, as Markdown so headings survive.

Saved web pages are mostly navigation, scripts and footers; indexing those would make every
page match every menu word. trafilatura finds the article; when it finds nothing (tiny or
unusual pages) a plain lxml pass keeps the visible text instead of losing the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from docchat.errors import UnsupportedFile, missing
from docchat.ingest.parsers.common import normalize_newlines, read_bytes
from docchat.ingest.parsers.text import markdown_headings, title_from
from docchat.types import Page, ParsedDocument

if TYPE_CHECKING:
    from lxml.html import HtmlElement

HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml")

# Never text a reader came for: code, styling, menus (an e-book's <nav> is its table of
# contents) and, for web pages, the site's other chrome.
_HIDDEN_TAGS = ("script", "style", "noscript", "template", "svg", "head", "nav")
_CHROME_TAGS = ("header", "footer", "aside")
# Blocks that end a paragraph get a blank line (chunkers split there); list items, table rows
# and line breaks only a newline; table cells a column separator.
_PARAGRAPH_TAGS = frozenset((
    "address", "article", "blockquote", "div", "dl", "figcaption", "figure", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "main", "ol", "p", "pre", "section", "table", "ul",
))  # fmt: skip
_LINE_TAGS = frozenset(["br", "dd", "dt", "li", "tr"])
_HEADING_LEVELS = {f"h{n}": n for n in range(1, 7)}
_SPACES = re.compile(r"[ \t\xa0]+")
_WHITESPACE = re.compile(r"\s+")
_BLANK_RUNS = re.compile(r"\n{3,}")
# What lxml refuses in a string ("All strings must be XML compatible"): control characters,
# lone surrogates and the two non-characters. Garbage pages are full of them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Past this size a page is an export or generated documentation, all of it content, and
# trafilatura's article search costs seconds per megabyte: the plain pass keeps everything.
ARTICLE_SEARCH_MAX_BYTES = 4 * 1024 * 1024
# The title lives in <head>; metadata extraction over a 20 MB page took longer than the text.
_TITLE_SEARCH_BYTES = 256 * 1024


def html_to_markdown(data: bytes | str, *, main_only: bool = True) -> str:
    """The text of an HTML document as Markdown with "\\n" newlines ('' when none).

    With `main_only`, trafilatura keeps the article and drops menus, ads and footers. Without
    it (e-book chapters, which are all content) every visible block is kept, because the
    article heuristics also drop short lists and captions.
    """
    if not main_only:
        return _visible_text(data, drop_chrome=False)
    if len(data) > ARTICLE_SEARCH_MAX_BYTES:
        return _visible_text(data, drop_chrome=True)
    try:
        import trafilatura
    except ImportError:
        raise missing("trafilatura", "reading HTML files") from None
    try:
        text = trafilatura.extract(
            _docbook_headings(data),
            output_format="markdown",
            include_tables=True,
            include_comments=False,
            include_images=False,
            include_links=False,
            favor_recall=True,
        )
    except Exception:  # a page trafilatura chokes on falls back, it does not stop indexing
        text = None
    if text and text.strip():
        text = _ESCAPED_HEADING.sub(r"\1 ", text)
        lines = (line.rstrip() for line in normalize_newlines(text).split("\n"))
        return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")
    return _visible_text(data, drop_chrome=True)


# DocBook output (PostgreSQL's manual and many others) wraps every section title in
# <div class="titlepage"><div><div><hN class="title">; the article search drops those
# headings, so they are handed to it as paragraphs that start with a Markdown marker (which
# it escapes: `\##`) and turned back into headings after.
_DOCBOOK_TITLE = re.compile(
    rb'<div class="titlepage">(?:\s*<div>)*\s*<h([1-6])[^>]*>(.*?)</h[1-6]>(?:\s*</div>)*',
    re.DOTALL,
)
_ESCAPED_HEADING = re.compile(r"^\\(#{1,6}) ", re.MULTILINE)


def _docbook_headings(data: bytes | str) -> bytes | str:
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    if b'class="titlepage"' not in raw:
        return data
    return _DOCBOOK_TITLE.sub(
        lambda m: b"<p>" + b"#" * int(m.group(1)) + b" " + m.group(2) + b"</p>", raw
    )


def _visible_text(data: bytes | str, *, drop_chrome: bool) -> str:
    """Every visible block of the page, headings marked with `#` as in Markdown."""
    from lxml import etree, html

    try:
        root: HtmlElement = html.document_fromstring(data)
        text = _tree_text(root, drop_chrome)
    except (etree.LxmlError, ValueError):
        text = ""
    if text:
        return text
    # libxml2 stops at 256 nested elements, so a page of 100,000 nested <div>s has an empty
    # tree although its text is there; a streaming pass has no depth to run out of.
    return _streamed_text(data, drop_chrome)


def _tree_text(root: HtmlElement, drop_chrome: bool) -> str:
    dropped = _HIDDEN_TAGS + (_CHROME_TAGS if drop_chrome else ())
    for bad in root.xpath(" | ".join(f"//{tag}" for tag in dropped)):
        bad.drop_tree()
    for el in root.iter():
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        # Source line breaks are just spaces in HTML (except in <pre>): only blocks break lines.
        in_pre = next(el.iterancestors("pre"), None) is not None
        if el.text:
            text = _NOT_XML.sub("", el.text)
            el.text = _WHITESPACE.sub(" ", text) if not in_pre and tag != "pre" else text
        if el.tail:
            tail = _NOT_XML.sub("", el.tail)
            el.tail = _WHITESPACE.sub(" ", tail) if not in_pre else tail
        if tag in _PARAGRAPH_TAGS:
            marker = "#" * _HEADING_LEVELS[tag] + " " if tag in _HEADING_LEVELS else ""
            el.text = "\n\n" + marker + (el.text or "")
            el.tail = "\n\n" + (el.tail or "")
        elif tag == "br":
            el.tail = "\n" + (el.tail or "")
        elif tag in _LINE_TAGS:
            el.text = ("\n- " if tag == "li" else "\n") + (el.text or "")
        elif tag in ("td", "th"):
            el.tail = " | " + (el.tail or "")
    text = normalize_newlines(str(root.text_content()))
    lines = (_SPACES.sub(" ", line).strip().removesuffix(" |") for line in text.split("\n"))
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")


def _streamed_text(data: bytes | str, drop_chrome: bool) -> str:
    """The visible text by a streaming parse (html.parser keeps no tree): blocks end lines."""
    from html.parser import HTMLParser

    hidden = frozenset(_HIDDEN_TAGS + (_CHROME_TAGS if drop_chrome else ()))
    parts: list[str] = []
    skipping: list[str] = []  # open hidden elements; their text is left out

    class _Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in hidden:
                skipping.append(tag)
            elif tag in _PARAGRAPH_TAGS:
                marker = "#" * _HEADING_LEVELS[tag] + " " if tag in _HEADING_LEVELS else ""
                parts.append("\n\n" + marker)
            elif tag in _LINE_TAGS:
                parts.append("\n- " if tag == "li" else "\n")
            elif tag in ("td", "th"):
                parts.append(" | ")

        def handle_endtag(self, tag: str) -> None:
            if skipping and tag == skipping[-1]:
                skipping.pop()
            elif tag in _PARAGRAPH_TAGS:
                parts.append("\n\n")

        def handle_data(self, data: str) -> None:
            if not skipping:
                parts.append(_WHITESPACE.sub(" ", data))

    text = data if isinstance(data, str) else data.decode("utf-8", errors="replace")
    collector = _Collector(convert_charrefs=True)
    try:
        collector.feed(text)
        collector.close()
    except Exception:  # html.parser is lenient; whatever it still raises costs only this pass
        return ""
    joined = normalize_newlines(_NOT_XML.sub("", "".join(parts)))
    lines = (_SPACES.sub(" ", line).strip().strip("|").strip() for line in joined.split("\n"))
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")


# AsciiDoc's man-page output (Git's manual and many other tools') puts the NAME section —
# "git-clean - Remove untracked files from the working tree", the one line that says what
# the command is for — inside <div id="header">, which the article search drops as a page
# header. It is put back as the page's first section.
_MANPAGE_NAME = re.compile(
    rb'<div id="header">.{0,2000}?<h2[^>]*>\s*NAME\s*</h2>\s*<div class="sectionbody">\s*'
    rb"<p>(.{1,2000}?)</p>",
    re.DOTALL,
)
_TAG = re.compile(r"<[^>]+>")


def manpage_name(data: bytes | str) -> str | None:
    """The NAME line of an AsciiDoc man page ("git-clean - Remove untracked files ..."), or
    None for any other page."""
    head = data[:_TITLE_SEARCH_BYTES]
    raw = head.encode("utf-8", "replace") if isinstance(head, str) else head
    if b'<div id="header">' not in raw or (m := _MANPAGE_NAME.search(raw)) is None:
        return None
    from html import unescape

    text = unescape(_TAG.sub("", _NOT_XML.sub("", m.group(1).decode("utf-8", "replace"))))
    return _WHITESPACE.sub(" ", text).strip() or None


_TITLE_TAG = re.compile(rb"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)


def html_title(data: bytes | str) -> str | None:
    """The page title from <title>, else from OpenGraph/Dublin Core metadata.

    <title> first: trafilatura's metadata search prefers a heading inside the page, which
    in generated manuals is often a "Note" or "Warning" box rather than the page's title.
    """
    head = data[:_TITLE_SEARCH_BYTES]
    m = _TITLE_TAG.search(head.encode("utf-8", "replace") if isinstance(head, str) else head)
    if m:
        from html import unescape

        raw = m.group(1).decode("utf-8", "replace")
        own = _WHITESPACE.sub(" ", unescape(_NOT_XML.sub("", raw))).strip()
        if own:
            return own
    import trafilatura

    try:
        meta = trafilatura.extract_metadata(data[:_TITLE_SEARCH_BYTES])
    except Exception:  # a missing title is no reason to fail the file
        return None
    title = meta.title if meta is not None else None
    return title.strip() if title and title.strip() else None


def parse_html(path: Path) -> ParsedDocument:
    """Parse one HTML file into a single page of Markdown."""
    data = read_bytes(path)
    if not data.strip():
        raise UnsupportedFile("empty file")
    text = html_to_markdown(data)
    if not text:
        raise UnsupportedFile("no text in HTML file")
    name = manpage_name(data)
    if name and name not in _WHITESPACE.sub(" ", text):
        text = f"## NAME\n\n{name}\n\n{text}"
    headings = markdown_headings(text)
    title = html_title(data)
    if title and not _starts_with(text, title):
        # The article search often drops the page's own title (generated manuals keep it in
        # a "titlepage" block): put it back as the top heading, so every chunk of the page
        # carries it in its heading path (searched as the heading field, shown with hits).
        text = f"# {title}\n\n{text}"
        headings = markdown_headings(text)
    title = title or title_from(headings)
    return ParsedDocument(pages=(Page(text=text, headings=headings),), title=title, kind="html")


def _starts_with(text: str, title: str) -> bool:
    """Whether the text opens with the title (as a heading or a line of its own)."""
    first = next((line for line in text.split("\n") if line.strip()), "")
    return _WHITESPACE.sub(" ", first.lstrip("#").strip()).casefold() == title.casefold()
