"""Issue 13 item 2: the app follows the open collection's folders (index.watch): a file
written into the folder while the app is open becomes searchable, the status line says what
the watch does, and searching works meanwhile. Waits are on conditions, never on sleeps."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static
from ui_helpers import SIZE, make_app, wait_for

from docchat.service import Docchat
from docchat.ui.screens.main import MainScreen
from docchat.ui.widgets.results import ResultsPane


def status(app: object) -> str:
    screen = app.screen  # type: ignore[attr-defined]
    return str(screen.query_one("#status", Static).render())


async def write_and_find(
    pilot: object,
    indexed: Docchat,
    folder: Path,
    word: str = "quokka",
    text: str = "Quokkas live on Rottnest Island.",
) -> None:
    """Write `<word>.md` into the watched folder and wait until a search for `word` finds it."""
    (folder / f"{word}.md").write_text(f"{text}\n", "utf-8")
    await wait_for(
        pilot,
        lambda: any(
            Path(h.path).name == f"{word}.md" for h in indexed.search("docs", word, mode="keyword")
        ),
        60,
    )


async def test_a_file_written_into_the_folder_becomes_searchable(
    indexed: Docchat, home_docs: Path
) -> None:
    indexed.settings.index.watch = True
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        main = app.screen
        assert isinstance(main, MainScreen)
        await wait_for(pilot, lambda: main.watch_text == "synced", 60)
        assert "synced" in status(app)

        await write_and_find(pilot, indexed, home_docs)
        await wait_for(pilot, lambda: main.watch_text == "synced", 60)

        await pilot.press(*"/rottnest quokkas", "enter")  # the app's own search finds it
        results = main.query_one(ResultsPane)
        await wait_for(pilot, lambda: results.passages)
        assert Path(results.passages[0].path).name == "quokka.md"
        await wait_for(pilot, lambda: "4 docs" in str(main.sub_title))


async def test_watch_off_leaves_the_status_line_alone(indexed: Docchat) -> None:
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert not indexed.watching("docs")
        assert "synced" not in status(app)


async def test_an_index_run_takes_the_lock_from_the_watch_and_gives_it_back(
    indexed: Docchat, home_docs: Path
) -> None:
    from textual.widgets import Input

    from docchat.ui.screens.index import IndexScreen

    indexed.settings.index.watch = True
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        main = app.screen
        assert isinstance(main, MainScreen)
        await wait_for(pilot, lambda: main.watch_text == "synced", 60)

        await pilot.press("f3")  # index the watched collection again, from the app
        await wait_for(pilot, lambda: isinstance(app.screen, IndexScreen))
        screen = app.screen
        assert isinstance(screen, IndexScreen)
        screen.query_one("#index-path", Input).value = str(home_docs)
        await pilot.press("enter", "ctrl+r")
        await wait_for(pilot, lambda: screen.finished is not None, 60)
        assert screen.finished is not None and screen.finished.unchanged == 3

        # The watch is back once the run ended, and still follows the folder.
        await wait_for(pilot, lambda: indexed.watching("docs") and main.watch_text == "synced", 60)
        await write_and_find(pilot, indexed, home_docs, "ibis", "The ibis probes the mud.")


async def test_without_file_events_the_app_says_so_and_rescans(
    indexed: Docchat, home_docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the OS gives no file events (an inotify limit, a network mount), the app says so
    once and walks the folders every so often instead: new files still become searchable."""
    import watchfiles._rust_notify

    import docchat.watching

    def no_events(*args: object) -> None:
        raise OSError("inotify watch limit reached")

    monkeypatch.setattr(watchfiles._rust_notify, "RustNotify", no_events)
    monkeypatch.setattr(docchat.watching, "FALLBACK_RESCAN_SECONDS", 0.5)
    indexed.settings.index.watch = True
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        main = app.screen
        assert isinstance(main, MainScreen)
        said = "file events unavailable: inotify watch limit reached: walking the folders"
        await wait_for(pilot, lambda: any(said in n.message for n in app._notifications), 60)
        await wait_for(pilot, lambda: main.watch_text == "synced", 60)
        await write_and_find(pilot, indexed, home_docs)
