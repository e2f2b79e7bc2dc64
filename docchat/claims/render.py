"""The answer as shown once its claims are checked (`answer.unsupported`):

- "mark": every claim cites the sources that support it (a wrong marker corrected, a missing
  one added) and an unsupported claim ends with UNSUPPORTED_MARK;
- "hide": the same, with unsupported claims left out;
- "keep": the model's text as written.

Text between claims (headings, code, list markers, lead-ins) is kept as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from docchat.generate.citations import markers
from docchat.types import Claim, Source

UNSUPPORTED_MARK = "[?]"
UNSUPPORTED_NOTE = "not found in your documents"
MODES = ("mark", "hide", "keep")
_TAIL = re.compile(r"[.!?;:,]+['\")\]’”]*$")
_EMPTY_ITEM = re.compile(r"^[ \t]*(?:[-*+•]|\d{1,3}[.)])[ \t]*$\n?", re.MULTILINE)

Emphasis = Callable[[str], str]


def without_markers(text: str) -> str:
    out, last = [], 0
    for start, end, _ in markers(text):
        out.append(text[last:start].rstrip(" \t"))
        last = end
    out.append(text[last:])
    return "".join(out)


def _with_marker(body: str, marker: str) -> str:
    """`marker` before the sentence's closing punctuation: "overfitting [2]."."""
    body = body.rstrip()
    tail = _TAIL.search(body)
    cut = tail.start() if tail else len(body)
    return f"{body[:cut].rstrip()} {marker}{body[cut:]}"


def cite(numbers: Sequence[int]) -> str:
    return "[" + ", ".join(str(n) for n in numbers) + "]"


def claim_text(claim: Claim, mode: str, emphasis: Emphasis | None = None) -> str | None:
    """One claim as shown; None when it is hidden."""
    if mode == "keep":
        return claim.text
    if not claim.supported:
        if mode == "hide":
            return None
        body = without_markers(claim.text)
        if emphasis is not None:
            body = _emphasised(body, emphasis)
        return _with_marker(body, UNSUPPORTED_MARK)
    if set(claim.marked) == set(claim.sources):
        return claim.text
    return _with_marker(without_markers(claim.text), cite(claim.sources))


def _emphasised(body: str, emphasis: Emphasis) -> str:
    tail = _TAIL.search(body.rstrip())
    cut = tail.start() if tail else len(body.rstrip())
    return emphasis(body[:cut]) + body[cut:]


def render(raw: str, claims: Sequence[Claim], mode: str, emphasis: Emphasis | None = None) -> str:
    """The raw answer with each claim replaced by how it is shown."""
    if mode == "keep" and emphasis is None:
        return raw
    out: list[str] = []
    last = 0
    for claim in sorted(claims, key=lambda c: c.start):
        out.append(raw[last : claim.start])
        shown = claim_text(claim, mode, emphasis)
        if shown is None:
            out[-1] = out[-1].rstrip(" \t")
        else:
            out.append(shown)
        last = claim.end
    out.append(raw[last:])
    text = "".join(out)
    if mode == "hide":
        text = _EMPTY_ITEM.sub("", text)
        text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def cited(claims: Sequence[Claim]) -> tuple[int, ...]:
    """The union of the supported claims' sources, in order of first use."""
    seen: dict[int, None] = {}
    for c in claims:
        if c.supported:
            seen.update(dict.fromkeys(c.sources))
    return tuple(seen)


def not_said(question: str, sources: Sequence[Source]) -> str:
    """What is said instead of an answer none of whose claims the sources support."""
    flat = " ".join(question.split())
    lines = [
        f"Your documents don't say: nothing in the answer to \u201c{flat}\u201d was found in "
        "the passages it was given."
    ]
    if sources:
        lines += ["", "The nearest passages:"]
        lines += [f"- [{s.n}] {Path(s.path).name}, {s.location}" for s in sources]
    return "\n".join(lines)
