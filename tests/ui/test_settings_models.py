"""Issue 16: the settings screen offers the chat models already on this machine (found in a
worker, so the form is usable at once); picking one fills Model and Ctrl+S saves it."""

from __future__ import annotations

import threading
import tomllib
from typing import Any

import pytest
from textual.widgets import Input, Select
from ui_helpers import SIZE, make_app, wait_for

from docchat.config import config_path
from docchat.service import Docchat
from docchat.types import LocalModel
from docchat.ui.screens.main import MainScreen
from docchat.ui.screens.settings import SettingsScreen

SMALL = LocalModel(
    "qwen2.5-1.5b-instruct-q4_k_m",
    "hf-cache",
    "/models/qwen.gguf",
    1_100_000_000,
    parameters="1.5B",
    quantization="Q4_K_M",
)
HUGE = LocalModel(
    "llama3:70b", "ollama", "/models/blob", 40 * 2**30, quantization="Q4_0", too_big="needs 42 GB"
)


async def open_settings(pilot: Any) -> SettingsScreen:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, MainScreen) and app.screen.query("#chat"))
    await pilot.press("f5")
    await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
    screen: SettingsScreen = app.screen
    return screen


async def test_picking_a_local_model_fills_model_and_saves(
    indexed: Docchat, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = threading.Event()  # the list arrives only when the test lets the worker finish

    def local_models() -> list[LocalModel]:
        found.wait(20)
        return [SMALL, HUGE]

    monkeypatch.setattr(indexed, "local_models", local_models)
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        local = screen.query_one("#set-local-models", Select)
        assert local.disabled  # still looking: the form is already usable
        assert screen.focused is screen.query_one("#set-generate-backend")
        found.set()
        await wait_for(pilot, lambda: not local.disabled)
        labels = [str(prompt) for prompt, _ in local._options]
        assert any("qwen2.5-1.5b-instruct-q4_k_m (1.5B, Q4_K_M, 1.0 GB)" in x for x in labels)
        assert any("llama3:70b" in x and "too big: needs 42 GB" in x for x in labels)
        local.value = SMALL.name
        model = screen.query_one("#set-generate-model", Input)
        await wait_for(pilot, lambda: model.value == SMALL.name)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        saved = tomllib.loads(config_path(indexed.config_file).read_text())
        assert saved["generate"]["model"] == SMALL.name
        assert indexed.settings.generate.model == SMALL.name


async def test_a_failed_model_search_leaves_the_form_working(
    indexed: Docchat, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> list[LocalModel]:
        raise PermissionError("[Errno 13] Permission denied: '/root/.ollama/models'")

    monkeypatch.setattr(indexed, "local_models", broken)
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_settings(pilot)
        local = screen.query_one("#set-local-models", Select)
        await wait_for(pilot, lambda: "could not list models" in str(local.prompt))
        assert local.disabled and isinstance(app.screen, SettingsScreen)
        screen.query_one("#set-generate-model", Input).value = "/models/mine.gguf"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert indexed.settings.generate.model == "/models/mine.gguf"
