"""The indexing screen: add a folder (with completion), run, watch progress, stop cleanly."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from textual.widgets import Input, OptionList, ProgressBar, RichLog, Static
from ui_helpers import SIZE, make_app, to_index_screen, wait_for

from docchat.service import Docchat
from docchat.types import IndexStarted, IndexSummary, OcrProgress
from docchat.ui.formatting import collection_name_for, rate_line
from docchat.ui.messages import IndexProgress
from docchat.ui.screens import index as index_screen
from docchat.ui.screens.index import IndexScreen
from docchat.ui.screens.main import MainScreen
from docchat.ui.widgets.path_input import complete_path


def log_text(screen: IndexScreen) -> str:
    return "\n".join(line.text for line in screen.query_one(RichLog).lines)


async def test_welcome_then_index_a_folder_and_open_it(
    ui_service: Docchat, home_docs: Path
) -> None:
    (home_docs / "image.bin").write_bytes(b"\x00\x01\x02binary" * 50)
    app = make_app(ui_service)
    async with app.run_test(size=SIZE) as pilot:
        screen = await to_index_screen(pilot, app)
        assert screen.query_one("#index-path", Input).has_focus  # the folder first
        await pilot.press(*"~/do")
        path_input = screen.query_one("#index-path", Input)
        await wait_for(pilot, lambda: path_input._suggestion == "~/docs/")
        await pilot.press("right")  # accept the completion
        assert path_input.value == "~/docs/"
        await pilot.press("enter")
        assert screen.folders == [home_docs]
        assert screen.query_one("#index-name", Input).value == "docs"  # named after the folder
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.finished is not None)
        files = screen.query_one("#files-bar", ProgressBar)
        assert files.total == files.progress == 4
        assert screen.finished.indexed == 3
        assert "skipped image.bin" in log_text(screen).replace("  ", " ").replace("  ", " ")
        assert "done in" in str(screen.query_one("#index-rate").render())
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.screen.collection == "docs"
        assert ui_service.settings.ui.last_collection == "docs"


async def test_bad_folder_is_a_notification(ui_service: Docchat) -> None:
    app = make_app(ui_service)
    async with app.run_test(size=SIZE) as pilot:
        await to_index_screen(pilot, app, "f3")
        app.screen.query_one("#index-path").focus()
        await pilot.press(*"/no/such/folder", "enter")
        assert app.screen.folders == []
        assert any("no such file or folder" in n.message for n in app._notifications)


async def test_escape_stops_indexing_and_the_collection_stays_consistent(
    ui_service: Docchat, home_docs: Path
) -> None:
    for i in range(30):
        (home_docs / f"note{i:02}.txt").write_text(f"note {i} about rivers and bread\n")
    embedder = ui_service.embedder()
    gate = threading.Event()
    holding = threading.Event()
    embed = embedder.embed_batch

    def held(texts: Sequence[str]) -> np.ndarray:  # hold the chunks' batch, not the probe
        if "docchat fingerprint probe" not in texts:
            holding.set()
            gate.wait(30)
        return embed(texts)

    embedder.embed_batch = held  # type: ignore[method-assign]
    app = make_app(ui_service, folders=[str(home_docs)])  # like `docchat ~/docs`
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, IndexScreen))
            screen = app.screen
            await wait_for(pilot, lambda: screen._files_total == 33)
            # Press Esc while the run is inside the embedder (not before it gets there).
            await wait_for(pilot, holding.is_set)
            assert screen.running
            await pilot.press("escape")
            assert screen.cancel is not None and screen.cancel.is_set()
            assert "stopping" in str(screen.query_one("#index-rate").render())
            gate.set()
            await wait_for(pilot, lambda: screen.finished is not None)
            assert screen.finished.cancelled
            assert "stopped in" in str(screen.query_one("#index-rate").render())
            assert isinstance(app.screen, IndexScreen)  # a stopped run does not open it
    finally:
        gate.set()  # never leave the worker thread blocked
    assert ui_service.check("docs").ok


async def test_folder_argument_indexes_then_opens(ui_service: Docchat, home_docs: Path) -> None:
    app = make_app(ui_service, folders=[str(home_docs)])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.screen.collection == "docs"
        await wait_for(pilot, lambda: "3 docs" in str(app.screen.sub_title))


async def test_remove_a_folder_before_starting(ui_service: Docchat, home_docs: Path) -> None:
    app = make_app(ui_service)
    async with app.run_test(size=SIZE) as pilot:
        screen = await to_index_screen(pilot, app, "f3")
        screen.query_one("#index-path").focus()
        await pilot.press(*str(home_docs), "enter", *str(home_docs / "notes"), "enter")
        assert len(screen.folders) == 2
        screen.query_one("#index-folders", OptionList).focus()
        await pilot.press("down", "delete")
        assert len(screen.folders) == 1


def test_complete_path(tmp_path: Path) -> None:
    tmp_path = tmp_path / "tree"
    tmp_path.mkdir()
    (tmp_path / "papers").mkdir()
    (tmp_path / "pictures").mkdir()
    (tmp_path / "paper.txt").write_text("x")
    (tmp_path / ".hidden").mkdir()
    assert complete_path(f"{tmp_path}/pa") == f"{tmp_path}/papers/"
    assert complete_path(f"{tmp_path}/pi") == f"{tmp_path}/pictures/"
    assert complete_path(f"{tmp_path}/pa", dirs_only=False) == f"{tmp_path}/paper.txt"
    assert complete_path(f"{tmp_path}/x") is None
    assert complete_path(f"{tmp_path}/.h") == f"{tmp_path}/.hidden/"
    assert complete_path(f"{tmp_path}/") == f"{tmp_path}/papers/"


def test_names_and_rates() -> None:
    assert collection_name_for(Path("/x/My Papers (2024)")) == "My-Papers-2024"
    assert collection_name_for(Path("/x/...")) == "docs"
    assert rate_line(0, 10, 0, 0.0) == "0/10 files · 0 chunks"
    assert (
        rate_line(5, 10, 50, 2.0) == "5/10 files · 50 chunks · 2.5 files/s · 25 chunks/s · ETA 2s"
    )


async def test_progress_is_coalesced(
    ui_service: Docchat, home_docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(300):
        (home_docs / f"n{i:03}.txt").write_text(f"note {i} about rivers\n")
        (home_docs / f"b{i:03}.bin").write_bytes(b"\x00\x01" * 10)
    monkeypatch.setattr(index_screen, "POST_EVERY_S", 3600.0)  # one message for the whole run
    seen: list[IndexProgress] = []
    original = IndexScreen.on_index_progress

    def counting(self: IndexScreen, message: IndexProgress) -> None:
        seen.append(message)
        original(self, message)

    monkeypatch.setattr(IndexScreen, "on_index_progress", counting)
    app = make_app(ui_service, folders=[str(home_docs)])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), seconds=60)
    assert len(seen) <= 2  # the first event, then the final flush: not 603 messages
    assert seen[-1].files_done == seen[-1].files_total == 603
    assert sum(len(m.log) for m in seen) <= 2 * index_screen.LOG_PER_POST
    assert sum(len(m.log) + m.unlogged for m in seen) == 300


async def test_a_file_read_by_ocr_shows_its_pages_on_the_indexing_screen(
    ui_service: Docchat, home_docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: a long scan is not a frozen screen; the OCR page count shows until the run
    moves on."""
    shown = threading.Event()

    def index(
        name: str, paths: Sequence[Path], cancel: threading.Event | None = None
    ) -> Iterator[object]:
        assert cancel is not None
        yield IndexStarted(name, 2)
        yield OcrProgress(Path(paths[0]) / "scan.pdf", 7)
        cancel.wait(30)  # until the test has read the screen and pressed Esc
        yield IndexSummary(name, 0, 0, [], [], 0, 0, 0, 1.0, cancelled=True, ocr_pages=7)

    monkeypatch.setattr(ui_service, "index", index)
    app = make_app(ui_service, folders=[str(home_docs)])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, IndexScreen))

        def says() -> bool:
            text = str(app.screen.query_one("#index-rate", Static).render())
            if "reading scan.pdf by OCR — 7 pages read" in text:
                shown.set()
            return shown.is_set()

        await wait_for(pilot, says)
        await pilot.press("escape")
        await wait_for(
            pilot,
            lambda: (
                "(7 pages read by OCR)" in str(app.screen.query_one("#index-rate", Static).render())
            ),
        )


async def test_the_summary_notes_are_shown_in_the_log(ui_service: Docchat, home_docs: Path) -> None:
    """A file a limit cut short (and any other note of the run) is said on the screen too,
    not only by the CLI."""
    ui_service.settings.index.max_chunks_per_file = 1
    (home_docs / "long.txt").write_text(
        "\n\n".join(f"Paragraph {i} about rivers, silt and the sea." * 8 for i in range(12))
    )
    app = make_app(ui_service)
    async with app.run_test(size=SIZE) as pilot:
        screen = await to_index_screen(pilot, app)
        await pilot.press(*str(home_docs), "enter", "ctrl+r")
        await wait_for(pilot, lambda: screen.finished is not None)
        assert screen.finished.notes
        await wait_for(pilot, lambda: "long.txt: capped at 1 chunks" in log_text(screen))
