"""Chat sessions of one collection: sessions, messages and the sources each answer used.

`Collection.sessions` hands out a `Sessions` bound to the calling thread's connection.
Writes are short SAVEPOINT transactions that SQLite serialises by itself (WAL + busy
timeout), so asking never needs the collection's writer lock and works while an index run
is going on.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from docchat.errors import CollectionError
from docchat.store.paths import from_db, to_db
from docchat.types import Answer, MessageRow, SessionRow, Source

TITLE_CHARS = 80
_SESSION_SQL = (
    "SELECT s.id, s.title, s.created_at, s.updated_at, "
    "(SELECT count(*) FROM messages m WHERE m.session_id = s.id) FROM sessions s"
)


class Sessions:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        # A savepoint (not BEGIN) also nests inside a transaction another caller has open.
        self._db.execute("SAVEPOINT docchat_sessions")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK TO docchat_sessions")
            self._db.execute("RELEASE docchat_sessions")
            raise
        self._db.execute("RELEASE docchat_sessions")

    # ------------------------------------------------------------ sessions

    def create(self, title: str) -> int:
        title = " ".join(title.split())
        if len(title) > TITLE_CHARS:
            title = title[: TITLE_CHARS - 1].rstrip() + "…"
        now = time.time()
        with self._savepoint():
            cur = self._db.execute(
                "INSERT INTO sessions(title, created_at, updated_at) VALUES (?, ?, ?)",
                (title or "untitled", now, now),
            )
        return int(cur.lastrowid or 0)

    def get(self, session_id: int) -> SessionRow | None:
        row = self._db.execute(f"{_SESSION_SQL} WHERE s.id = ?", (session_id,)).fetchone()
        return SessionRow(*row) if row else None

    def recent(self) -> list[SessionRow]:
        """Most recently used first."""
        rows = self._db.execute(f"{_SESSION_SQL} ORDER BY s.updated_at DESC, s.id DESC")
        return [SessionRow(*r) for r in rows]

    def find(self, spec: str | int) -> int | None:
        """The session a `--session` value continues: `new` none (one is made once there is
        something to store), `last` the most recent one (none if there is none yet), a
        number that session."""
        text = str(spec).strip().lower()
        if text == "new":
            return None
        if text == "last":
            sessions = self.recent()
            return sessions[0].id if sessions else None
        if not text.isdigit():
            raise CollectionError(f"--session must be new, last or a session id, not {spec!r}")
        if self.get(int(text)) is None:
            raise CollectionError(f"no session {text} (see: docchat sessions list)")
        return int(text)

    def delete(self, session_id: int) -> bool:
        with self._savepoint():
            self._db.execute(
                "DELETE FROM message_sources WHERE message_id IN "
                "(SELECT id FROM messages WHERE session_id = ?)",
                (session_id,),
            )
            self._db.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
            cur = self._db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        return cur.rowcount > 0

    # ------------------------------------------------------------ messages

    def add_exchange(self, session_id: int, answer: Answer) -> int:
        """Store a question and its answer (with the sources offered and which were cited);
        returns the answer's message id."""
        now = time.time()
        cited = set(answer.cited)
        with self._savepoint():
            self._db.execute(
                "INSERT INTO messages(session_id, role, content, created_at) "
                "VALUES (?, 'user', ?, ?)",
                (session_id, answer.question, now),
            )
            cur = self._db.execute(
                "INSERT INTO messages(session_id, role, content, query, model, abstained, "
                "stopped, repeated, created_at) VALUES (?, 'assistant', ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    answer.text,
                    answer.query,
                    answer.model,
                    int(answer.abstained),
                    int(answer.stopped),
                    int(answer.repeated),
                    now,
                ),
            )
            message_id = int(cur.lastrowid or 0)
            self._db.executemany(
                "INSERT INTO message_sources(message_id, n, path, page, line_start, line_end, "
                "heading, score, cited, chunk_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        message_id,
                        s.n,
                        to_db(s.path),
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
            self._db.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (now, session_id))
        return message_id

    def messages(self, session_id: int) -> list[MessageRow]:
        """The session's messages, oldest first, answers with their sources."""
        sources: dict[int, list[tuple[Source, bool]]] = {}
        for row in self._db.execute(
            "SELECT ms.message_id, ms.n, ms.path, ms.page, ms.line_start, ms.line_end, "
            "ms.score, ms.heading, ms.chunk_id, ms.cited FROM message_sources ms "
            "JOIN messages m ON m.id = ms.message_id WHERE m.session_id = ? ORDER BY ms.n",
            (session_id,),
        ):
            source = Source(
                n=row[1],
                path=from_db(row[2]),
                page=row[3],
                line_start=row[4],
                line_end=row[5],
                score=row[6],
                heading=row[7],
                chunk_id=row[8],
            )
            sources.setdefault(row[0], []).append((source, bool(row[9])))
        out: list[MessageRow] = []
        for row in self._db.execute(
            "SELECT id, role, content, created_at, query, model, abstained, stopped, "
            f"{self._repeated()} FROM messages WHERE session_id = ? ORDER BY id",
            (session_id,),
        ):
            mid, role, content, created, query, model, abstained, stopped, repeated = row
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
                    repeated=bool(repeated),
                    sources=tuple(s for s, _ in used),
                    cited=tuple(s.n for s, c in used if c),
                )
            )
        return out

    def _repeated(self) -> str:
        """The `repeated` column, or 0 where the schema predates it (migration 5): a collection
        that could not be opened for writing (a full disk) is read unmigrated."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(messages)")}
        return "repeated" if "repeated" in columns else "0"

    def turns(self, session_id: int) -> list[tuple[str, Answer]]:
        """(question, Answer) pairs, oldest first: what a follow-up is asked against, and what
        the app shows when a session is reopened."""
        turns: list[tuple[str, Answer]] = []
        question = ""
        for row in self.messages(session_id):
            if row.role == "user":
                question = row.content
                continue
            answer = Answer(
                text=row.content,
                question=question,
                query=row.query or question,
                sources=row.sources,
                cited=row.cited,
                abstained=row.abstained,
                stopped=row.stopped,
                repeated=row.repeated,
                model=row.model or "",
                session=session_id,
            )
            turns.append((question, answer))
        return turns
