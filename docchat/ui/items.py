"""What the results pane and the preview show: one passage, from a search Hit or an answer's
Source, with the query's words highlighted (presentation.highlight_terms picks them). Plain
Python and Rich, so tests and snapshots can build it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text

from docchat.types import Hit, Source, location


@dataclass(frozen=True)
class Passage:
    path: str
    page: int | None
    line_start: int
    line_end: int
    score: float
    text: str
    heading: str | None = None
    rank: int = 0  # search rank, or the source number [n] of an answer
    cited: bool = False

    @classmethod
    def from_hit(cls, hit: Hit) -> Passage:
        return cls(
            hit.path,
            hit.page,
            hit.line_start,
            hit.line_end,
            hit.score,
            hit.text,
            hit.heading,
            hit.rank,
        )

    @classmethod
    def from_source(cls, source: Source, cited: bool) -> Passage:
        return cls(
            source.path,
            source.page,
            source.line_start,
            source.line_end,
            source.score,
            source.text,
            source.heading,
            source.n,
            cited,
        )

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def location(self) -> str:
        return location(self.page, self.line_start, self.line_end)


# Converted HTML keeps Markdown's backslash escapes (`add\_subparsers`, `\>>> parser`) and
# Sphinx's permalink pilcrows in headings (`Sub-commands¶`): people read neither.
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>|~<])")
_PILCROW = re.compile(r"\s*¶")


def readable(text: str) -> str:
    """`text` as a person reads it: Markdown escapes undone, permalink marks dropped."""
    return _PILCROW.sub("", _ESCAPED.sub(r"\1", text))


def highlight(text: str | Text, terms: list[str], style: str = "bold reverse") -> Text:
    out = text.copy() if isinstance(text, Text) else Text(text)
    if terms:
        pattern = r"(?i)\b(" + "|".join(re.escape(t) for t in terms) + r")\w*"
        out.highlight_regex(pattern, style=style)
    return out


def snippet(text: str, terms: list[str], width: int = 220) -> str:
    """A one-paragraph window of `text` around the first query term."""
    flat = " ".join(readable(text).split())
    if len(flat) <= width:
        return flat
    lower = flat.lower()
    found = [i for i in (lower.find(t) for t in terms) if i >= 0]
    start = max(0, min(found) - width // 4) if found else 0
    start = flat.rfind(" ", 0, start) + 1 if start else 0
    piece = flat[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")
