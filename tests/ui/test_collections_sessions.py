"""Collections (switch, rename, delete), sessions (reopen, export) and settings."""

from __future__ import annotations

import tomllib
from pathlib import Path

from textual.widgets import DataTable, Input
from ui_helpers import SIZE, make_app, wait_for

from docchat.service import Docchat
from docchat.ui.screens.collections import CollectionsScreen
from docchat.ui.screens.dialogs import ConfirmScreen, PromptScreen
from docchat.ui.screens.main import MainScreen
from docchat.ui.screens.sessions import SessionsScreen
from docchat.ui.screens.settings import SettingsScreen
from docchat.ui.screens.welcome import WelcomeScreen
from docchat.ui.widgets.chat import ChatPane


def two_collections(service: Docchat, home_docs: Path) -> None:
    for _ in service.index("other", [home_docs / "notes"]):
        pass


async def ask(pilot, app, question: str) -> None:  # type: ignore[no-untyped-def]
    screen = app.screen
    before = len(screen.query(".turn"))
    await pilot.press(*question, "enter")
    await wait_for(pilot, lambda: len(screen.query(".turn")) > before and not screen.answering)


async def test_switch_collection(indexed: Docchat, home_docs: Path) -> None:
    two_collections(indexed, home_docs)
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        main = app.screen
        await ask(pilot, app, "what is dropout")
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, CollectionsScreen))
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        await pilot.press("down", "enter")  # rows are sorted: docs, other
        await wait_for(pilot, lambda: app.screen is main and main.collection == "other")
        assert not main.query(".turn")  # a fresh chat for the other collection
        await wait_for(pilot, lambda: "1 docs" in str(main.sub_title))
        assert indexed.settings.ui.last_collection == "other"


async def test_rename_and_delete_collection(indexed: Docchat, home_docs: Path) -> None:
    two_collections(indexed, home_docs)
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        main = app.screen
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, CollectionsScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.names == ["docs", "other"])
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        app.screen.query_one(Input).value = "papers"
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.names == ["other", "papers"])
        assert main.collection == "papers"  # the open collection followed the rename
        assert indexed.collection_names() == ["other", "papers"]
        await pilot.press("d")  # cursor is on "other"
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # changed my mind
        assert indexed.collection_names() == ["other", "papers"]
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.names == ["papers"])
        assert indexed.collection_names() == ["papers"]


async def test_deleting_the_last_collection_shows_welcome(indexed: Docchat) -> None:
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, CollectionsScreen))
        await wait_for(pilot, lambda: app.screen.names == ["docs"])
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen_stack[1], WelcomeScreen))


async def test_export_session_to_markdown(indexed: Docchat) -> None:
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await ask(pilot, app, "what reduces overfitting")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        assert app.screen.query_one(Input).value == "~/docchat-docs-session-1.md"
        await pilot.press("enter")
        target = Path.home() / "docchat-docs-session-1.md"
        await wait_for(pilot, target.exists)
        text = target.read_text()
        assert "**You:** what reduces overfitting" in text
        assert "[^1.1]" in text and "dropout.md, lines 1–7" in text


async def test_sessions_list_reopen_and_new(indexed: Docchat) -> None:
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        main = app.screen
        await ask(pilot, app, "what reduces overfitting")
        await ask(pilot, app, "and how is bread made")
        await pilot.press("ctrl+n")
        await ask(pilot, app, "which rivers")
        assert main.session == 2
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen))
        sessions = app.screen
        await wait_for(pilot, lambda: sessions.ids == [2, 1])  # most recent first
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: app.screen is main and main.session == 1)
        turns = main.query_one(ChatPane).query(".turn")
        await wait_for(pilot, lambda: len(main.query(".turn")) == 2)
        assert turns is not None
        first = main.query_one(ChatPane).query("ChatTurn").first()
        assert first.question == "what reduces overfitting"  # type: ignore[attr-defined]
        await ask(pilot, app, "tell me more")  # continues session 1
        assert main.session == 1
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen))
        await wait_for(pilot, lambda: app.screen.ids == [1, 2])
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is main)
        assert main.session is None and not main.query(".turn")


async def test_settings_are_saved_and_applied(indexed: Docchat) -> None:
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        app.screen.query_one("#set-search-k", Input).value = "3"
        app.screen.query_one("#set-generate-temperature", Input).value = "0.7"
        app.screen.query_one("#set-generate-max_tokens", Input).value = "64"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
    saved = tomllib.loads(Path.home().joinpath("docchat.toml").read_text())
    assert saved["search"]["k"] == 3
    assert saved["generate"]["temperature"] == 0.7
    assert saved["generate"]["max_tokens"] == 64
    assert indexed.settings.search.k == 3


async def test_bad_setting_is_refused_with_the_reason(indexed: Docchat) -> None:
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        app.screen.query_one("#set-search-k", Input).value = "0"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)  # stays open to fix it
        assert any("search.k" in n.message for n in app._notifications)
    assert indexed.settings.search.k == 5


async def test_start_without_a_last_collection_offers_the_list(
    indexed: Docchat, home_docs: Path
) -> None:
    two_collections(indexed, home_docs)
    indexed.settings.ui.last_collection = ""
    app = make_app(indexed)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CollectionsScreen))
        await wait_for(pilot, lambda: app.screen.names == ["docs", "other"])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.screen.collection == "docs"


async def test_last_collection_is_reopened(indexed: Docchat, home_docs: Path) -> None:
    two_collections(indexed, home_docs)
    indexed.settings.ui.last_collection = "other"
    app = make_app(indexed)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.screen.collection == "other"
