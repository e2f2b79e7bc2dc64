"""What the store needs from this Python's SQLite, asked without opening a collection."""

from __future__ import annotations

import sqlite3


def sqlite_support() -> tuple[str, bool]:
    """(SQLite version, whether it has FTS5): keyword search needs FTS5."""
    try:
        conn = sqlite3.connect(":memory:")
        try:
            conn.execute("CREATE VIRTUAL TABLE t USING fts5(x)")
        finally:
            conn.close()
    except sqlite3.Error:
        return sqlite3.sqlite_version, False
    return sqlite3.sqlite_version, True
