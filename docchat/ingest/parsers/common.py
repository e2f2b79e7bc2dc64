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


# A zip member unpacked into memory past these is a zip bomb or not a document anyone reads:
# a 0.5 MB DOCX that unpacks to 500 MB cost 1.6 GB of memory before these checks.
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_RATIO = 100  # ordinary DOCX/EPUB XML packs 5-20x; images barely at all
RATIO_CHECKED_ABOVE = 16 * 1024 * 1024  # small archives may pack as tightly as they like


def check_archive(path: Path, kind: str, required: str, what: str) -> None:
    """Raise ParseError unless `path` is a zip holding `required` (the member that makes it
    a document of its `kind`) whose contents can be unpacked safely.

    Only the zip's directory is read (the declared sizes of its entries), never the entries
    themselves, so the check costs the same for a bomb as for a letter.
    """
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except FileNotFoundError:
        raise
    except OSError as err:
        raise ParseError(f"cannot read file: {err.strerror or err}") from None
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise ParseError(f"not a valid {kind} file (not a readable zip archive)") from None
    if required not in {i.filename for i in infos}:
        raise ParseError(f"not a valid {kind} file (a zip without {what})")
    unpacked = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    ratio = unpacked / packed
    if unpacked > MAX_UNPACKED_BYTES or (unpacked > RATIO_CHECKED_ABOVE and ratio > MAX_RATIO):
        raise ParseError(
            f"compressed content too large: {_mb(unpacked)} unpacked from {_mb(packed)} "
            f"({ratio:.0f}x); not read (zip bomb?)"
        )


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
