"""Helpers for the UI tests: build the app, wait for it, hold the fake generator."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from docchat.service import Docchat
from docchat.ui.app import DocchatApp
from docchat.ui.screens.index import IndexScreen
from docchat.ui.screens.welcome import WelcomeScreen

# Every UI test runs at 80×24 unless it says otherwise: the size the app must work at.
SIZE = (80, 24)


def make_app(
    service: Docchat,
    collection: str | None = None,
    folders: list[str] | None = None,
    launched: list[Any] | None = None,
) -> DocchatApp:
    app = DocchatApp(lambda: service, collection, folders or [])
    if launched is not None:
        app.launcher = lambda command, _app: launched.append(command)
    return app


async def wait_for(pilot: Any, condition: Callable[[], object], seconds: float = 20.0) -> None:
    """Let the app run until `condition()` holds (workers run on threads, so the UI needs
    a few turns of the event loop); fails the test if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        await pilot.pause(0.01)


async def to_index_screen(pilot: Any, app: DocchatApp, key: str = "enter") -> IndexScreen:
    """From the welcome screen to the indexing screen (Enter there, or F3 from anywhere)."""
    await wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen))
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, IndexScreen))
    screen = app.screen
    assert isinstance(screen, IndexScreen)
    return screen


class Gate:
    """Holds the fake generator after piece `at` until released: a deterministic mid-answer."""

    def __init__(self, at: int = 1) -> None:
        self.at = at
        self.reached = threading.Event()
        self.release = threading.Event()

    def __call__(self, i: int) -> None:
        if i == self.at:
            self.reached.set()
            self.release.wait(30)
