"""The bugs a new user hit (issue 12), each driven through the real app with Pilot."""

from __future__ import annotations

import itertools
import subprocess
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Footer, HelpPanel, Input, ProgressBar
from ui_helpers import SIZE, make_app, to_index_screen, wait_for

from docchat.config import config_path
from docchat.errors import DocchatError
from docchat.indexing import IndexRun
from docchat.service import Docchat
from docchat.types import FileDone, IndexStarted, IndexSummary
from docchat.ui.formatting import RecentRate, progress_line
from docchat.ui.items import Passage
from docchat.ui.opener import OpenCommand
from docchat.ui.screens import index as index_screen
from docchat.ui.screens.collections import CollectionsScreen
from docchat.ui.screens.dialogs import ConfirmScreen
from docchat.ui.screens.index import IndexScreen
from docchat.ui.screens.main import MainScreen
from docchat.ui.screens.preview import PreviewScreen, in_context
from docchat.ui.screens.sessions import SessionsScreen
from docchat.ui.screens.settings import SettingsScreen
from docchat.ui.screens.welcome import WelcomeScreen
from docchat.ui.widgets.chat import ChatPane
from docchat.ui.widgets.results import ResultsPane


async def main_ready(pilot: Any) -> None:
    """The main screen is up and composed (its panes can be queried)."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.query("#chat"))


# ---------------------------------------------------------------- 1: `o` on an HTML source

HTML = """<!DOCTYPE html>
<html><head><title>argparse</title>
<style>{style}</style>
<script>{script}</script></head>
<body>
<nav><ul>{nav}</ul></nav>
<main><article>
<h1>argparse — Parser for command-line options</h1>
{intro}
<h2 id="choices">choices</h2>
<p>Some command-line arguments should be selected from a restricted set of values.
These can be handled by passing a sequence object as the choices keyword argument.</p>
<h2 id="sub-commands">Sub-commands</h2>
<p>Many programs split up their functionality into a number of subcommands, for example
the svn program can invoke subcommands like svn checkout, svn update and svn commit.
Splitting up functionality this way can be a particularly good idea when a program
performs several different functions which require different kinds of command-line
arguments. ArgumentParser supports the creation of such subcommands with the
add_subparsers method.</p>
</article></main>
</body></html>
"""


def write_html(folder: Path) -> Path:
    """A page whose raw lines are far from its text's lines (styles, scripts, navigation)."""
    page = HTML.format(
        style="\n".join(f".c{i} {{ color: red; }}" for i in range(200)),
        script="\n".join(f"var x{i} = {i};" for i in range(200)),
        nav="\n".join(f'<li><a href="#s{i}">Section {i}</a></li>' for i in range(100)),
        intro="\n".join(
            f"<p>Paragraph {i} of the introduction talks about parsing arguments "
            f"and the many options a parser has, number {i}.</p>"
            for i in range(40)
        ),
    )
    path = folder / "argparse.html"
    path.write_text(page, encoding="utf-8")
    return path


