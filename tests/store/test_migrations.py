"""The numbered schema migrations: applied statement by statement in one transaction each,
never twice when a second process got there first, and never half."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from docchat.errors import StoreWriteError
from docchat.locations import collection_dir
from docchat.service import Docchat
from docchat.store.collection import Collection
from docchat.store.migrations import MIGRATIONS, READ_UNMIGRATED_FROM, apply, migrate


def connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)  # as the store opens it


def schema(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    return conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()


def test_statement_by_statement_makes_the_schema_a_script_would(tmp_path: Path) -> None:
    by_script = connect(tmp_path / "a.sqlite")
    for sql in MIGRATIONS:
        by_script.executescript(sql)
    by_migrate = connect(tmp_path / "b.sqlite")
    migrate(by_migrate)
    assert schema(by_migrate) == schema(by_script)
    assert by_migrate.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert any(name == "chunks_au" for _, name, _ in schema(by_migrate))  # a trigger's body


def test_a_migration_another_process_applied_meanwhile_is_not_applied_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.sqlite"
    ours, theirs = connect(path), connect(path)
    for number, sql in enumerate(MIGRATIONS[:-1], start=1):
        apply(ours, number, sql)
    # Both read the old version; the other process migrates first; ours then tries.
    assert ours.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) - 1
    migrate(theirs)
    apply(ours, len(MIGRATIONS), MIGRATIONS[-1])  # was: "duplicate column name"
    assert ours.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert not ours.in_transaction


def test_a_migration_that_fails_leaves_nothing_half_done(tmp_path: Path) -> None:
    conn = connect(tmp_path / "d.sqlite")
    migrate(conn)
    before = schema(conn)
    bad = "CREATE TABLE extra (a INTEGER);\nCREATE TABLE extra (a INTEGER);"
    with pytest.raises(sqlite3.OperationalError, match="already exists"):
        apply(conn, len(MIGRATIONS) + 1, bad)
    assert schema(conn) == before and not conn.in_transaction
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_an_old_collection_that_cannot_be_upgraded_says_so(
    service: Docchat, tmp_path: Path
) -> None:
    """On a full disk a collection opens read-only, unmigrated: fine from schema 4 on (what
    came later is read where present), a clear one-line error before it."""
    service.open_collection("old", create=True)
    folder = collection_dir("old", service.settings.data_dir)
    service.close()
    full = sqlite3.OperationalError("database or disk is full")
    Collection("old", folder, read_only_because=full).close()
    db = connect(folder / "docchat.sqlite")
    db.execute(f"PRAGMA user_version = {READ_UNMIGRATED_FROM - 1}")
    db.close()
    with pytest.raises(StoreWriteError, match=r"disk full; free some space .* upgraded"):
        Collection("old", folder, read_only_because=full)


def test_an_unfinished_statement_in_a_migration_fails_rather_than_vanishes(
    tmp_path: Path,
) -> None:
    conn = connect(tmp_path / "e.sqlite")
    migrate(conn)
    unfinished = "CREATE TRIGGER t AFTER INSERT ON meta BEGIN SELECT 1; "
    with pytest.raises(sqlite3.OperationalError, match="incomplete statement"):
        apply(conn, len(MIGRATIONS) + 1, unfinished)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
