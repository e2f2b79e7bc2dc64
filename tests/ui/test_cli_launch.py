"""`docchat WORD`: a typo is an error, not the full-screen app; without a terminal the app
never starts (issue 12, bug 12). Run as real subprocesses, with stdin/stdout not a TTY."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def docchat(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "docchat", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        cwd=cwd,
    )


def test_a_mistyped_command_says_so_and_suggests_one() -> None:
    out = docchat("serch", "foo")
    assert out.returncode == 1
    assert out.stderr.strip() == (
        "docchat: no such command 'serch' (did you mean 'search'?) and no folder named 'serch'"
    )
    assert out.stdout == ""  # no escape codes: the app never started


def test_an_unknown_word_without_a_close_command() -> None:
    out = docchat("zzqx")
    assert out.returncode == 1
    assert out.stderr.strip() == "docchat: no such command 'zzqx' and no folder named 'zzqx'"


def test_without_a_terminal_the_app_does_not_start(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    for args in ([], [str(tmp_path / "notes")]):
        out = docchat(*args)
        assert out.returncode == 1, out
        assert "the terminal app needs a terminal" in out.stderr
        assert out.stderr.count("\n") == 1  # one line, no traceback
