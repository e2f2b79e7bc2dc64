"""Parsers by file type.

A parser is a function `(path: Path) -> ParsedDocument`. It raises `UnsupportedFile` for a
file it should skip (binary, unknown type, empty) and `ParseError` for a file that is broken
(the message names what is wrong, e.g. "encrypted PDF, no password"). The registry maps file
suffixes to parsers; built-in parsers register themselves the same way a plugin would, with
`register(...)`.

Contract every parser keeps: line numbers are 1-based positions in `Page.text` as returned
(so the chunker's recorded spans map back to the text), and PDF pages carry their 1-based
physical page number.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from docchat.errors import UnsupportedFile
from docchat.types import ParsedDocument

ParserFn = Callable[[Path], ParsedDocument]

_BY_SUFFIX: dict[str, ParserFn] = {}
_BY_NAME: dict[str, ParserFn] = {}  # exact file names, e.g. "Makefile", "Dockerfile"
_LOADED = False


def register(fn: ParserFn, *, suffixes: tuple[str, ...] = (), names: tuple[str, ...] = ()) -> None:
    """Make `fn` the parser for files ending in any of `suffixes` (lower case, with dot)."""
    for s in suffixes:
        _BY_SUFFIX[s.lower()] = fn
    for n in names:
        _BY_NAME[n] = fn


def _load_builtins() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    from docchat.ingest.parsers import builtin  # noqa: F401  (registers on import)


def parser_for(path: Path) -> ParserFn | None:
    """The parser for `path`, or None when docchat does not read that kind of file."""
    _load_builtins()
    return _BY_NAME.get(path.name) or _BY_SUFFIX.get(path.suffix.lower())


def parse(path: Path) -> ParsedDocument:
    """Parse one file; raises UnsupportedFile or ParseError (see module doc)."""
    fn = parser_for(path)
    if fn is None:
        raise UnsupportedFile(f"unsupported file type '{path.suffix or path.name}'")
    return fn(path)
