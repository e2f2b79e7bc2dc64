"""UI test fixtures: the real app over the real facade, with the fake embedder and generator."""

from __future__ import annotations

import asyncio
import inspect
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from docchat.config import Settings
from docchat.service import Docchat


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests on a fresh event loop (no pytest-asyncio needed)."""
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        names = pyfuncitem._fixtureinfo.argnames
        asyncio.run(pyfuncitem.obj(**{n: pyfuncitem.funcargs[n] for n in names}))
        return True
    return None


@pytest.fixture
def ui_settings(fake_settings: Settings) -> Settings:
    fake_settings.generate.backend = "fake"
    fake_settings.generate.model = "fake-generator"
    # The fake embedder's cosines are not calibrated: never abstain unless a test asks to.
    fake_settings.generate.abstain_below = 0.0
    # Following the open collection's folders (on by default) would change the status line
    # and write to the collection behind the tests' backs; test_watch_ui.py turns it on.
    fake_settings.index.watch = False
    return fake_settings


@pytest.fixture
def ui_service(ui_settings: Settings) -> Iterator[Docchat]:
    service = Docchat(ui_settings)
    # Loaded generators are cached per process: reset the shared fake between tests.
    generator = service.generator()
    generator.on_piece = None  # type: ignore[attr-defined]
    generator.pieces_yielded = 0  # type: ignore[attr-defined]
    generator.responses.clear()  # type: ignore[attr-defined]
    yield service
    generator.on_piece = None  # type: ignore[attr-defined]
    generator.responses.clear()  # type: ignore[attr-defined]


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
