"""`docchat search --explain / --json` show each retriever's rank and score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from docchat.cli import main


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, docs: Path) -> CliRunner:
    monkeypatch.setenv("DOCCHAT_PLUGINS", "fakes")
    monkeypatch.setenv("DOCCHAT_EMBED_BACKEND", "fake")
    monkeypatch.setenv("DOCCHAT_EMBED_MODEL", "fake-embedder")
    runner = CliRunner()
    result = runner.invoke(main, ["index", str(docs), "-c", "t", "-q"])
    assert result.exit_code == 0, result.output
    return runner


def test_json_hits_carry_the_explain_keys(cli_env: CliRunner) -> None:
    result = cli_env.invoke(main, ["search", "Danube Black Sea", "-c", "t", "--json", "-k", "2"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert hits[0]["path"].endswith("rivers.rst")
    for key in ("keyword_rank", "keyword_score", "dense_rank", "dense_score", "fused_score"):
        assert key in hits[0]


def test_explain_and_filters(cli_env: CliRunner) -> None:
    result = cli_env.invoke(main, ["search", "dropout in:*.md", "-c", "t", "--explain"])
    assert result.exit_code == 0, result.output
    assert "keyword_rank=" in result.stdout and "fused_score=" in result.stdout
    assert "bread.txt" not in result.stdout
