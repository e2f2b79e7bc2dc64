"""Jupyter notebooks: markdown cells as they are, code cells fenced, short text outputs kept.

Short printed results ("accuracy: 0.93") are often the very thing a user searches for, so
they stay; images, HTML reprs, long dumps and tracebacks are left out as noise.
"""

from __future__ import annotations

import json
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
        raw = json.loads(source)
    except ValueError as err:
        raise ParseError(f"invalid notebook: not JSON ({one_line(err)})") from None
    if not isinstance(raw, dict):
        raise ParseError(f"invalid notebook: the top level is a JSON {_json_kind(raw)}")
    if not isinstance(raw.get("cells", raw.get("worksheets", [])), list):
        raise ParseError("invalid notebook: 'cells' is not a list")
    try:
        # Skips nbformat's schema validation: slow, and it logs errors for notebooks that
        # are perfectly readable. Version 4 (all current notebooks) needs no conversion, and
        # reading it directly lets one malformed output cost only itself.
        nb = raw if raw.get("nbformat") == 4 else nbformat.convert(reads(source), 4)
        cells = list(nb.get("cells", []))
        metadata = nb.get("metadata", {})
    except Exception as err:  # an unknown notebook version, a malformed structure
        raise ParseError(f"invalid notebook: {one_line(err)}") from None
    if not isinstance(metadata, Mapping):
        metadata = {}

    try:
        language = _language(metadata)
    except (AttributeError, TypeError):  # odd metadata only costs the code fence language
        language = ""
    blocks: list[str] = []
    headings: list[Heading] = []
    line = 1  # where the next block starts
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, Mapping):
            raise ParseError(f"invalid notebook: cell {number} is a JSON {_json_kind(cell)}")
        try:
            block, is_markdown = _cell_text(cell, language)
        except (AttributeError, TypeError, ValueError) as err:
            raise ParseError(f"invalid notebook: cell {number}: {one_line(err)}") from None
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


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "list, not an object"
    if isinstance(value, str):
        return "string, not an object"
    if value is None:
        return "null, not an object"
    return f"{type(value).__name__}, not an object"


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
    outputs = cell.get("outputs")
    if isinstance(outputs, list):
        parts.extend(_fenced(out, "text") for out in _short_outputs(outputs))
    return "\n".join(parts), False


def _fenced(text: str, language: str) -> str:
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=2)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def _short_outputs(outputs: list[Any]) -> list[str]:
    found = []
    for out in outputs:
        if not isinstance(out, Mapping):
            continue  # a malformed output only loses itself
        kind = out.get("output_type")
        if kind == "stream":
            text = _joined(out.get("text"))
        elif kind in ("execute_result", "display_data"):
            data = out.get("data")
            text = _joined(data.get("text/plain") if isinstance(data, Mapping) else None)
        else:  # errors: tracebacks are long and say nothing about the notebook's subject
            continue
        text = _ANSI.sub("", text).strip("\n")
        short = len(text) <= _MAX_OUTPUT_CHARS and text.count("\n") < _MAX_OUTPUT_LINES
        if text.strip() and short:
            found.append(text)
    return found
