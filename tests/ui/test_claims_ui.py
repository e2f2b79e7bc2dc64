"""Checked answers in the app: unsupported claims in italics with a footnote, and choosing a
claim previews its source with the supporting sentence highlighted (fake models)."""

from __future__ import annotations

import pytest
from test_main_flows import answered
from textual.widgets import Static
from ui_helpers import make_app, wait_for

from docchat.service import Docchat
from docchat.ui.opener import OpenCommand
from docchat.ui.screens.main import MainScreen
from docchat.ui.screens.preview import SUPPORT_STYLE, PreviewScreen

GOOD = "Dropout reduces overfitting in deep neural networks [2]."
BAD = "Sourdough needs a very hot volcano to rise properly [1]."


async def test_unsupported_claims_are_marked_and_a_claim_shows_its_sentence(
    indexed: Docchat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDITOR", "vi")
    indexed.generator().responses.append(f"{GOOD} {BAD}")  # type: ignore[attr-defined]
    launched: list[OpenCommand] = []
    app = make_app(indexed, "docs", launched=launched)
    async with app.run_test(size=(120, 40)) as pilot:
        turn = await answered(pilot, "what reduces overfitting")
        answer = turn.answer
        assert answer is not None and [c.supported for c in answer.claims] == [True, False]
        assert "*Sourdough needs a very hot volcano to rise properly* [?]." in turn.answer_md.source
        assert "[?] not found in your documents" in str(turn.meta.render())
        await pilot.press("ctrl+y", "c")  # the first claim
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen))
        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        assert preview.passage.path.endswith("dropout.md")
        assert preview.sentences == answer.claims[0].evidence
        marked = [
            preview.body.plain[s.start : s.end]
            for s in preview.body.spans
            if s.style == SUPPORT_STYLE
        ]
        assert "Dropout reduces overfitting in deep neural networks." in marked
        await pilot.press("o")  # opens the file at the supporting sentence, not the passage
        assert launched and launched[0].argv[:2] == ["vi", "+7"]
        await pilot.press("escape", "c")  # the second claim: no source to show, only words
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        status = app.screen.query_one("#status", Static)
        await wait_for(pilot, lambda: "claim 2/2: not found in" in str(status.render()))
