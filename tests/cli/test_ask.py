"""`docchat ask` and `docchat sessions` in-process (CliRunner) with the fake models."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from docchat.cli import main
from docchat.cli.common import first_ctrl_c_sets
from docchat.generate import registry
from docchat.service import Docchat


@pytest.fixture
def research(service: Docchat, docs: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A collection indexed with the fake embedder; the CLI is pointed at the fake models."""
    list(service.index("research", [str(docs)]))
    monkeypatch.setenv("DOCCHAT_EMBED_BACKEND", "fake")
    monkeypatch.setenv("DOCCHAT_EMBED_MODEL", "fake-embedder")
    monkeypatch.setenv("DOCCHAT_GENERATE_BACKEND", "fake")
    monkeypatch.setenv("DOCCHAT_GENERATE_ABSTAIN_BELOW", "0.0")
    registry.clear_cache()
    return "research"


def cli(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_ask_json_has_the_documented_keys(research: str) -> None:
    result = cli("ask", "Does dropout reduce overfitting?", "-c", research, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) >= {
        "answer",
        "sources",
        "cited",
        "abstained",
        "stopped",
        "query",
        "timings",
        "model",
        "session",
    }
    assert out["answer"].endswith("[1]") and out["cited"] == [1]
    assert out["abstained"] is False and out["stopped"] is False and out["session"] is None
    assert out["query"] == "Does dropout reduce overfitting?"
    assert out["sources"][0]["path"].endswith("dropout.md")
    assert set(out["sources"][0]) == {"n", "path", "page", "line_start", "line_end", "score"}
    assert set(out["timings"]) >= {"retrieval_ms", "ttft_ms", "tokens_per_s"}
    assert out["model"] == "fake-generator"


def test_question_from_stdin(research: str) -> None:
    result = cli("ask", "-c", research, "--json", input="What flows into the Black Sea?\n")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["query"] == "What flows into the Black Sea?"


def test_streams_text_then_lists_sources_marking_the_cited(research: str) -> None:
    result = cli("ask", "How do I bake sourdough bread?", "-c", research, "-k", "2")
    assert result.exit_code == 0
    text, _, sources = result.stdout.partition("\nSources:\n")
    assert text.startswith("The documents say:")
    lines = [line for line in sources.splitlines() if line.strip()]
    assert len(lines) == 2
    assert lines[0].startswith("  [1] ") and "bread.txt" in lines[0] and "← cited" in lines[0]
    assert "lines 1–2" in lines[0] or "line 1" in lines[0]
    assert "← cited" not in lines[1]


def test_abstains_when_nothing_is_relevant(research: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCCHAT_GENERATE_ABSTAIN_BELOW", "0.99")
    out = json.loads(cli("ask", "Who won the 2018 World Cup?", "-c", research, "--json").stdout)
    assert out["abstained"] is True and out["sources"] == [] and out["cited"] == []
    assert "don't seem to cover" in out["answer"]


def test_sessions_follow_ups_list_show_and_export(research: str, tmp_path: Path) -> None:
    first = json.loads(
        cli("ask", "What does dropout do?", "-c", research, "--session", "new", "--json").stdout
    )
    session = first["session"]
    assert isinstance(session, int)
    follow = cli("ask", "and overfitting?", "-c", research, "--session", "last")
    assert follow.exit_code == 0
    assert "(searching for: What does dropout do? and overfitting?)" in follow.stderr

    listed = json.loads(cli("sessions", "list", "-c", research, "--json").stdout)
    assert [(s["id"], s["messages"]) for s in listed] == [(session, 4)]
    assert listed[0]["title"] == "What does dropout do?"
    assert "What does dropout do?" in cli("sessions", "list", "-c", research).stdout

    shown = json.loads(cli("sessions", "show", str(session), "-c", research, "--json").stdout)
    assert [m["role"] for m in shown["messages"]] == ["user", "assistant"] * 2
    assert shown["messages"][1]["sources"][0]["path"].endswith("dropout.md")

    target = tmp_path / "chat.md"
    assert cli("sessions", "export", str(session), "-c", research, "-o", str(target)).exit_code == 0
    md = target.read_text(encoding="utf-8")
    assert md.startswith("# What does dropout do?") and "[^1.1]: " in md and "dropout.md" in md

    assert cli("sessions", "delete", str(session), "-c", research).exit_code == 0
    assert json.loads(cli("sessions", "list", "-c", research, "--json").stdout) == []


def test_unknown_session_and_collection_are_one_line_errors(research: str) -> None:
    result = cli("ask", "q?", "-c", research, "--session", "42")
    assert result.exit_code == 1 and "no session 42" in result.stderr
    result = cli("ask", "q?", "-c", "nope")
    assert result.exit_code == 1 and "no collection named 'nope'" in result.stderr
    result = cli("sessions", "show", "7", "-c", research)
    assert result.exit_code == 1 and "no session 7" in result.stderr


def test_bad_flag_values_are_config_errors(research: str) -> None:
    result = cli("ask", "q?", "-c", research, "--temperature", "5")
    assert result.exit_code == 1 and "temperature" in result.stderr


def test_first_ctrl_c_sets_the_stop_event_and_a_second_interrupts() -> None:
    cancel = threading.Event()
    with first_ctrl_c_sets(cancel):
        signal.raise_signal(signal.SIGINT)
        assert cancel.is_set()
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# ---------------------------------------------------------------- the model process


@pytest.fixture
def in_child(research: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The fake generator in a model process, through the same protocol as llama.cpp."""
    monkeypatch.setenv("DOCCHAT_GENERATE_BACKEND", "fake-process")
    yield research
    registry.clear_cache()  # ends the child


def test_ask_answers_through_the_model_process(in_child: str) -> None:
    result = cli("ask", "Does dropout reduce overfitting?", "-c", in_child, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["answer"].endswith("[1]") and out["cited"] == [1]


@pytest.mark.parametrize(
    ("word", "signal_name"), [("CRASH_SIGSEGV", "SIGSEGV"), ("CRASH_SIGKILL", "SIGKILL")]
)
def test_a_crashing_model_process_is_exit_1_with_one_line(
    in_child: str, word: str, signal_name: str
) -> None:
    result = cli("ask", f"Does dropout reduce overfitting {word}?", "-c", in_child)
    assert result.exit_code == 1
    assert result.stdout.startswith("The documents")  # the partial answer, then a newline
    assert result.stdout.endswith("\n")
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"docchat: the model process crashed ({signal_name}")
    assert "model.log" in line and "ask again" in line
    # The next question starts a new model process.
    assert cli("ask", "Does dropout reduce overfitting?", "-c", in_child).exit_code == 0
