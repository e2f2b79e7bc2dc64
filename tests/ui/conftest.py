"""UI test helpers: the real app over the real facade, with the fake embedder and generator."""

from __future__ import annotations

import asyncio
import inspect
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from docchat.config import Settings
from docchat.service import Docchat
from docchat.ui.app import DocchatApp


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests on a fresh event loop (no pytest-asyncio needed)."""
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        names = pyfuncitem._fixtureinfo.argnames
        asyncio.run(pyfuncitem.obj(**{n: pyfuncitem.funcargs[n] for n in names}))
        return True
    return None


# Every UI test runs at 80×24 unless it says otherwise: the size the app must work at.
SIZE = (80, 24)


@pytest.fixture
def ui_settings(fake_settings: Settings) -> Settings:
    fake_settings.generate.backend = "fake"
    fake_settings.generate.model = "fake-generator"
    return fake_settings


@pytest.fixture
def ui_service(ui_settings: Settings) -> Iterator[Docchat]:
    service = Docchat(ui_settings)
    # Loaded generators are cached per process: reset the shared fake between tests.
    generator = service.generator()
    generator.on_piece = None  # type: ignore[attr-defined]
    generator.pieces_yielded = 0  # type: ignore[attr-defined]
    yield service
    generator.on_piece = None  # type: ignore[attr-defined]


@pytest.fixture
def home_docs(docs: Path) -> Path:
    """The `docs` folder moved under $HOME, so the app shows it as ~/docs on every run."""
    target = Path.home() / "docs"
    shutil.copytree(docs, target)
    return target


@pytest.fixture
def indexed(ui_service: Docchat, home_docs: Path) -> Docchat:
    """A collection "docs" holding the three documents."""
    for _ in ui_service.index("docs", [home_docs]):
        pass
    return ui_service


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
