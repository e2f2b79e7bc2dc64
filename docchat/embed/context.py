"""The text a chunk is embedded as: its document's title and heading path, then its text
("contextual chunk headers"). The stored and shown text, the spans and the keyword index keep
the chunk's own text; only the vector sees the header, so a passage deep in `git-rebase(1) >
OPTIONS` is embedded as being about git rebase even when it never names it.

Which format a collection's vectors were made with is recorded in its metadata
(`embed_text`): vectors of another format do not mean the same, so an index run brings an
older collection to this one first (only texts whose embedded form changed are embedded
again: a plain-text document without title or headings keeps its vectors).
"""

from __future__ import annotations

# Recorded as the collection's `embed_text`; a collection without the key is PLAIN.
PLAIN = "plain"
HEADERS = "headers-1"
MAX_PART_CHARS = 160  # a very long title or heading is cut: the chunk's text matters more
MAX_HEADER_CHARS = 300


def embed_format(headers: bool) -> str:
    """The format an index run embeds with (`index.context_headers`)."""
    return HEADERS if headers else PLAIN


def header(title: str | None, heading: str | None) -> str:
    """'Title > Heading > Subheading', the title left out when the heading path already
    starts with it (HTML pages put the title back as their top heading); '' for neither."""
    parts = [p.strip() for p in (heading or "").split(" > ") if p.strip()]
    top = " ".join((title or "").split())
    if top and not (parts and parts[0].casefold() == top.casefold()):
        parts.insert(0, top)
    parts = [p if len(p) <= MAX_PART_CHARS else p[: MAX_PART_CHARS - 1] + "…" for p in parts]
    text = " > ".join(parts)
    return text if len(text) <= MAX_HEADER_CHARS else text[: MAX_HEADER_CHARS - 1] + "…"


def embed_text(text: str, title: str | None, heading: str | None, fmt: str = HEADERS) -> str:
    """What is embedded for a chunk: the header, a blank line, the text (PLAIN: the text)."""
    if fmt == PLAIN:
        return text
    head = header(title, heading)
    return f"{head}\n\n{text}" if head else text
