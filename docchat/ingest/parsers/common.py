"""Small helpers every parser shares, so all of them keep the same text contract."""

from __future__ import annotations

from pathlib import Path

from docchat.errors import ParseError

# Characters `str.splitlines()` treats as line ends. Form feeds and vertical tabs are page
# decoration in source files (editors do not break lines there), so they become spaces; the
# Unicode separators really are line breaks.
_LINE_BREAKS = str.maketrans(
    {"\x00": None, "\x0b": " ", "\x0c": " ", "\x1c": " ", "\x1d": " ", "\x1e": " ",
     "\x85": "\n", "\u2028": "\n", "\u2029": "\n"}
)  # fmt: skip


def normalize_newlines(text: str) -> str:
    """Make "\\n" the only line end (and drop NULs), so line numbers mean one thing everywhere."""
    return text.replace("\r\n", "\n").replace("\r", "\n").translate(_LINE_BREAKS)


def read_bytes(path: Path) -> bytes:
    """A file's bytes; an unreadable file is a ParseError the indexer reports, not a crash."""
    try:
        return path.read_bytes()
    except OSError as err:
        raise ParseError(f"cannot read file: {err.strerror or err}") from None


def one_line(err: BaseException) -> str:
    """A library exception as a short single line for the index report."""
    lines = str(err).strip().splitlines()
    text = lines[0].strip() if lines else ""
    text = text or type(err).__name__
    return text if len(text) <= 160 else text[:157] + "..."
