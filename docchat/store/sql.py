"""SQLite helpers the store's modules share."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
MAX_VARIABLES = 900  # below SQLite's default limit of 999 bound parameters per statement


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception (incl. KeyboardInterrupt)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def batches(values: Sequence[T], size: int = MAX_VARIABLES) -> Iterator[list[T]]:
    """`values` in slices small enough for one `IN (?, ?, ...)` list."""
    for i in range(0, len(values), size):
        yield list(values[i : i + size])


def marks(values: Sequence[object]) -> str:
    """`?,?,?` for an IN list of these values."""
    return ",".join("?" * len(values))
