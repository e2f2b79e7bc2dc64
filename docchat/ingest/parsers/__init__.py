"""Parsers by file type.

A parser is a function `(path: Path) -> ParsedDocument`. It raises `UnsupportedFile` for a
file it should skip (binary, unknown type, empty) and `ParseError` for a file that is broken
(the message names what is wrong, e.g. "encrypted PDF, no password"). The registry maps file
suffixes to parsers (registry.py); built-in parsers register themselves the same way a plugin
would, with `register(...)` (builtin.py, imported on first use).

Contract every parser keeps: line numbers are 1-based positions in `Page.text` as returned
(so the chunker's recorded spans map back to the text), and PDF pages carry their 1-based
physical page number.
"""

from __future__ import annotations

from pathlib import Path

from docchat.errors import ParseError, UnsupportedFile
from docchat.ingest.parsers.registry import ParserFn, register, registered
from docchat.types import ParsedDocument

__all__ = ["ParserFn", "parse", "parser_for", "register"]


def parser_for(path: Path) -> ParserFn | None:
    """The parser for `path`, or None when docchat does not read that kind of file."""
    from docchat.ingest.parsers import builtin  # noqa: F401  (registers them, once)

    return registered(path)


def parse(path: Path) -> ParsedDocument:
    """Parse one file; raises UnsupportedFile or ParseError (see module doc)."""
    fn = parser_for(path)
    if fn is None:
        raise UnsupportedFile(f"unsupported file type '{path.suffix or path.name}'")
    # Every kind alike: an empty .docx or .pdf is no more broken than an empty .txt.
    try:
        empty = path.stat().st_size == 0
    except FileNotFoundError:
        raise
    except OSError as err:
        raise ParseError(f"cannot read file: {err.strerror or err}") from None
    if empty:
        raise UnsupportedFile("empty file")
    return fn(path)
