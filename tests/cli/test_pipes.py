"""`ask` and `search` as shell tools: the question from stdin, --format md|json|plain, nothing
but the payload on stdout, exit codes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from docchat.cli import main
from docchat.cli.pipes import text_or_stdin
from docchat.generate import registry
from docchat.service import Docchat

TESTS = Path(__file__).parent.parent


@pytest.fixture
def research(service: Docchat, docs: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    list(service.index("research", [str(docs)]))
    monkeypatch.setenv("DOCCHAT_EMBED_BACKEND", "fake")
    monkeypatch.setenv("DOCCHAT_EMBED_MODEL", "fake-embedder")
    monkeypatch.setenv("DOCCHAT_GENERATE_BACKEND", "fake")
    monkeypatch.setenv("DOCCHAT_GENERATE_ABSTAIN_BELOW", "0.0")
    registry.clear_cache()
    return "research"


def cli(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def shell(command: str, tmp_path: Path, input: str = "") -> subprocess.CompletedProcess[str]:
    """`command` in a real shell, `docchat` being this checkout, with the fake models."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCCHAT_")}
    env.update(
        PYTHONPATH=f"{TESTS}{os.pathsep}{env.get('PYTHONPATH', '')}",
        DOCCHAT_DATA_DIR=str(tmp_path / "data"),
        DOCCHAT_CONFIG=str(tmp_path / "none.toml"),
        DOCCHAT_PLUGINS="fakes",
        DOCCHAT_EMBED_BACKEND="fake",
        DOCCHAT_EMBED_MODEL="fake-embedder",
        DOCCHAT_GENERATE_BACKEND="fake",
        DOCCHAT_GENERATE_ABSTAIN_BELOW="0.0",
    )
    docchat = f"{sys.executable} -m docchat"
    return subprocess.run(
        ["bash", "-c", command.replace("docchat ", f"{docchat} ")],
        input=input,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_search_json_from_a_pipe_is_all_json(research: str, tmp_path: Path) -> None:
    """echo QUERY | docchat search -c NAME --json | <a JSON reader>"""
    reader = f"{sys.executable} -c 'import json,sys; print(json.load(sys.stdin)[0][\"path\"])'"
    proc = shell(f"docchat search -c research --json -k 2 | {reader}", tmp_path, "dropout\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("dropout.md")
    explicit = shell("docchat search - -c research --format json", tmp_path, "Danube\n")
    assert json.loads(explicit.stdout)[0]["path"].endswith("rivers.rst")


def test_ask_md_redirected_to_a_file(research: str, tmp_path: Path) -> None:
    """docchat ask QUESTION -c NAME --format md > answer.md"""
    proc = shell(
        'docchat ask "How do I bake sourdough bread?" -c research -k 2 --format md > answer.md',
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    md = (tmp_path / "answer.md").read_text(encoding="utf-8")
    title, answer, sources = md.split("\n\n", 2)
    assert title == "# How do I bake sourdough bread?"
    assert answer.startswith("The documents say:") and answer.endswith("[1]")
    items = sources.strip().split("\n")
    assert items[0] == "## Sources" and len(items) == 4  # title, blank, two sources
    assert items[2].startswith("- [1] `docs/bread.txt`, ") and items[2].endswith("(cited)")
    assert not items[3].endswith("(cited)")
    assert "fake-generator · search" in proc.stderr  # the run's facts, off the payload


def test_a_failed_md_answer_writes_nothing(research: str, tmp_path: Path) -> None:
    proc = shell("docchat ask q -c nope --format md > answer.md", tmp_path)
    assert proc.returncode == 1
    assert (tmp_path / "answer.md").read_text() == ""
    assert proc.stderr == "docchat: no collection named 'nope' (collections: research)\n"


def test_formats_and_the_json_alias(research: str) -> None:
    as_json = cli("search", "dropout", "-c", research, "--json").stdout
    assert as_json == cli("search", "dropout", "-c", research, "--format", "json").stdout
    plain = cli("search", "dropout", "-c", research, "-k", "1").stdout
    assert plain.startswith(" 1. ") and "dropout.md" in plain
    md = cli("search", "dropout", "-c", research, "-k", "1", "--format", "md").stdout
    assert md.startswith("# Search: dropout\n\n## 1. `") and "\n> " in md

    ask = cli("ask", "What does dropout do?", "-c", research, "--format", "json")
    assert json.loads(ask.stdout)["cited"] == [1]
    plain_ask = cli("ask", "What does dropout do?", "-c", research).stdout
    assert "\nSources:\n  [1] " in plain_ask


def test_usage_errors_are_one_line_exit_1(research: str) -> None:
    both = cli("search", "x", "-c", research, "--json", "--format", "md")
    assert both.exit_code == 1
    assert both.stderr == "docchat: --json and --format md disagree: give one of them\n"
    empty = cli("search", "-c", research, input="  \n")
    assert empty.exit_code == 1 and empty.stdout == ""
    assert empty.stderr == "docchat: give a query, as an argument or on standard input\n"
    ask_empty = cli("ask", "-", "-c", research, input="")
    assert ask_empty.stderr == "docchat: give a question, as an argument or on standard input\n"


def test_no_hits_leaves_stdout_empty(research: str) -> None:
    result = cli("search", "zzzqqq", "-c", research, "--mode", "keyword")
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == "no hits\n"
    assert cli("search", "zzzqqq", "-c", research, "--mode", "keyword", "--json").stdout == "[]\n"


def test_a_terminal_is_not_read_without_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal("typed question\n"))
    with pytest.raises(SystemExit) as stop:
        text_or_stdin(None, "question")  # would block waiting for typing: refuse instead
    assert stop.value.code == 1
    assert text_or_stdin("-", "question") == "typed question"  # asked for explicitly
