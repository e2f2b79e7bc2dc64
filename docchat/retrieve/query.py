"""Query syntax: `in:<glob>` (paths), `page:10-20` (pages), `"exact phrase"` (required); the
rest is the free-text query that both retrievers rank by.

Parsing never fails on odd input: an unclosed quote quotes to the end, a malformed `page:`
stays part of the text. Pure functions, no store access.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

# One token: a quoted phrase, a filter with a (possibly quoted) value, or a bare word.
_TOKEN = re.compile(
    r'"(?P<phrase>[^"]*)"?'
    r'|(?P<key>in|page):(?:"(?P<qval>[^"]*)"?|(?P<val>\S+))'
    r"|(?P<word>\S+)",
    re.IGNORECASE,
)
_PAGES = re.compile(r"^(\d+)?(?:(-)(\d+)?)?$")


@dataclass(frozen=True)
class ParsedQuery:
    text: str
    paths: tuple[str, ...] = ()
    pages: tuple[int | None, int | None] | None = None  # inclusive; None = open end
    phrases: tuple[str, ...] = field(default_factory=tuple)

    @property
    def filtered(self) -> bool:
        return bool(self.paths or self.pages or self.phrases)

    @property
    def ranking_text(self) -> str:
        """What the retrievers rank by: the free text, else the phrases themselves."""
        return self.text or " ".join(self.phrases)


def parse_query(raw: str) -> ParsedQuery:
    words: list[str] = []
    paths: list[str] = []
    phrases: list[str] = []
    pages: tuple[int | None, int | None] | None = None
    for m in _TOKEN.finditer(raw):
        if m.group("phrase") is not None:
            phrase = " ".join(m.group("phrase").split())
            if phrase:
                phrases.append(phrase)
        elif m.group("key"):
            value = m.group("qval") if m.group("qval") is not None else m.group("val")
            if m.group("key").lower() == "in":
                if value:
                    paths.append(value)
                continue
            span = _page_range(value or "")
            if span is None:
                words.append(m.group(0))  # not a page range after all: keep it as text
            else:
                pages = span
        else:
            words.append(m.group("word"))
    return ParsedQuery(" ".join(words), tuple(paths), pages, tuple(phrases))


def _page_range(value: str) -> tuple[int | None, int | None] | None:
    m = _PAGES.match(value)
    if not m or not (m.group(1) or m.group(3)):
        return None
    low = int(m.group(1)) if m.group(1) else None
    high = int(m.group(3)) if m.group(3) else None
    if not m.group(2):  # page:7 is one page
        high = low
    if low is not None and high is not None and low > high:
        low, high = high, low
    return low, high


def path_matches(path: str, pattern: str) -> bool:
    """`in:` semantics: a glob against the whole path, its tail, or a folder name in it.

    `in:*.pdf`, `in:notes/*.md`, `in:notes` (anything under a folder called notes) and a full
    absolute glob all do what one would expect; matching is case-sensitive like the paths.
    """
    path = path.replace("\\", "/")
    pat = pattern.replace("\\", "/").rstrip("/")
    if not pat:
        return False
    if fnmatchcase(path, pat) or fnmatchcase(path, f"*/{pat}"):
        return True
    return fnmatchcase(path, f"{pat}/*") or fnmatchcase(path, f"*/{pat}/*")
