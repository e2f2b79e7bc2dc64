"""SVG snapshots of the welcome, main (results, answer), preview, settings and indexing screens,
at 80×24 and (issue 12) 120×40.

Deterministic by construction: fixed documents under $HOME (shown as ~/docs), the fake models,
the indexing screen's clock frozen, and file names rather than absolute paths on screen.
Update with: pytest tests/ui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input
from ui_helpers import SIZE, make_app, to_index_screen, wait_for

from docchat.indexing import IndexRun
from docchat.service import Docchat
from docchat.types import Answer, Hit, LocalModel, Source
from docchat.ui.screens import index as index_screen
from docchat.ui.screens.main import MainScreen
from docchat.ui.screens.preview import PreviewScreen
from docchat.ui.screens.settings import SettingsScreen
from docchat.ui.screens.welcome import WelcomeScreen


async def steady(pilot: Any) -> None:
    """Stop cursor blinking: a snapshot must not depend on when in the blink it is taken."""
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False
    await pilot.pause()


@pytest.fixture
def fixed(indexed: Docchat, home_docs: Path, monkeypatch: pytest.MonkeyPatch) -> Docchat:
    """Search and ask return fixed results: the snapshots test the screen, not the ranking
    (which other tests cover and which is tuned over time)."""
    texts = {
        "dropout.md": (1, 7, "Regularisation", (home_docs / "dropout.md").read_text()),
        "bread.txt": (1, 2, None, (home_docs / "bread.txt").read_text()),
        "rivers.rst": (1, 4, "Rivers", (home_docs / "notes" / "rivers.rst").read_text()),
    }
    paths = {
        "dropout.md": home_docs / "dropout.md",
        "bread.txt": home_docs / "bread.txt",
        "rivers.rst": home_docs / "notes" / "rivers.rst",
    }
    scores = {"dropout.md": 0.912, "bread.txt": 0.537, "rivers.rst": 0.231}
    hits = [
        Hit(rank, scores[name], rank, str(paths[name]), None, start, end, heading, text)
        for rank, (name, (start, end, heading, text)) in enumerate(texts.items(), 1)
    ]
    sources = tuple(
        Source(h.rank, h.path, h.page, h.line_start, h.line_end, h.score, h.text, h.heading)
        for h in hits
    )

    def search(
        collection: str, query: str, k: int | None = None, mode: str | None = None
    ) -> list[Hit]:
        return hits

    def ask(collection: str, question: str, **kwargs: Any) -> Iterator[object]:
        text = "Dropout reduces **overfitting** by zeroing random activations [1]."
        yield from (piece + " " for piece in text.split(" "))
        yield Answer(text, question, question, sources, cited=(1,), model="fake", session=1)

    monkeypatch.setattr(indexed, "search", search)
    monkeypatch.setattr(indexed, "ask", ask)
    return indexed


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_screen, "now", lambda: 1000.0)


async def _main_ready(pilot: Any) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, MainScreen) and app.models_ready)
    await wait_for(pilot, lambda: "docs" in str(app.screen.sub_title))


def test_welcome_screen(ui_service: Docchat, snap_compare: Any) -> None:
    app = make_app(ui_service)

    async def ready(pilot: Any) -> None:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, WelcomeScreen))
        await steady(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_main_screen_with_results_and_chat(fixed: Docchat, snap_compare: Any) -> None:
    app = make_app(fixed, "docs")

    async def ready(pilot: Any) -> None:
        await _main_ready(pilot)
        screen = pilot.app.screen
        await pilot.press(*"/overfitting", "enter")
        await wait_for(pilot, lambda: screen.query_one("#results").passages)
        await pilot.press(*"what reduces overfitting", "enter")
        await wait_for(pilot, lambda: screen.session == 1 and not screen.answering)
        await steady(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_preview_of_a_hit(fixed: Docchat, snap_compare: Any) -> None:
    app = make_app(fixed, "docs")

    async def ready(pilot: Any) -> None:
        await _main_ready(pilot)
        screen = pilot.app.screen
        await pilot.press(*"/dropout training", "enter")
        await wait_for(pilot, lambda: screen.query_one("#results").passages)
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PreviewScreen))
        await steady(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_indexing_screen_after_a_run(
    ui_service: Docchat, home_docs: Path, snap_compare: Any
) -> None:
    (home_docs / "image.bin").write_bytes(b"\x00\x01binary" * 40)
    (home_docs / "empty.txt").write_text("")
    app = make_app(ui_service)

    async def ready(pilot: Any) -> None:
        app = pilot.app
        await to_index_screen(pilot, app)
        app.screen.query_one("#index-path").focus()
        await pilot.press(*"~/docs", "enter", "ctrl+r")
        await wait_for(pilot, lambda: app.screen.finished is not None)
        app.clear_notifications()  # toasts would cover the log
        await steady(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


# ---------------------------------------------------------------- issue 12: both sizes

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.mark.parametrize("size", SIZES)
def test_main_screen_with_results(fixed: Docchat, snap_compare: Any, size: tuple[int, int]) -> None:
    app = make_app(fixed, "docs")

    async def ready(pilot: Any) -> None:
        await _main_ready(pilot)
        screen = pilot.app.screen
        await pilot.press(*"/overfitting", "enter")
        await wait_for(pilot, lambda: screen.query_one("#results").passages)
        screen.query_one("#results").border_title = "overfitting — 3 hits · 12 ms"  # no clock
        screen.query_one("#status").update("3 hits · 12 ms · ↓ reaches the results")
        await steady(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES)
def test_main_screen_with_an_answer(
    fixed: Docchat, snap_compare: Any, size: tuple[int, int]
) -> None:
    app = make_app(fixed, "docs")

    async def ready(pilot: Any) -> None:
        await _main_ready(pilot)
        screen = pilot.app.screen
        await pilot.press(*"what reduces overfitting", "enter")
        await wait_for(pilot, lambda: screen.session == 1 and not screen.answering)
        await steady(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES)
def test_settings_screen(
    indexed: Docchat, snap_compare: Any, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The models found on this machine vary by machine: the snapshot shows a fixed one.
    model = LocalModel(
        "smollm2-135m-instruct", "bundled", "/m.gguf", 95 * 2**20, quantization="Q4_1"
    )
    monkeypatch.setattr(indexed, "local_models", lambda: [model])
    app = make_app(indexed, "docs")

    async def ready(pilot: Any) -> None:
        await _main_ready(pilot)
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SettingsScreen))
        await wait_for(pilot, lambda: not pilot.app.screen.query_one("#set-local-models").disabled)
        await steady(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES)
def test_indexing_screen_mid_run(
    ui_service: Docchat,
    home_docs: Path,
    snap_compare: Any,
    size: tuple[int, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for i in range(20):
        (home_docs / f"note{i:02}.txt").write_text(f"note {i} about rivers and bread\n")
    monkeypatch.setattr(index_screen, "POST_EVERY_S", 0.0)  # every batch reaches the screen
    ui_service.settings.embed.batch_size = 4
    ui_service.settings.index.checkpoint_seconds = 3600  # windows: 4 files, then 19
    # (the same windows however fast the files are read: no embedding while the next is read)
    monkeypatch.setattr(IndexRun, "_embed_while_reading", lambda *args: False)
    embedder = ui_service.embedder()
    calls = 0
    hold = threading.Event()
    embed = embedder.embed_batch

    def third_batch_waits(texts: Any) -> Any:
        nonlocal calls
        if "docchat fingerprint probe" not in texts:
            calls += 1
            if calls == 3:
                hold.wait(5)  # past the screenshot; the app can then shut down
        return embed(texts)

    embedder.embed_batch = third_batch_waits  # type: ignore[method-assign]
    app = make_app(ui_service)

    async def ready(pilot: Any) -> None:
        app = pilot.app
        await to_index_screen(pilot, app)
        await pilot.press(*"~/docs", "enter", "ctrl+r")
        rate = app.screen.query_one("#index-rate")
        await wait_for(pilot, lambda: "embedding 4/19" in str(rate.render()))
        await steady(pilot)

    try:
        assert snap_compare(app, terminal_size=size, run_before=ready)
    finally:
        hold.set()
