"""File paths as SQLite keeps them, faithfully.

A Linux file name is bytes; Python hands over a name that is not valid UTF-8 as a str with
lone surrogates (PEP 383, surrogateescape), which SQLite cannot take as TEXT. Such a path is
stored as the BLOB of its bytes and read back into the same str, so the file can be found,
compared and removed again; every other path stays ordinary TEXT. (SQLite never finds a
BLOB equal to a TEXT, so the two kinds of key cannot collide.)
"""

from __future__ import annotations

ENCODING = "utf-8"


def to_db(path: str) -> str | bytes:
    """The value to store (or look up) for `path`."""
    try:
        path.encode(ENCODING)
    except UnicodeEncodeError:
        return path.encode(ENCODING, "surrogateescape")
    return path


def from_db(value: str | bytes) -> str:
    """The path a stored value stands for (the same str `to_db` was given)."""
    if isinstance(value, bytes):
        return value.decode(ENCODING, "surrogateescape")
    return value
