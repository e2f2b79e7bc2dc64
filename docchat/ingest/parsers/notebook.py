"""Jupyter notebooks: markdown cells as they are, code cells fenced, short text outputs kept.

Short printed results ("accuracy: 0.93") are often the very thing a user searches for, so
they stay; images, HTML reprs, long dumps and tracebacks are left out as noise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from docchat.errors import ParseError, UnsupportedFile, missing
from docchat.ingest.parsers.common import normalize_newlines, one_line, read_bytes
from docchat.ingest.parsers.text import decode, markdown_headings, title_from
from docchat.types import Heading, Page, ParsedDocument

NOTEBOOK_SUFFIXES = (".ipynb",)

_MAX_OUTPUT_CHARS = 2000
_MAX_OUTPUT_LINES = 20
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_BACKTICKS = re.compile(r"`{3,}")


def parse_notebook(path: Path) -> ParsedDocument:
    """Parse an .ipynb file (any nbformat version) into one page of Markdown."""
    try:
        import nbformat
        from nbformat.reader import reads
    except ImportError:
        raise missing("nbformat", "reading Jupyter notebooks") from None
    source = decode(read_bytes(path))
    try:
        # Skips nbformat's schema validation: slow, and it logs errors for notebooks that
        # are perfectly readable.
        nb = nbformat.convert(reads(source), 4)
        cells = list(nb.get("cells", []))
        metadata = nb.get("metadata", {})
    except Exception as err:  # bad JSON or an unknown notebook version
        raise ParseError(f"not a readable notebook: {one_line(err)}") from None

    language = _language(metadata)
    blocks: list[str] = []
    headings: list[Heading] = []
    line = 1  # where the next block starts
    for cell in cells:
        block, is_markdown = _cell_text(cell, language)
        if not block:
            continue
        if is_markdown:
            shifted = (
                Heading(h.line + line - 1, h.level, h.title) for h in markdown_headings(block)
            )
            headings.extend(shifted)
        blocks.append(block)
        line += block.count("\n") + 2  # the block plus one blank separator line
    text = "\n\n".join(blocks)
    if not text.strip():
        raise UnsupportedFile("empty notebook")
    title = str(metadata.get("title") or "").strip() or title_from(tuple(headings))
    page = Page(text=text, headings=tuple(headings))
    return ParsedDocument(pages=(page,), title=title, kind="notebook")


def _language(metadata: Mapping[str, Any]) -> str:
    for key in ("language_info", "kernelspec"):
        info = metadata.get(key) or {}
        name = info.get("name") if key == "language_info" else info.get("language")
        if isinstance(name, str) and name.isidentifier():
            return name
    return ""


def _joined(value: Any) -> str:
    """nbformat allows multi-line strings as a list of lines."""
    text = "".join(value) if isinstance(value, list) else str(value or "")
    return normalize_newlines(text).strip("\n")


def _cell_text(cell: Mapping[str, Any], language: str) -> tuple[str, bool]:
    kind = cell.get("cell_type")
    source = _joined(cell.get("source"))
    if kind == "markdown" or kind == "raw":
        return source.strip(), kind == "markdown"
    if kind != "code" or not source.strip():
        return "", False
    parts = [_fenced(source, language)]
    parts.extend(_fenced(out, "text") for out in _short_outputs(cell.get("outputs") or []))
    return "\n".join(parts), False


def _fenced(text: str, language: str) -> str:
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=2)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def _short_outputs(outputs: list[Any]) -> list[str]:
    found = []
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            text = _joined(out.get("text"))
        elif kind in ("execute_result", "display_data"):
            text = _joined((out.get("data") or {}).get("text/plain"))
        else:  # errors: tracebacks are long and say nothing about the notebook's subject
            continue
        text = _ANSI.sub("", text).strip("\n")
        short = len(text) <= _MAX_OUTPUT_CHARS and text.count("\n") < _MAX_OUTPUT_LINES
        if text.strip() and short:
            found.append(text)
    return found
