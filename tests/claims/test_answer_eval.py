"""`docchat eval --answers` on a tiny question set with the fake models."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner
from fakes import FakeGenerator

from docchat.cli import main
from docchat.config import GenerateSettings
from docchat.generate import registry
from docchat.generate.base import ChatMessage, Generator

QUESTIONS = [
    {"id": "a1", "corpus": "notes", "question": "What does sourdough bread need?",
     "answers": [{"path": "bread.txt"}]},
    {"id": "a2", "corpus": "notes", "question": "Where does the Danube flow?",
     "answers": [{"path": "sub/rivers.txt"}]},
    {"id": "u1", "corpus": "notes", "kind": "unanswerable",
     "question": "What is quantum chromodynamics?", "answers": [], "unanswerable": True},
]  # fmt: skip


class Inventing(FakeGenerator):
    """Quotes the source that shares most words with the question but cites the next one (a
    wrong marker), except about physics, where it makes something up."""

    @staticmethod
    def _echo(messages: Sequence[ChatMessage]) -> str:
        prompt = messages[-1]["content"]
        if "quantum" in prompt:
            return "Quarks are held together by gluons, as lattice simulations show [1]."
        question = set(re.findall(r"\w+", prompt.rsplit("Question:", 1)[-1].lower()))
        sources = re.findall(r"^\[(\d+)\] [^\n]*\n([^\n]*)", prompt, re.MULTILINE)
        n, text = max(sources, key=lambda s: len(question & set(s[1].lower().split())))
        wrong = int(n) % len(sources) + 1
        return f"{text} [{wrong}]"


def _inventing(settings: GenerateSettings) -> Generator:
    return Inventing(name="inventing")


registry.register_generator("inventing", _inventing)


@pytest.fixture
def qset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    monkeypatch.setenv("DOCCHAT_PLUGINS", "fakes")
    monkeypatch.setenv("DOCCHAT_EMBED_BACKEND", "fake")
    monkeypatch.setenv("DOCCHAT_EMBED_MODEL", "fake-embedder")
    notes = tmp_path / "docs" / "notes"
    (notes / "sub").mkdir(parents=True)
    (notes / "bread.txt").write_text(
        "Sourdough bread needs a starter, flour, water and salt.\n", encoding="utf-8"
    )
    (notes / "sub" / "rivers.txt").write_text(
        "The Danube flows through ten countries into the Black Sea.\n", encoding="utf-8"
    )
    (notes / "volcano.txt").write_text(
        "Lava from the volcano buried the town under ash.\n", encoding="utf-8"
    )
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    registry.clear_cache()
    yield questions, tmp_path / "docs"
    registry.clear_cache()


def test_eval_answers_scores_abstention_citations_and_support(
    qset: tuple[Path, Path], tmp_path: Path
) -> None:
    questions, docs = qset
    details = tmp_path / "details.jsonl"
    args = ["eval", "--answers", "--questions", str(questions), "--docs", str(docs),
            "--backend", "inventing", "--json", "--details", str(details)]  # fmt: skip
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert row["model"] == "inventing" and row["questions"] == 3
    assert row["abstained"] == 1 and row["answered"] == 2
    assert row["abstain_precision"] == 1.0 and row["abstain_recall"] == 1.0
    # Every marker of the model is wrong; the check cites the source that says it.
    assert row["citation_accuracy_verified"] == 1.0 and row["citations_verified"] == 2
    assert row["citation_accuracy_marked"] == 0.0 and row["citations_marked"] == 2
    assert row["claim_support"] == pytest.approx(2 / 3, abs=1e-4)
    assert row["ttft_p50_ms"] > 0 and row["verify_p95_ms"] >= row["verify_p50_ms"] > 0
    lines = [json.loads(line) for line in details.read_text().splitlines()]
    assert [d["id"] for d in lines] == ["a1", "a2", "u1"]
    u1 = lines[2]
    assert u1["abstained"] and u1["answer"].startswith("Your documents don't say")


def test_eval_answers_table_and_limit(qset: tuple[Path, Path]) -> None:
    questions, docs = qset
    args = ["eval", "--answers", "--questions", str(questions), "--docs", str(docs),
            "--backend", "inventing", "--limit", "1"]  # fmt: skip
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    header, row = result.stdout.strip().splitlines()
    assert "cite acc (verified)" in header and "abst. P" in header
    assert row.split()[:4] == ["inventing", "2", "1", "1"]  # a1 and u1


def test_answer_options_need_answers(qset: tuple[Path, Path]) -> None:
    questions, docs = qset
    args = ["eval", "--questions", str(questions), "--docs", str(docs), "--limit", "1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "go with --answers" in result.output
