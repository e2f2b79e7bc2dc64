"""Search, preview, open, ask (streamed), stop mid-answer and follow a citation."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.geometry import Region
from textual.pilot import Pilot
from ui_helpers import SIZE, Gate, make_app, wait_for

from docchat.service import Docchat
from docchat.ui.opener import OpenCommand
from docchat.ui.screens.main import MainScreen
from docchat.ui.screens.preview import PreviewScreen
from docchat.ui.widgets.chat import ChatPane, ChatTurn
from docchat.ui.widgets.results import ResultsPane


async def test_search_shows_ranked_hits_and_preview(
    indexed: Docchat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDITOR", "vi")
    launched: list[OpenCommand] = []
    app = make_app(indexed, "docs", launched=launched)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.press(*"/overfitting", "enter")
        results = app.screen.query_one(ResultsPane)
        await wait_for(pilot, lambda: results.passages)
        assert results.passages[0].name == "dropout.md"
        assert results.terms == ["overfitting"]
        assert app.screen.query_one("#query").has_focus  # type the next query at once
        await pilot.press("down")  # ↓ from the input reaches the results
        assert results.has_focus
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen))
        text = str(app.screen.query_one("#preview-text").render())
        assert "Dropout reduces overfitting" in text
        await pilot.press("o")
        assert launched and launched[0].argv[:2] == ["vi", "+1"]
        assert launched[0].argv[-1].endswith("dropout.md")
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_toggle_to_search_mode(indexed: Docchat) -> None:
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.press("ctrl+t", *"sourdough", "enter")
        results = app.screen.query_one(ResultsPane)
        await wait_for(pilot, lambda: results.passages)
        assert results.passages[0].name == "bread.txt"
        assert app.screen.query_one(ChatPane).last_turn is None  # searched, not asked


async def test_ask_streams_then_shows_cited_answer(indexed: Docchat) -> None:
    gate = Gate(at=2)
    indexed.generator().on_piece = gate  # type: ignore[attr-defined]
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen) and app.models_ready)
        await pilot.press(*"what reduces overfitting", "enter")
        chat = app.screen.query_one(ChatPane)
        await wait_for(pilot, lambda: gate.reached.is_set())
        turn = chat.last_turn
        assert turn is not None and turn.answer is None
        # Three pieces were streamed before the gate: they are on screen already.
        await wait_for(pilot, lambda: "The documents say:" in turn.answer_md.source)
        gate.release.set()
        await wait_for(pilot, lambda: turn.answer is not None)
        answer = turn.answer
        assert answer is not None and answer.cited == (1,)
        assert "(cite:1)" in turn.answer_md.source  # [1] became a selectable link
        assert "[1] dropout.md" in str(turn.meta.render())
        results = app.screen.query_one(ResultsPane)
        assert str(results.border_title) == "Sources of the answer"
        assert results.passages[0].cited


async def test_escape_stops_the_answer_mid_stream(indexed: Docchat) -> None:
    gate = Gate(at=1)
    generator = indexed.generator()
    generator.on_piece = gate  # type: ignore[attr-defined]
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.press(*"what reduces overfitting", "enter")
        await wait_for(pilot, lambda: gate.reached.is_set())
        await pilot.press("escape")
        screen = app.screen
        assert isinstance(screen, MainScreen) and screen.cancel is not None
        assert screen.cancel.is_set()
        gate.release.set()
        turn = screen.query_one(ChatPane).last_turn
        assert turn is not None
        await wait_for(pilot, lambda: turn.answer is not None)
        assert turn.answer is not None and turn.answer.stopped
        assert generator.pieces_yielded == 2  # type: ignore[attr-defined]
        assert "stopped" in str(turn.meta.render())
        assert not screen.answering


async def answered(pilot: Pilot[int], question: str) -> ChatTurn:
    """Ask on the main screen; returns the chat turn once its answer is complete."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
    await pilot.press(*question, "enter")
    chat = app.screen.query_one(ChatPane)
    await wait_for(pilot, lambda: chat.last_turn and chat.last_turn.answer is not None)
    assert chat.last_turn is not None
    return chat.last_turn


