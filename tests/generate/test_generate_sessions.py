"""Conversations: stored per collection, continued with new|last|ID, exported as Markdown."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest
from fakes import FakeGenerator

from docchat.errors import CollectionError
from docchat.generate.base import GenerationOptions
from docchat.generate.export import to_markdown
from docchat.generate.pipeline import ask_in_session
from docchat.store import sessions as store
from docchat.types import Answer, Hit

MakeHit = Callable[..., Hit]


def ask(
    db: sqlite3.Connection | None,
    question: str,
    session: str | int | None,
    hits: list[Hit],
    gen: FakeGenerator,
    **kwargs: object,
) -> Answer:
    items = list(
        ask_in_session(
            db,
            question,
            session,
            search=lambda q: hits,
            generator=gen,
            options=GenerationOptions(max_tokens=64),
            **kwargs,
        )
    )
    answer = items[-1]
    assert isinstance(answer, Answer)
    return answer


def test_one_off_questions_are_not_stored(db: sqlite3.Connection, make_hit: MakeHit) -> None:
    answer = ask(db, "q?", None, [make_hit(1)], FakeGenerator())
    assert answer.session is None and store.list_sessions(db) == []


def test_new_then_last_continues_the_conversation(
    db: sqlite3.Connection, make_hit: MakeHit
) -> None:
    gen = FakeGenerator(responses=["Churn rose [1].", "churn in 2024", "It fell [2]."])
    hits = [make_hit(1, page=4), make_hit(2)]
    first = ask(db, "What about churn in 2023?", "new", hits, gen)
    second = ask(db, "and in 2024?", "last", hits, gen)
    assert first.session is not None and second.session == first.session
    assert second.query == "churn in 2024"
    assert store.history(db, first.session) == [
        ("What about churn in 2023?", "Churn rose [1]."),
        ("and in 2024?", "It fell [2]."),
    ]
    (row,) = store.list_sessions(db)
    assert row.title == "What about churn in 2023?" and row.messages == 4
    answer_row = store.messages(db, first.session)[1]
    assert answer_row.role == "assistant" and answer_row.cited == (1,)
    assert [(s.n, s.path, s.page, s.line_start, s.line_end) for s in answer_row.sources] == [
        (1, "/docs/report-1.md", 4, 10, 14),
        (2, "/docs/report-2.md", None, 20, 24),
    ]
    assert store.messages(db, first.session)[3].query == "churn in 2024"


def test_new_always_starts_another(db: sqlite3.Connection, make_hit: MakeHit) -> None:
    a = ask(db, "one?", "new", [make_hit(1)], FakeGenerator())
    b = ask(db, "two?", "new", [make_hit(1)], FakeGenerator())
    assert a.session != b.session and len(store.list_sessions(db)) == 2


def test_continue_by_id_and_unknown_ids(db: sqlite3.Connection, make_hit: MakeHit) -> None:
    a = ask(db, "one?", "new", [make_hit(1)], FakeGenerator())
    ask(db, "two?", "new", [make_hit(1)], FakeGenerator())
    again = ask(db, "more?", str(a.session), [make_hit(1)], FakeGenerator())
    assert again.session == a.session
    with pytest.raises(CollectionError, match="no session 999"):
        ask(db, "q?", "999", [make_hit(1)], FakeGenerator())
    with pytest.raises(CollectionError, match="new, last or a session id"):
        ask(db, "q?", "latest", [make_hit(1)], FakeGenerator())


def test_a_failed_first_ask_leaves_no_empty_session(db: sqlite3.Connection) -> None:
    def broken(query: str) -> list[Hit]:
        raise RuntimeError("index gone")

    with pytest.raises(RuntimeError):
        list(
            ask_in_session(
                db,
                "q?",
                "new",
                search=broken,
                generator=FakeGenerator(),
                options=GenerationOptions(),
            )
        )
    assert store.list_sessions(db) == []


def test_abstentions_and_stopped_answers_are_stored_as_such(
    db: sqlite3.Connection, make_hit: MakeHit
) -> None:
    a = ask(db, "pizza?", "new", [make_hit(1, dense=0.05)], FakeGenerator(), abstain_below=0.3)
    rows = store.messages(db, a.session or 0)
    assert rows[1].abstained and rows[1].sources == ()


def test_delete_removes_messages_and_sources(db: sqlite3.Connection, make_hit: MakeHit) -> None:
    a = ask(db, "one?", "new", [make_hit(1)], FakeGenerator())
    assert store.delete_session(db, a.session or 0)
    assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM message_sources").fetchone()[0] == 0


def test_export_turns_citations_into_footnotes(db: sqlite3.Connection, make_hit: MakeHit) -> None:
    gen = FakeGenerator(responses=["Churn rose [1, 2] and [9].", "2024 churn", "It fell [2]."])
    hits = [make_hit(1, page=4, path="/d/annual.pdf"), make_hit(2, path="/d/notes.md")]
    a = ask(db, "Churn in 2023?", "new", hits, gen)
    ask(db, "and 2024?", "last", hits, gen)
    session = store.get_session(db, a.session or 0)
    assert session is not None
    md = to_markdown(session, store.messages(db, session.id), "research")
    assert md.startswith("# Churn in 2023?")
    assert "**You:** Churn in 2023?" in md
    assert "Churn rose [^1.1][^1.2] and [9]." in md
    assert "*Searched for: 2024 churn*" in md and "It fell [^2.2]." in md
    assert "[^1.1]: /d/annual.pdf, p. 4, lines 10–14" in md
    assert "[^2.2]: /d/notes.md, lines 20–24" in md