async def test_o_on_an_html_hit_opens_its_text_at_the_passage(
    ui_service: Docchat, home_docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_html(home_docs)
    for _ in ui_service.index("docs", [home_docs]):
        pass
    record = tmp_path / "editor-args.txt"
    editor = tmp_path / "editor.sh"
    editor.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n')
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    launched: list[OpenCommand] = []

    def run_it(command: OpenCommand, app: object) -> int:  # headless: no terminal to hand over
        launched.append(command)
        return subprocess.call(command.argv)

    app = make_app(ui_service, "docs")
    app.launcher = run_it
    async with app.run_test(size=SIZE) as pilot:
        await main_ready(pilot)
        await pilot.press(*"/subcommands svn checkout", "enter")
        results = app.screen.query_one(ResultsPane)
        await wait_for(pilot, lambda: results.passages)
        hit = next(p for p in results.passages if p.name == "argparse.html")
        results.highlighted = results.passages.index(hit)
        results.focus()
        await pilot.press("o")
        await wait_for(pilot, lambda: launched)
    args = record.read_text().splitlines()
    line, opened = int(args[0].lstrip("+")), Path(args[1])
    assert opened != home_docs / "argparse.html"  # the page's text, not its raw HTML
    lines = opened.read_text(encoding="utf-8").split("\n")
    assert lines[line - 1] == hit.text.split("\n")[0]  # the editor lands on the passage
    raw = (home_docs / "argparse.html").read_text().split("\n")
    assert "svn" not in raw[line - 1]  # the raw file's line of that number is elsewhere


async def test_a_failing_editor_is_reported(
    indexed: Docchat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDITOR", "false")
    app = make_app(indexed, "docs")
    app.launcher = lambda command, _app: subprocess.call(command.argv)
    async with app.run_test(size=SIZE) as pilot:
        await main_ready(pilot)
        await pilot.press(*"/overfitting", "enter")
        results = app.screen.query_one(ResultsPane)
        await wait_for(pilot, lambda: results.passages)
        results.focus()
        await pilot.press("o")
        await wait_for(
            pilot, lambda: any("exited with status 1" in n.message for n in app._notifications)
        )


# ---------------------------------------------------------------- 3: switching during a run


@pytest.fixture
def endless_index(indexed: Docchat, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Index runs that go on until cancelled: a deterministic run in progress."""
    started = threading.Event()

    def index(name: str, paths: Any, cancel: threading.Event | None = None) -> Iterator[object]:
        assert cancel is not None
        yield IndexStarted(name, 60)
        yield FileDone(Path(paths[0]) / "a.txt", "indexed", 1, None, 18, 60, 40)
        started.set()
        cancel.wait(30)
        yield IndexSummary(name, 18, 0, [], [], 0, 40, 0, 1.0, cancelled=True)

    monkeypatch.setattr(indexed, "index", index)
    return started


async def test_switching_collection_during_a_run_asks_first(
    indexed: Docchat, endless_index: threading.Event, home_docs: Path
) -> None:
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await main_ready(pilot)
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, IndexScreen))
        run = app.screen
        assert isinstance(run, IndexScreen)
        run.query_one("#index-name", Input).value = "more"
        run.query_one("#index-path").focus()
        await pilot.press(*str(home_docs), "enter", "ctrl+r")
        await wait_for(pilot, endless_index.is_set)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, CollectionsScreen))
        await wait_for(pilot, lambda: app.screen.names)
        await pilot.press("enter")  # open "docs": that would stop the run
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "still going (18/60 files)" in app.screen.question
        await pilot.press("n")  # no: back to the run's progress
        await wait_for(pilot, lambda: app.screen is run)
        assert run.running and run.cancel is not None and not run.cancel.is_set()
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, CollectionsScreen))
        await pilot.press("f3")  # F3 shows the run again, not a fresh indexing screen
        await wait_for(pilot, lambda: app.screen is run)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, CollectionsScreen))
        await wait_for(pilot, lambda: app.screen.names)
        await pilot.press("enter", "y")  # yes: stop it and open
        await main_ready(pilot)
        assert run.cancel.is_set()


async def test_quitting_during_a_run_asks_first(
    indexed: Docchat, endless_index: threading.Event, home_docs: Path
) -> None:
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await main_ready(pilot)
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, IndexScreen))
        run = app.screen
        run.query_one("#index-path").focus()
        await pilot.press(*str(home_docs), "enter", "ctrl+r")
        await wait_for(pilot, endless_index.is_set)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        assert app.is_running and app.screen is run
        await pilot.press("ctrl+q", "y")
        await wait_for(pilot, lambda: not app.is_running)
    assert run.cancel is not None and run.cancel.is_set()


# ---------------------------------------------------------------- 4: a reopened session's sources


async def test_a_reopened_session_cites_its_own_sources(indexed: Docchat) -> None:
    responses = indexed.generator().responses  # type: ignore[attr-defined]
    responses += ["Dropout does [1].", "Bread needs a starter [1]."]
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await main_ready(pilot)
        main = app.screen
        chat = main.query_one(ChatPane)
        await pilot.press(*"what reduces overfitting", "enter")
        await wait_for(pilot, lambda: main.session == 1 and not main.answering)
        first = chat.last_turn.answer.sources[0].path  # type: ignore[union-attr]
        await pilot.press("ctrl+n", *"how is sourdough bread made", "enter")
        await wait_for(pilot, lambda: main.session == 2 and not main.answering)
        assert chat.last_turn.answer.sources[0].path != first  # type: ignore[union-attr]
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen))
        await wait_for(pilot, lambda: len(app.screen.ids) == 2)
        await pilot.press("end", "enter")  # the older one: session 1
        await wait_for(pilot, lambda: app.screen is main and main.session == 1)
        await pilot.press("ctrl+y", "1")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen))
        assert app.screen.passage.path == first
        await pilot.press("escape")
        assert main.query_one(ResultsPane).passages[0].path == first


# ---------------------------------------------------------------- 5: F1


async def test_f1_and_escape_close_the_keys_panel(indexed: Docchat) -> None:
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await main_ready(pilot)
        await pilot.press("f1")
        assert app.screen.query(HelpPanel)
        await pilot.press("f1")
        await pilot.pause()
        assert not app.screen.query(HelpPanel)
        await pilot.press("f1")
        assert app.screen.query(HelpPanel)
        await pilot.press("escape")
        await pilot.pause()
        assert not app.screen.query(HelpPanel)
        assert isinstance(app.screen, MainScreen)


# ---------------------------------------------------------------- 6: settings, all or nothing


async def test_settings_save_all_or_nothing(indexed: Docchat) -> None:
    k = indexed.settings.search.k
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await main_ready(pilot)
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        screen = app.screen
        assert screen.focused is screen.query_one("#set-generate-backend")  # a field, focused
        assert "generator backend" in str(screen.query_one("#settings-help").render()).lower()
        screen.query_one("#set-search-k", Input).value = "3"
        screen.query_one("#set-generate-temperature", Input).value = "7"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: any("temperature" in n.message for n in app._notifications))
        assert isinstance(app.screen, SettingsScreen)  # stays open to fix the value
        path = config_path(indexed.config_file)
        saved = tomllib.loads(path.read_text()) if path.exists() else {}
        assert "k" not in saved.get("search", {})  # nothing written: not k = 3 alone
        assert indexed.settings.search.k == k
        await pilot.press("escape")  # edits pending: asks before discarding
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        assert app.screen is screen
        screen.query_one("#set-generate-temperature", Input).value = "0.5"
        await pilot.press("ctrl+s")
        await main_ready(pilot)
        saved = tomllib.loads(path.read_text())
        assert saved["search"]["k"] == 3 and saved["generate"]["temperature"] == 0.5
        assert app.screen.query_one("#query").has_focus  # typing goes to the input again


# ---------------------------------------------------------------- 7, 8: honest progress


async def test_progress_moves_per_embedding_batch(
    ui_service: Docchat, home_docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_screen, "POST_EVERY_S", 0.0)  # every batch's event reaches it
    for i in range(20):
        (home_docs / f"note{i:02}.txt").write_text(f"note {i} about rivers and bread\n")
    ui_service.settings.embed.batch_size = 4
    # Files are written in windows: the first is one batch (4 files), then, with a long
    # checkpoint interval, the other 19 files wait for their 19 chunks as one window.
    ui_service.settings.index.checkpoint_seconds = 3600
    # (the same windows however fast the files are read: no embedding while the next is read)
    monkeypatch.setattr(IndexRun, "_embed_while_reading", lambda *args: False)
    embedder = ui_service.embedder()
    calls = 0
    hold, holding = threading.Event(), threading.Event()
    embed = embedder.embed_batch

    def third_batch_waits(texts: Any) -> Any:
        nonlocal calls
        if "docchat fingerprint probe" not in texts:
            calls += 1
            if calls == 3:
                holding.set()
                hold.wait(30)
        return embed(texts)

    embedder.embed_batch = third_batch_waits  # type: ignore[method-assign]
    app = make_app(ui_service)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await to_index_screen(pilot, app)
            await pilot.press(*str(home_docs), "enter", "ctrl+r")
            await wait_for(pilot, holding.is_set)
            rate = screen.query_one("#index-rate")
            await wait_for(pilot, lambda: "embedding 4/19 chunks of 19 files" in str(rate.render()))
            # 4 files are stored; the window of 19 is a batch in: both bars moved, each its own.
            files = screen.query_one("#files-bar", ProgressBar)
            chunks = screen.query_one("#chunks-bar", ProgressBar)
            assert files.progress == 4 + 19 * 4 / 19 and files.total == 23
            assert chunks.progress == 4 and chunks.total == 19
            assert str(rate.render()).startswith("8/23 files · 8 chunks")
            hold.set()
            await wait_for(pilot, lambda: screen.finished is not None)
    finally:
        hold.set()


async def test_model_loading_is_named(
    ui_service: Docchat, home_docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loading, release = threading.Event(), threading.Event()
    real = ui_service.embedder

    def slow_embedder(model: str | None = None, precision: str | None = None) -> Any:
        loading.set()
        release.wait(30)
        return real(model, precision)

    monkeypatch.setattr(ui_service, "embedder", slow_embedder)
    app = make_app(ui_service)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await to_index_screen(pilot, app, "f3")
            await pilot.press(*str(home_docs), "enter", "ctrl+r")
            await wait_for(pilot, loading.is_set)
            rate = screen.query_one("#index-rate")
            await wait_for(pilot, lambda: "loading the embedding model" in str(rate.render()))
            release.set()
            await wait_for(pilot, lambda: screen.finished is not None)
    finally:
        release.set()


def test_rates_follow_recent_throughput() -> None:
    rate = RecentRate(window=10)
    rate.add(0, 0, 0)
    assert rate.rates() is None
    rate.add(50, 1, 10)  # a slow start: one file in 50 s (a model loading, a huge file)
    for t in range(51, 71):
        rate.add(t, 1 + (t - 50) * 5, 10 + (t - 50) * 50)  # then 5 files/s
    fps, cps = rate.rates() or (0, 0)
    assert fps == pytest.approx(5) and cps == pytest.approx(50)
    assert progress_line(101, 201, 1010, (fps, cps)).endswith("ETA 20s")
    assert progress_line(3, 10, 7, None) == "3/10 files · 7 chunks"


# ---------------------------------------------------------------- 9: the footer at 80 columns


@pytest.mark.parametrize(
    "screen_key", ["main", "results", "chat", "index", "index-done", "settings", "collections"]
)
async def test_the_footer_fits_80_columns(indexed: Docchat, screen_key: str) -> None:
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await main_ready(pilot)
        if screen_key == "results":
            await pilot.press("ctrl+r")
        elif screen_key == "chat":
            await pilot.press("ctrl+y")
        elif screen_key == "index":
            await pilot.press("f3")
        elif screen_key == "index-done":
            await pilot.press("f3")
            await wait_for(pilot, lambda: isinstance(app.screen, IndexScreen))
            app.screen.finished = IndexSummary("docs", 0, 3, [], [], 0, 0, 0, 0.1)
            app.screen.refresh_bindings()
        elif screen_key == "collections":
            await pilot.press("f2")
        elif screen_key == "settings":
            await pilot.press("f5")
        await pilot.pause()
        footer = app.screen.query_one(Footer)
        keys = sorted((w for w in footer.query("FooterKey") if w.display), key=lambda w: w.region.x)
        assert keys
        for key in keys:
            assert key.region.right <= SIZE[0]
            assert key.description in str(key.render())  # nothing cut off
        for left, right in itertools.pairwise(keys):
            assert left.region.right <= right.region.x, f"{left.description} is overdrawn"


# ---------------------------------------------------------------- 10: escapes in snippets


def test_markdown_escapes_and_pilcrows_are_not_shown(tmp_path: Path) -> None:
    text = "Sub-commands¶\nUse add\\_subparsers: \\>>> parser = argparse.ArgumentParser()"
    p = Passage(str(tmp_path / "a.html"), None, 1, 2, 0.5, text, heading="Sub-commands¶")
    pane = ResultsPane()
    pane.terms = ["subparsers"]
    shown = pane._render_passage(p).plain
    assert "add_subparsers" in shown and ">>> parser" in shown
    assert "\\" not in shown and "¶" not in shown
    body, _ = in_context(p)
    assert "\\" not in body.plain and "¶" not in body.plain


async def test_preview_title_has_no_pilcrow(indexed: Docchat, tmp_path: Path) -> None:
    p = Passage(str(tmp_path / "a.html"), None, 1, 1, 0.5, "x", heading="Sub-commands¶")
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await main_ready(pilot)
        await app.push_screen(PreviewScreen(p, []))
        title = app.screen.query_one("#preview-title").render()
        assert "§ Sub-commands" in str(title) and "¶" not in str(title)


# ---------------------------------------------------------------- 13: small ones


async def test_counts_hints_and_home_end(indexed: Docchat, home_docs: Path) -> None:
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await main_ready(pilot)
        results = app.screen.query_one(ResultsPane)
        await wait_for(pilot, lambda: results.option_count > 0)  # (its hint comes at mount)
        first = results.get_option_at_index(0).prompt
        assert "no hits" not in str(first) and "/words" in str(first)  # nothing searched yet
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, CollectionsScreen))
        await wait_for(pilot, lambda: app.screen.names)
        assert app.screen.sub_title == "1 collection"
    for name in ("more", "zz"):
        for _ in indexed.index(name, [home_docs]):
            pass
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await main_ready(pilot)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, CollectionsScreen))
        await wait_for(pilot, lambda: len(app.screen.names) == 3)
        table = app.screen.query_one(DataTable)
        await pilot.press("end")
        assert table.cursor_row == 2 and app.screen.selected == "zz"
        await pilot.press("home")
        assert table.cursor_row == 0 and app.screen.selected == "docs"


def test_export_header_is_markdown(indexed: Docchat) -> None:
    for _ in indexed.ask("docs", "what  reduces\noverfitting *now*", session="new"):
        pass
    text = indexed.export_session("docs", 1)
    title, blank, byline = text.split("\n")[:3]
    assert title == "# what reduces overfitting *now*"  # one line
    assert blank == ""
    assert byline.startswith("_docchat session 1, collection `docs`, ") and byline.endswith("_")
    assert byline.count("_") == 2  # no emphasis nested in the emphasis


# ---------------------------------------------------------------- UX: search, welcome, answer


async def test_search_keeps_the_query_and_says_how_many_and_how_fast(indexed: Docchat) -> None:
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await main_ready(pilot)
        await pilot.press(*"/overfitting", "enter")
        results = app.screen.query_one(ResultsPane)
        await wait_for(pilot, lambda: results.passages)
        query = app.screen.query_one("#query", Input)
        assert query.value == "/overfitting"  # to refine, or (selected) to type over
        n = len(results.passages)
        title = str(results.border_title)
        assert title.startswith(f"overfitting — {n} hit") and title.endswith(" ms")
        await pilot.press(*"/bread", "enter")
        await wait_for(pilot, lambda: str(results.border_title).startswith("bread"))
        assert query.value == "/bread"


async def test_welcome_starts_with_the_folder_and_opens_the_result(
    ui_service: Docchat, home_docs: Path
) -> None:
    app = make_app(ui_service)
    async with app.run_test(size=SIZE) as pilot:
        screen = await to_index_screen(pilot, app)
        assert screen.query_one("#index-path", Input).has_focus
        await pilot.press(*"~/docs", "enter")
        assert screen.query_one("#index-name", Input).value == "docs"  # proposed
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.finished is not None)
        await pilot.press("escape")  # after a run, Esc opens what was indexed
        await main_ready(pilot)
        assert app.screen.collection == "docs"


async def test_answer_shows_its_phases(indexed: Docchat) -> None:
    from ui_helpers import Gate

    gate = Gate(at=1)
    indexed.generator().on_piece = gate  # type: ignore[attr-defined]
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen) and app.models_ready)
        status = app.screen.query_one("#status")
        await pilot.press(*"what reduces overfitting", "enter")
        await wait_for(pilot, gate.reached.is_set)
        await wait_for(pilot, lambda: "generating" in str(status.render()))
        assert "Esc stops" in str(status.render())
        gate.release.set()
        await wait_for(pilot, lambda: not app.screen.answering)


async def test_long_questions_are_collapsed(indexed: Docchat) -> None:
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await main_ready(pilot)
        turn = await app.screen.query_one(ChatPane).new_turn("why " * 1500)
        await pilot.pause()
        shown = str(turn.query_one(".question").render())
        assert len(shown) < 400 and "5,999 characters" in shown


# ---------------------------------------------------------------- 2: an unreadable folder


async def test_an_unreadable_folder_is_one_line_and_opens_nothing(
    ui_service: Docchat, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The facade refuses the folder (its own tests check the message and that nothing is
    created; root reads everything, so it is simulated here): the screen says so in one line
    and neither opens a collection nor leaves the run hanging."""
    secret = tmp_path / "secret"
    secret.mkdir()

    def refused(name: str, paths: Any, cancel: Any = None) -> Iterator[object]:
        raise DocchatError(f"cannot read {secret}: permission denied")
        yield  # a generator, like the real one

    monkeypatch.setattr(ui_service, "index", refused)
    app = make_app(ui_service, folders=[str(secret)])  # like `docchat /…/secret`
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, IndexScreen))
        screen = app.screen
        rate = screen.query_one("#index-rate")
        await wait_for(pilot, lambda: "permission denied" in str(rate.render()))
        assert str(rate.render()) == f"failed: cannot read {secret}: permission denied"
        assert not screen.running and screen.finished is None
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen))
    assert "secret" not in ui_service.collection_names()


# ---------------------------------------------------------------- UX: the palette


async def test_the_palette_lists_docchat_actions_once_with_descriptions(indexed: Docchat) -> None:
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await main_ready(pilot)
        app.screen.query_one("#query").focus()  # an Input: its editing keys are many
        await pilot.pause()
        commands = list(app.get_system_commands(app.screen))
        titles = [c.title for c in commands]
        assert len(titles) == len(set(titles))  # each once ("Settings" was there twice)
        # Actions of panes that are not focused are there too.
        assert {"Open source", "Next citation", "Preview", "Settings", "Doctor"} <= set(titles)
        assert not any("cursor" in t.lower() or "delete" in t.lower() for t in titles)
        assert not any("app." in c.help or "main." in c.help for c in commands)  # no ids
        assert len(titles) < 25
