"""Verified answers through the facade and `docchat ask` (fake models, scripted replies)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fakes import FakeGenerator

from docchat.cli import main
from docchat.config import GenerateSettings
from docchat.generate import registry
from docchat.generate.base import Generator
from docchat.service import Docchat

REPLIES: list[str] = []
GOOD = "Dropout reduces overfitting in deep neural networks [3]."
BAD = "Paris is the capital of France and hosts the Louvre [1]."


def _scripted(settings: GenerateSettings) -> Generator:
    return FakeGenerator(name="scripted", responses=list(REPLIES))


registry.register_generator("scripted-claims", _scripted)


@pytest.fixture
def research(
    service: Docchat, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., str]]:
    list(service.index("research", [str(docs)]))
    monkeypatch.setenv("DOCCHAT_EMBED_BACKEND", "fake")
    monkeypatch.setenv("DOCCHAT_EMBED_MODEL", "fake-embedder")
    monkeypatch.setenv("DOCCHAT_GENERATE_BACKEND", "scripted-claims")
    monkeypatch.setenv("DOCCHAT_GENERATE_ABSTAIN_BELOW", "0.0")

    def reply(*texts: str) -> str:
        REPLIES[:] = texts
        registry.clear_cache()
        return "research"

    yield reply
    registry.clear_cache()


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def ask_json(*args: str) -> dict[str, Any]:
    result = cli("ask", "Does dropout reduce overfitting?", *args, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert isinstance(out, dict)
    return out


def test_ask_json_has_claims_support_and_the_raw_answer(research: Callable[..., str]) -> None:
    out = ask_json("-c", research(f"{GOOD} {BAD}"))
    good, bad = out["claims"]
    assert set(good) == {"text", "sources", "marked", "supported", "score"}
    dropout = [s["n"] for s in out["sources"] if s["path"].endswith("dropout.md")]
    assert good["marked"] == [3] and good["supported"]
    assert good["sources"] and good["sources"][0] in dropout
    assert bad["marked"] == [1] and not bad["supported"] and bad["sources"] == []
    assert out["support"] == 0.5 and out["cited"] == good["sources"]
    assert out["raw_answer"] == f"{GOOD} {BAD}"
    assert "[?]" in str(out["answer"]) and not out["abstained"]
    assert isinstance(out["timings"]["verify_ms"], float)


def test_verification_can_be_turned_off(
    research: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCCHAT_ANSWER_VERIFY", "false")
    out = ask_json("-c", research(f"{GOOD} {BAD}"))
    assert out["claims"] == [] and out["support"] is None and out["raw_answer"] is None
    assert out["answer"] == f"{GOOD} {BAD}" and out["cited"] == [3, 1]


def test_no_supported_claim_abstains_listing_the_nearest_passages(
    research: Callable[..., str],
) -> None:
    out = ask_json("-c", research(BAD))
    assert out["abstained"] and out["cited"] == [] and out["support"] == 0.0
    assert str(out["answer"]).startswith("Your documents don't say")
    assert "The nearest passages:" in str(out["answer"])


def test_cli_marks_unsupported_claims(research: Callable[..., str]) -> None:
    result = cli("ask", "Does dropout reduce overfitting?", "-c", research(f"{GOOD} {BAD}"))
    assert result.exit_code == 0, result.output
    assert f"{GOOD} {BAD}" in result.stdout  # streamed as written
    assert "Checked against the sources:" in result.stdout
    assert "[?] \u201cParis is the capital of France and hosts the Louvre.\u201d" in result.stdout
    assert "not found in your documents" in result.stdout


def test_md_output_and_hide(research: Callable[..., str], monkeypatch: pytest.MonkeyPatch) -> None:
    coll = research(f"{GOOD} {BAD}")
    md = cli("ask", "Does dropout reduce overfitting?", "-c", coll, "--format", "md").stdout
    assert "the Louvre [?]." in md and "[?] not found in your documents" in md
    monkeypatch.setenv("DOCCHAT_ANSWER_UNSUPPORTED", "hide")
    research(f"{GOOD} {BAD}")
    plain = cli("ask", "Does dropout reduce overfitting?", "-c", coll).stdout
    assert "Dropout reduces overfitting" in plain and "Paris" not in plain


def test_export_keeps_the_marks_as_a_footnote(research: Callable[..., str]) -> None:
    coll = research(f"{GOOD} {BAD}")
    assert cli("ask", "Does dropout help?", "-c", coll, "--session", "new").exit_code == 0
    md = cli("sessions", "export", "1", "-c", coll).stdout
    assert "the Louvre[^?]." in md and "[^?]: not found in your documents" in md
