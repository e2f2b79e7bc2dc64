"""File suffixes and names -> parsers. Built-ins register here exactly as a plugin would."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from docchat.types import ParsedDocument

ParserFn = Callable[[Path], ParsedDocument]

_BY_SUFFIX: dict[str, ParserFn] = {}
_BY_NAME: dict[str, ParserFn] = {}  # exact file names, e.g. "Makefile", "Dockerfile"


def register(fn: ParserFn, *, suffixes: tuple[str, ...] = (), names: tuple[str, ...] = ()) -> None:
    """Make `fn` the parser for files ending in any of `suffixes` (lower case, with dot)."""
    for s in suffixes:
        _BY_SUFFIX[s.lower()] = fn
    for n in names:
        _BY_NAME[n] = fn


def registered(path: Path) -> ParserFn | None:
    """The parser registered for `path`'s name or suffix, if any."""
    return _BY_NAME.get(path.name) or _BY_SUFFIX.get(path.suffix.lower())
