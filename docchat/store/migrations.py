"""Numbered schema migrations, applied in order; PRAGMA user_version records the last one.

Append new migrations to MIGRATIONS; never edit one that has shipped.

Chunk `state` makes the SQLite <-> FAISS pair crash-safe (see store/collection.py):
0 = live (in the saved FAISS file), 1 = added since the last FAISS save, 2 = removed since the
last FAISS save (a tombstone, hidden from every query).
"""

from __future__ import annotations

import sqlite3

LIVE, ADDED, REMOVED = 0, 1, 2  # chunk states, as above
# The partial index chunks_state's own condition: SQLite uses a partial index only for a
# query whose WHERE repeats it word for word, so a query for ADDED or REMOVED chunks says
# "WHERE {UNSETTLED} AND state=?" — without it, a full scan of every chunk (tens of ms at
# 100k chunks, at every checkpoint).
UNSETTLED = "state != 0"
# The oldest schema this code reads without migrating it first. A collection that cannot be
# opened for writing (a full disk) is opened read-only and cannot be migrated; what came
# after this one (5: messages.repeated) is read where present (store/sessions.py).
READ_UNMIGRATED_FROM = 4

MIGRATIONS: list[str] = [
    # 1: documents, chunks, embeddings by text hash, FTS5 over chunk text, metadata.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        kind TEXT NOT NULL,
        title TEXT,
        pages INTEGER,
        indexed_at REAL NOT NULL
    );
    CREATE TABLE chunks (
        id INTEGER PRIMARY KEY,
        document_id INTEGER NOT NULL,
        ordinal INTEGER NOT NULL,
        state INTEGER NOT NULL DEFAULT 1,
        text TEXT NOT NULL,
        text_hash TEXT NOT NULL,
        page INTEGER,
        line_start INTEGER NOT NULL,
        line_end INTEGER NOT NULL,
        char_start INTEGER NOT NULL,
        char_end INTEGER NOT NULL,
        heading TEXT
    );
    CREATE INDEX chunks_document ON chunks(document_id);
    CREATE INDEX chunks_state ON chunks(state) WHERE state != 0;
    CREATE INDEX chunks_hash ON chunks(text_hash);
    CREATE TABLE embeddings (text_hash TEXT PRIMARY KEY, vector BLOB NOT NULL);
    CREATE VIRTUAL TABLE chunks_fts USING fts5(
        text, heading, content='chunks', content_rowid='id', tokenize='porter unicode61'
    );
    CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
        INSERT INTO chunks_fts(rowid, text, heading) VALUES (new.id, new.text, new.heading);
    END;
    CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
        INSERT INTO chunks_fts(chunks_fts, rowid, text, heading)
        VALUES ('delete', old.id, old.text, old.heading);
    END;
    CREATE TRIGGER chunks_au AFTER UPDATE OF text, heading ON chunks BEGIN
        INSERT INTO chunks_fts(chunks_fts, rowid, text, heading)
        VALUES ('delete', old.id, old.text, old.heading);
        INSERT INTO chunks_fts(rowid, text, heading) VALUES (new.id, new.text, new.heading);
    END;
    """,
    # 2: chat sessions. message_sources copies path/page/lines (not just chunk ids) so that
    # stored answers and their exports survive re-indexing.
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content TEXT NOT NULL,
        query TEXT,
        model TEXT,
        abstained INTEGER NOT NULL DEFAULT 0,
        stopped INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    );
    CREATE INDEX messages_session ON messages(session_id, id);
    CREATE TABLE message_sources (
        message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        n INTEGER NOT NULL,
        path TEXT NOT NULL,
        page INTEGER,
        line_start INTEGER NOT NULL,
        line_end INTEGER NOT NULL,
        heading TEXT,
        score REAL NOT NULL,
        cited INTEGER NOT NULL DEFAULT 0,
        chunk_id INTEGER,
        PRIMARY KEY (message_id, n)
    );
    """,
    # 3: the ledger — every file an index run has seen, with what happened to it and why
    # (`docchat status`), and the folders the collection was indexed from. `path` is a BLOB
    # for a name that is not UTF-8, as in documents (store/paths.py). Rows of a collection
    # indexed before this migration are made from its documents.
    """
    CREATE TABLE files (
        path TEXT PRIMARY KEY,
        state TEXT NOT NULL
            CHECK (state IN ('indexed', 'unchanged', 'skipped', 'failed', 'removed')),
        reason TEXT,
        size INTEGER,
        mtime_ns INTEGER,
        pages INTEGER,
        chunks INTEGER NOT NULL DEFAULT 0,
        ocr INTEGER NOT NULL DEFAULT 0,
        indexed_at REAL,
        seen_at REAL NOT NULL
    );
    CREATE INDEX files_state ON files(state);
    CREATE TABLE folders (path TEXT PRIMARY KEY, added_at REAL NOT NULL);
    INSERT INTO files(path, state, size, mtime_ns, pages, chunks, indexed_at, seen_at)
        SELECT d.path, 'indexed', d.size, d.mtime_ns, d.pages,
               (SELECT count(*) FROM chunks c WHERE c.document_id = d.id AND c.state != 2),
               d.indexed_at, d.indexed_at
        FROM documents d;
    """,
    # 4: which chunks were read by OCR from an image of their page (hits say `ocr: true`).
    """
    ALTER TABLE chunks ADD COLUMN ocr INTEGER NOT NULL DEFAULT 0;
    """,
    # 5: an answer cut where the model began to repeat itself (Answer.repeated), so that a
    # reopened session still says so.
    """
    ALTER TABLE messages ADD COLUMN repeated INTEGER NOT NULL DEFAULT 0;
    """,
]


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema up to date; each migration commits on its own."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > len(MIGRATIONS):
        from docchat.errors import CollectionError

        raise CollectionError(
            f"collection was written by a newer docchat (schema {current}); upgrade docchat"
        )
    for number, sql in enumerate(MIGRATIONS[current:], start=current + 1):
        apply(conn, number, sql)


def apply(conn: sqlite3.Connection, number: int, sql: str) -> None:
    """Migration `number`, in one transaction — unless the schema has it already: a second
    process that opened the collection at the same moment (an app and `docchat watch` after
    an upgrade) read the old version too, and applies it first. So the version is read again
    under the write lock, and what that process did is not done twice (an ALTER TABLE ADD
    COLUMN would fail: 'duplicate column name')."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("PRAGMA user_version").fetchone()[0] < number:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _statements(script: str) -> list[str]:
    """The script's statements one by one (a trigger's body holds semicolons of its own)."""
    out: list[str] = []
    pending = ""
    for part in script.split(";"):
        pending += part + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\n;"):
                out.append(pending)
            pending = ""
    if pending.strip(" \t\n;"):  # a trigger without its END: fail, as executescript would
        raise sqlite3.OperationalError(f"incomplete statement in a migration: {pending[:80]!r}")
    return out
