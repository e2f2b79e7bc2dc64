"""Chat sessions of one collection: sessions, messages and the sources each answer used.

Functions take the collection's `sqlite3.Connection` (`coll.db`). Writes are short SAVEPOINT
transactions that SQLite serialises by itself (WAL + busy timeout), so asking never needs the
collection's writer lock and works while an index run is going on.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from docchat.errors import CollectionError
from docchat.types import Answer, Source

TITLE_CHARS = 80


@dataclass(frozen=True)
class SessionRow:
    id: int
    title: str
    created_at: float
    updated_at: float
    messages: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "messages": self.messages,
        }


@dataclass(frozen=True)
class MessageRow:
    id: int
    role: str  # "user" | "assistant"
    content: str
    created_at: float
    query: str | None = None
    model: str | None = None
    abstained: bool = False
    stopped: bool = False
    sources: tuple[Source, ...] = ()
    cited: tuple[int, ...] = ()

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"id": self.id, "role": self.role, "content": self.content}
        if self.role == "assistant":
            out.update(
                query=self.query,
                model=self.model,
                abstained=self.abstained,
                stopped=self.stopped,
                sources=[s.to_json() for s in self.sources],
                cited=list(self.cited),
            )
        out["created_at"] = self.created_at
        return out


@contextmanager
def _savepoint(conn: sqlite3.Connection) -> Iterator[None]:
    # A savepoint (not BEGIN) also nests inside a transaction another caller has open.
    conn.execute("SAVEPOINT docchat_sessions")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK TO docchat_sessions")
        conn.execute("RELEASE docchat_sessions")
        raise
    conn.execute("RELEASE docchat_sessions")


_SESSION_SQL = (
    "SELECT s.id, s.title, s.created_at, s.updated_at, "
    "(SELECT count(*) FROM messages m WHERE m.session_id = s.id) FROM sessions s"
)


def create_session(conn: sqlite3.Connection, title: str) -> int:
    title = " ".join(title.split())
    if len(title) > TITLE_CHARS:
        title = title[: TITLE_CHARS - 1].rstrip() + "…"
    now = time.time()
    with _savepoint(conn):
        cur = conn.execute(
            "INSERT INTO sessions(title, created_at, updated_at) VALUES (?, ?, ?)",
            (title or "untitled", now, now),
        )
    return int(cur.lastrowid or 0)


def get_session(conn: sqlite3.Connection, session_id: int) -> SessionRow | None:
    row = conn.execute(f"{_SESSION_SQL} WHERE s.id = ?", (session_id,)).fetchone()
    return SessionRow(*row) if row else None


def list_sessions(conn: sqlite3.Connection) -> list[SessionRow]:
    """Most recently used first."""
    rows = conn.execute(f"{_SESSION_SQL} ORDER BY s.updated_at DESC, s.id DESC").fetchall()
    return [SessionRow(*r) for r in rows]


def resolve_session(conn: sqlite3.Connection, spec: str | int, title: str) -> int:
    """`new` starts a session titled `title`; `last` continues the most recent one (or
    starts one when there is none); a number continues that session."""
    text = str(spec).strip().lower()
    if text == "new":
        return create_session(conn, title)
    if text == "last":
        sessions = list_sessions(conn)
        return sessions[0].id if sessions else create_session(conn, title)
    if not text.isdigit():
        raise CollectionError(f"--session must be new, last or a session id, not {spec!r}")
    if get_session(conn, int(text)) is None:
        raise CollectionError(f"no session {text} (see: docchat sessions list)")
    return int(text)


def delete_session(conn: sqlite3.Connection, session_id: int) -> bool:
    with _savepoint(conn):
        conn.execute(
            "DELETE FROM message_sources WHERE message_id IN "
            "(SELECT id FROM messages WHERE session_id = ?)",
            (session_id,),
        )
        conn.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
        cur = conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
    return cur.rowcount > 0


def add_exchange(conn: sqlite3.Connection, session_id: int, answer: Answer) -> int:
    """Store a question and its answer (with the sources offered and which were cited);
    returns the answer's message id."""
    now = time.time()
    cited = set(answer.cited)
    with _savepoint(conn):
        conn.execute(
            "INSERT INTO messages(session_id, role, content, created_at) VALUES (?, 'user', ?, ?)",
            (session_id, answer.question, now),
        )
        cur = conn.execute(
            "INSERT INTO messages(session_id, role, content, query, model, abstained, stopped, "
            "created_at) VALUES (?, 'assistant', ?, ?, ?, ?, ?, ?)",
            (
                session_id,
                answer.text,
                answer.query,
                answer.model,
                int(answer.abstained),
                int(answer.stopped),
                now,
            ),
        )
        message_id = int(cur.lastrowid or 0)
        conn.executemany(
            "INSERT INTO message_sources(message_id, n, path, page, line_start, line_end, "
            "heading, score, cited, chunk_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    message_id,
                    s.n,
                    s.path,
                    s.page,
                    s.line_start,
                    s.line_end,
                    s.heading,
                    s.score,
                    int(s.n in cited),
                    s.chunk_id,
                )
                for s in answer.sources
            ],
        )
        conn.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (now, session_id))
    return message_id


def messages(conn: sqlite3.Connection, session_id: int) -> list[MessageRow]:
    """The session's messages, oldest first, answers with their sources."""
    sources: dict[int, list[tuple[Source, bool]]] = {}
    for row in conn.execute(
        "SELECT ms.message_id, ms.n, ms.path, ms.page, ms.line_start, ms.line_end, ms.score, "
        "ms.heading, ms.chunk_id, ms.cited FROM message_sources ms "
        "JOIN messages m ON m.id = ms.message_id WHERE m.session_id = ? ORDER BY ms.n",
        (session_id,),
    ):
        source = Source(
            n=row[1],
            path=row[2],
            page=row[3],
            line_start=row[4],
            line_end=row[5],
            score=row[6],
            heading=row[7],
            chunk_id=row[8],
        )
        sources.setdefault(row[0], []).append((source, bool(row[9])))
    out: list[MessageRow] = []
    for mid, role, content, created, query, model, abstained, stopped in conn.execute(
        "SELECT id, role, content, created_at, query, model, abstained, stopped FROM messages "
        "WHERE session_id = ? ORDER BY id",
        (session_id,),
    ):
        used = sources.get(mid, [])
        out.append(
            MessageRow(
                id=mid,
                role=role,
                content=content,
                created_at=created,
                query=query,
                model=model,
                abstained=bool(abstained),
                stopped=bool(stopped),
                sources=tuple(s for s, _ in used),
                cited=tuple(s.n for s, c in used if c),
            )
        )
    return out


def history(conn: sqlite3.Connection, session_id: int) -> list[tuple[str, str]]:
    """(question, answer) pairs, oldest first: what a follow-up question is asked against."""
    pairs: list[tuple[str, str]] = []
    question: str | None = None
    for row in messages(conn, session_id):
        if row.role == "user":
            question = row.content
        elif question is not None:
            pairs.append((question, row.content))
            question = None
    return pairs
