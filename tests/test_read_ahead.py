"""Index runs parse the next changed files on a worker thread while they embed (issue 11):
same results, nothing parsed that did not change, failures reported as before."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import docchat.indexing as indexing
from docchat.ingest.ahead import ReadAhead
from docchat.ingest.parsers import parse as real_parse
from docchat.service import Docchat
from docchat.types import FileDone, IndexSummary, ParsedDocument


def _files(root: Path, n: int) -> None:
    root.mkdir(exist_ok=True)
    for i in range(n):
        (root / f"f{i:02d}.txt").write_text(f"File {i} is about topic{i} and more.\n" * 3)


def _parsed_on(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []

    def parse(path: Path) -> ParsedDocument:
        seen.append((path.name, threading.current_thread().name))
        if path.name == "f05.txt":
            raise ValueError("parser bug")
        return real_parse(path)

    monkeypatch.setattr(indexing, "parse", parse)
    return seen


def test_changed_files_are_parsed_ahead_and_only_they(
    service: Docchat, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    root = tmp_path / "many"
    _files(root, 40)
    seen = _parsed_on(monkeypatch)
    *events, summary = service.index("t", [root])
    assert isinstance(summary, IndexSummary)
    assert summary.indexed == 39 and [Path(p).name for p, _ in summary.failed] == ["f05.txt"]
    assert "ValueError: parser bug" in summary.failed[0][1]
    assert sorted(name for name, _ in seen) == sorted(p.name for p in root.iterdir())
    assert any(thread.startswith("docchat-read") for _, thread in seen)
    done = [e.path.name for e in events if isinstance(e, FileDone)]
    assert done == sorted(done)  # reported in walk order, read ahead or not
    # ... and counted as reported (the failed file waits for the queued ones before it)
    assert [e.files_done for e in events if isinstance(e, FileDone)] == list(range(1, 41))
    # A second run with one file changed parses that file only (and the failed one is not
    # read again until it changes).
    seen.clear()
    (root / "f30.txt").write_text("Changed.\n", encoding="utf-8")
    *_, again = service.index("t", [root])
    assert isinstance(again, IndexSummary) and again.indexed == 1
    assert [name for name, _ in seen] == ["f30.txt"]


def test_reads_not_taken_are_dropped() -> None:
    ahead: ReadAhead[str] = ReadAhead(lambda p: p.name, depth=2)
    ahead.want(Path("a"), True)
    ahead.want(Path("b"), False)
    ahead.want(Path("c"), True)
    assert not ahead.room() and ahead.asked(Path("b"))
    ahead.discard(Path("a"))
    assert ahead.room()
    future = ahead.take(Path("c"))
    assert future is not None and future.result() == "c" and ahead.take(Path("c")) is None
    ahead.close()