async def test_choosing_a_citation_previews_its_source(indexed: Docchat) -> None:
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await answered(pilot, "what reduces overfitting")
        await pilot.press("ctrl+y")  # focus the chat pane
        assert app.screen.query_one(ChatPane).has_focus
        await pilot.press("1")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen))
        assert Path(app.screen.passage.path).name == "dropout.md"
        assert app.screen.passage.cited
        await pilot.press("escape")
        await pilot.press("right_square_bracket")  # next citation: the same, only one cited
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen))
        await pilot.press("escape")
        results = app.screen.query_one(ResultsPane)
        assert results.highlighted == 0


async def test_clicking_one_citation_of_a_list_previews_that_source(indexed: Docchat) -> None:
    """`[1, 2]` counts as citing both sources, so both must be clickable (they were not)."""
    indexed.settings.answer.verify = False  # the model's own markers, as written
    indexed.generator().responses.append("Dropout and bread [1, 2].")  # type: ignore[attr-defined]
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        turn = await answered(pilot, "what reduces overfitting")
        assert turn.answer is not None and turn.answer.cited == (1, 2)
        await pilot.pause()  # let the answer's Markdown render
        second = app.screen.query_one(ResultsPane).passages[1]
        assert await pilot.click(offset=link_at(app, turn.answer_md.region, "cite:2"))
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen))
        assert app.screen.passage == second


def link_at(app: object, region: Region, href: str) -> tuple[int, int]:
    """Where on screen the link to `href` is drawn."""
    screen = app.screen  # type: ignore[attr-defined]
    for y in range(region.y, region.bottom):
        for x in range(region.x, region.right):
            if href in str(screen.get_style_at(x, y).meta.get("@click", "")):
                return x, y
    raise AssertionError(f"no link to {href} on screen")


async def test_new_chat_clears_and_starts_a_new_session(indexed: Docchat) -> None:
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        screen = app.screen
        await pilot.press(*"what reduces overfitting", "enter")
        await wait_for(pilot, lambda: screen.session == 1)
        await pilot.press(*"and bread", "enter")
        await wait_for(pilot, lambda: len(screen.query(".turn")) == 2 and not screen.answering)
        assert screen.session == 1  # the follow-up continued the same session
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen.session is None and not screen.query(".turn")
        await pilot.press(*"sourdough", "enter")
        await wait_for(pilot, lambda: screen.session == 2)


async def test_a_new_question_replaces_the_one_being_answered(indexed: Docchat) -> None:
    gate = Gate(at=1)
    indexed.generator().on_piece = gate  # type: ignore[attr-defined]
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        screen = app.screen
        await pilot.press(*"what reduces overfitting", "enter")
        await wait_for(pilot, lambda: gate.reached.is_set())
        await pilot.press(*"how is bread made", "enter")
        gate.release.set()
        turns = list(screen.query(ChatTurn))
        await wait_for(pilot, lambda: len(turns) == 2 or len(screen.query(ChatTurn)) == 2)
        first, second = list(screen.query(ChatTurn))
        await wait_for(pilot, lambda: second.answer is not None)
        await pilot.pause()
        assert first.answer is None  # its late pieces and answer were dropped
        assert "replaced" in str(first.meta.render())
        assert second.answer.question == "how is bread made"
        assert "bread.txt" in str(second.meta.render())


async def test_an_abstained_answer_says_so(indexed: Docchat) -> None:
    indexed.settings.generate.abstain_below = 0.99
    app = make_app(indexed, "docs")
    async with app.run_test(size=SIZE) as pilot:
        turn = await answered(pilot, "what is the capital of peru")
        assert turn.answer is not None and turn.answer.abstained
        assert "not found in the documents" in str(turn.meta.render())
