"""Conversations through the facade: stored per collection, continued with new|last|ID,
listed, deleted and exported as Markdown."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest
from fakes import FakeGenerator

from docchat.errors import CollectionError
from docchat.locations import collection_dir
from docchat.presentation import REPEATED_NOTE
from docchat.service import Docchat
from docchat.store.collection import Collection
from docchat.types import Answer, Hit

MakeHit = Callable[..., Hit]


class Chat:
    """The facade over an empty collection, with scripted search hits and a fake model."""

    def __init__(self, service: Docchat, monkeypatch: pytest.MonkeyPatch) -> None:
        self.service = service
        self.hits: list[Hit] = []
        self.generator = FakeGenerator()
        service.open_collection("c", create=True)
        monkeypatch.setattr(service, "search", lambda collection, query, k=None: self.hits)
        monkeypatch.setattr(service, "generator", lambda **overrides: self.generator)

    def ask(self, question: str, session: str | int | None, *responses: str) -> Answer:
        self.generator.responses.extend(responses)
        items = list(self.service.ask("c", question, session=session))
        assert isinstance(items[-1], Answer)
        return items[-1]


@pytest.fixture
def chat(service: Docchat, monkeypatch: pytest.MonkeyPatch, make_hit: MakeHit) -> Chat:
    chat = Chat(service, monkeypatch)
    chat.hits = [make_hit(1)]
    return chat


def test_one_off_questions_are_not_stored(chat: Chat) -> None:
    answer = chat.ask("q?", None)
    assert answer.session is None and chat.service.sessions("c") == []


def test_new_then_last_continues_the_conversation(chat: Chat, make_hit: MakeHit) -> None:
    chat.hits = [make_hit(1, page=4), make_hit(2)]
    first = chat.ask("What about churn in 2023?", "new", "Churn rose [1].")
    second = chat.ask("and in 2024?", "last", "churn in 2024", "It fell [2].")
    assert first.session is not None and second.session == first.session
    assert second.query == "churn in 2024"
    turns = chat.service.session_turns("c", first.session)
    assert [(q, a.text) for q, a in turns] == [
        ("What about churn in 2023?", "Churn rose [1]."),
        ("and in 2024?", "It fell [2]."),
    ]
    (row,) = chat.service.sessions("c")
    assert row.title == "What about churn in 2023?" and row.messages == 4
    answer_row = chat.service.session_messages("c", first.session)[1]
    assert answer_row.role == "assistant" and answer_row.cited == (1,)
    assert [(s.n, s.path, s.page, s.line_start, s.line_end) for s in answer_row.sources] == [
        (1, "/docs/report-1.md", 4, 10, 14),
        (2, "/docs/report-2.md", None, 20, 24),
    ]
    assert chat.service.session_messages("c", first.session)[3].query == "churn in 2024"


def test_new_always_starts_another(chat: Chat) -> None:
    a = chat.ask("one?", "new")
    b = chat.ask("two?", "new")
    assert a.session != b.session and len(chat.service.sessions("c")) == 2


def test_continue_by_id_and_unknown_ids(chat: Chat) -> None:
    a = chat.ask("one?", "new")
    chat.ask("two?", "new")
    again = chat.ask("more?", str(a.session))
    assert again.session == a.session
    with pytest.raises(CollectionError, match="no session 999"):
        chat.ask("q?", "999")
    with pytest.raises(CollectionError, match="new, last or a session id"):
        chat.ask("q?", "latest")


def test_a_failed_first_ask_leaves_no_empty_session(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(collection: str, query: str, k: int | None = None) -> list[Hit]:
        raise RuntimeError("index gone")

    monkeypatch.setattr(chat.service, "search", broken)
    with pytest.raises(RuntimeError):
        chat.ask("q?", "new")
    assert chat.service.sessions("c") == []


def test_abstentions_are_stored_as_such(chat: Chat, make_hit: MakeHit) -> None:
    chat.service.settings.generate.abstain_below = 0.3
    chat.hits = [make_hit(1, dense=0.05)]
    a = chat.ask("pizza?", "new")
    rows = chat.service.session_messages("c", a.session or 0)
    assert rows[1].abstained and rows[1].sources == ()


def test_delete_removes_the_session_and_its_messages(chat: Chat) -> None:
    a = chat.ask("one?", "new")
    chat.service.delete_session("c", a.session or 0)
    assert chat.service.sessions("c") == []
    with pytest.raises(CollectionError, match="no session"):
        chat.service.session_messages("c", a.session or 0)
    with pytest.raises(CollectionError, match="no session"):
        chat.service.delete_session("c", a.session or 0)


def test_export_turns_citations_into_footnotes(chat: Chat, make_hit: MakeHit) -> None:
    chat.hits = [make_hit(1, page=4, path="/d/annual.pdf"), make_hit(2, path="/d/notes.md")]
    a = chat.ask("Churn in 2023?", "new", "Churn rose [1, 2] and [9].")
    chat.ask("and 2024?", "last", "2024 churn", "It fell [2].")
    md = chat.service.export_session("c", a.session or 0)
    assert md.startswith("# Churn in 2023?")
    assert "**You:** Churn in 2023?" in md
    assert "Churn rose [^1.1][^1.2] and [9]." in md
    assert "*Searched for: 2024 churn*" in md and "It fell [^2.2]." in md
    assert "[^1.1]: /d/annual.pdf, p. 4, lines 10–14" in md
    assert "[^2.2]: /d/notes.md, lines 20–24" in md


def test_an_answer_cut_for_repeating_itself_says_so_when_reopened(chat: Chat) -> None:
    sentences = (
        "The guide is designed to help you find documents that contain your files. "
        "It does this by using the help command to get more information about a document. "
    )
    a = chat.ask("what is the guide for?", "new", sentences * 6)
    assert a.repeated and a.session is not None
    ((_, again),) = chat.service.session_turns("c", a.session)
    assert again.repeated and again.text == a.text
    row = chat.service.session_messages("c", a.session)[1]
    assert row.repeated and row.to_json()["repeated"] is True
    assert f"*({REPEATED_NOTE})*" in chat.service.export_session("c", a.session)
    plain = chat.ask("and else?", "last", "Nothing else.")
    assert not chat.service.session_messages("c", plain.session or 0)[3].repeated


def test_a_session_reads_from_a_collection_that_could_not_be_migrated(chat: Chat) -> None:
    """A full disk at the first open after an upgrade: the collection is read unmigrated."""
    a = chat.ask("what is it?", "new", "It is a guide [1].")
    folder = collection_dir("c", chat.service.settings.data_dir)
    chat.service.close()
    db = sqlite3.connect(folder / "docchat.sqlite")
    db.executescript("ALTER TABLE messages DROP COLUMN repeated; PRAGMA user_version = 4;")
    db.close()
    old = Collection("c", folder, read_only_because=sqlite3.OperationalError("disk is full"))
    try:
        ((_, answer),) = old.sessions.turns(a.session or 0)
        assert answer.text == "It is a guide [1]." and not answer.repeated
    finally:
        old.close()
