"""The app with the model in its own process: a crash or a broken model file is a
notification, the app and the session go on; the doctor's report from the palette."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ui_helpers import SIZE, make_app, wait_for

from docchat.generate import registry
from docchat.service import Docchat
from docchat.ui.screens.doctor import DoctorScreen
from docchat.ui.screens.main import MainScreen
from docchat.ui.widgets.chat import ChatPane


@pytest.fixture
def in_child(indexed: Docchat) -> Iterator[Docchat]:
    """The fake generator in a model process, as llama.cpp runs."""
    indexed.settings.generate.backend = "fake-process"
    yield indexed
    registry.clear_cache()  # ends the child


def notified(app: object, text: str) -> bool:
    return any(text in n.message for n in app._notifications)  # type: ignore[attr-defined]


async def ask(pilot, app, question: str) -> None:  # type: ignore[no-untyped-def]
    chat = app.screen.query_one(ChatPane)
    before = chat.last_turn
    await pilot.press(*question, "enter")
    await wait_for(pilot, lambda: chat.last_turn is not before and not app.screen.answering)


async def test_a_crash_is_a_notification_and_the_session_goes_on(in_child: Docchat) -> None:
    app = make_app(in_child, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen) and app.models_ready)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await ask(pilot, app, "what reduces overfitting")
        session = screen.session
        assert session is not None

        await ask(pilot, app, "does dropout CRASH_SIGSEGV")
        await wait_for(pilot, lambda: notified(app, "the model process crashed (SIGSEGV)"))
        assert app.is_running and isinstance(app.screen, MainScreen)
        crashed = screen.query_one(ChatPane).last_turn
        assert crashed is not None and crashed.answer is None
        assert crashed.answer_md.source.startswith("The documents")  # the partial answer stays
        assert "error: the model process crashed (SIGSEGV)" in str(crashed.meta.render())
        assert screen.session == session

        await ask(pilot, app, "and what reduces overfitting")  # a new model process answers
        turn = screen.query_one(ChatPane).last_turn
        assert turn is not None
        await wait_for(pilot, lambda: turn.answer is not None)
        assert turn.answer is not None
        assert turn.answer.cited == (1,) and turn.answer.session == session


async def test_a_broken_model_file_is_a_notification(indexed: Docchat, tmp_path: Path) -> None:
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"\x00" * 64)
    indexed.settings.generate.backend = "llama-cpp"
    indexed.settings.generate.model = str(bad)
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.models_error is not None)
        assert "is not a GGUF model file" in app.models_error and str(bad) in app.models_error
        assert notified(app, "is not a GGUF model file")
        await ask(pilot, app, "what reduces overfitting")
        assert app.is_running and isinstance(app.screen, MainScreen)
        turn = app.screen.query_one(ChatPane).last_turn
        assert turn is not None and "error:" in str(turn.meta.render())


async def test_the_doctor_from_the_palette(indexed: Docchat) -> None:
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert "Doctor" in {c.title for c in app.get_system_commands(app.screen)}
        await pilot.press("ctrl+p")
        await pilot.press(*"doctor", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DoctorScreen))
        doctor = app.screen
        assert isinstance(doctor, DoctorScreen)
        await wait_for(pilot, lambda: doctor.finished, seconds=120)
        ids = [c.id for c in doctor.checks]
        assert ids[:3] == ["python", "packages", "cpu"] and ids[-2:] == ["embedder", "generator"]
        assert "collection:docs" in ids
        assert len(doctor.query(".doctor-row")) == len(ids)
        statuses = {c.id: c.status for c in doctor.checks}
        assert statuses["generator"] == "pass" and statuses["embedder"] == "pass"
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
