"""Instant start, errors as notifications, the log file, bindings and the command palette."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.dom import DOMNode
from ui_helpers import SIZE, make_app, wait_for

from docchat.config import UISettings
from docchat.errors import CollectionLocked
from docchat.logs import setup_logging
from docchat.service import Docchat
from docchat.ui.app import DocchatApp
from docchat.ui.opener import open_command
from docchat.ui.screens.main import MainScreen
from docchat.ui.screens.welcome import WelcomeScreen

HEAVY = ("torch", "faiss", "llama_cpp", "transformers", "sentence_transformers")


def test_importing_the_app_loads_nothing_heavy() -> None:
    code = f"import sys, docchat.ui.app; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_first_frame_comes_before_heavy_imports(tmp_path: Path) -> None:
    """The real `run_app` path with the real (default) settings, in a fresh interpreter."""
    code = textwrap.dedent(
        """
        import asyncio, sys
        from docchat.cli.common import AppContext
        from docchat.ui.app import DocchatApp

        async def main():
            app = DocchatApp(AppContext().service)
            async with app.run_test() as pilot:
                while app.heavy_at_first_frame is None:
                    await pilot.pause(0.01)
                print(app.heavy_at_first_frame)

        asyncio.run(main())
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


async def test_unknown_collection_is_a_notification(ui_service: Docchat) -> None:
    app = make_app(ui_service, "nope")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        await wait_for(
            pilot,
            lambda: any("no collection named 'nope'" in n.message for n in app._notifications),
        )


async def test_failing_search_does_not_crash_the_app(
    indexed: Docchat, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    log_file = setup_logging(tmp_path / "logs")
    assert log_file is not None

    def locked(*args: object, **kwargs: object) -> None:
        raise CollectionLocked("collection 'docs' is being written by pid 1")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        monkeypatch.setattr(indexed, "search", locked)
        await pilot.press(*"/dropout", "enter")
        await wait_for(pilot, lambda: any("being written" in n.message for n in app._notifications))
        monkeypatch.setattr(indexed, "ask", broken)
        await pilot.press(*"what is dropout", "enter")
        await wait_for(pilot, lambda: any("RuntimeError" in n.message for n in app._notifications))
        assert app.is_running and not app.screen.answering
        assert "error:" in str(app.screen.query_one(".meta").render())
    for handler in logging.getLogger("docchat").handlers:
        handler.flush()
    assert "Traceback" in log_file.read_text() and "boom" in log_file.read_text()


async def test_models_failing_to_load_is_reported(
    indexed: Docchat, monkeypatch: pytest.MonkeyPatch
) -> None:
    from docchat.errors import ModelError

    def missing(*args: object, **kwargs: object) -> None:
        raise ModelError("model file not found: /x.gguf")

    monkeypatch.setattr(indexed, "generator", missing)
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.models_error is not None)
        assert "model file not found" in app.models_error
        assert "models failed" in str(app.screen.query_one("#status").render())


async def test_every_binding_has_an_id_and_is_in_the_palette(indexed: Docchat) -> None:
    from docchat.ui.screens import collections, dialogs, index, main, preview, sessions, settings
    from docchat.ui.widgets import chat, results

    classes: list[type[DOMNode]] = [
        DocchatApp,
        main.MainScreen,
        index.IndexScreen,
        collections.CollectionsScreen,
        sessions.SessionsScreen,
        settings.SettingsScreen,
        preview.PreviewScreen,
        dialogs.ConfirmScreen,
        dialogs.PromptScreen,
        WelcomeScreen,
        chat.ChatPane,
        results.ResultsPane,
    ]
    for cls in classes:
        for binding in cls.BINDINGS:
            assert isinstance(binding, Binding), f"{cls.__name__}: {binding} is not a Binding"
            assert binding.id, f"{cls.__name__}: {binding.key} has no id"
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for title in (
            "Ask/Search",
            "New chat",
            "Export chat",
            "Collections",
            "Index",
            "Sessions",
            "Settings",
            "Stop",
            "Theme",
        ):
            assert title in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"collections", "enter")
        from docchat.ui.screens.collections import CollectionsScreen

        await wait_for(pilot, lambda: isinstance(app.screen, CollectionsScreen))


def test_open_command() -> None:
    ui = UISettings(pdf_viewer="zathura -P {page} {path}", editor="")
    pdf = open_command("/d/My Paper.pdf", 4, 10, ui, {})
    assert pdf is not None and pdf.argv == ["zathura", "-P", "4", "/d/My Paper.pdf"]
    text = open_command("/d/a.md", None, 12, ui, {"EDITOR": "nvim -R"})
    assert text is not None and text.argv == ["nvim", "-R", "+12", "/d/a.md"] and text.suspend
    paged = open_command("/d/a.md", None, 12, ui, {"PAGER": "less -R"})
    assert paged is not None and paged.argv == ["less", "-R", "+12g", "/d/a.md"]
    configured = open_command("/d/a.md", None, 3, UISettings(editor="hx"), {"EDITOR": "vi"})
    assert configured is not None and configured.argv == ["hx", "+3", "/d/a.md"]
