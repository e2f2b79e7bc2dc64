"""Index runs parse the next changed files on a worker thread while they embed (issue 11):
same results, nothing parsed that did not change, failures reported as before."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import docchat.indexing as indexing
from docchat.config import Settings
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


def test_files_waiting_are_embedded_while_the_next_one_is_read(
    fake_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Model and reader work at once: when the next file is still being read, the files
    already read (a full batch) are embedded meanwhile, not after it."""
    from fakes import FakeEmbedder

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    fake_settings.embed.batch_size = 2
    fake_settings.index.checkpoint_seconds = 3600  # (no flush because of time)
    root = tmp_path / "docs"
    _files(root, 3)
    (root / "f00.txt").write_text("Deserts are dry.\n\n" + "Sand drifts. " * 90)  # 1st flush
    (root / "f01.txt").write_text("Glaciers carve valleys.\n\n" + "Ice moves slowly. " * 60)
    embedded = threading.Event()
    real_embed = FakeEmbedder.embed_batch

    def embed_batch(self: FakeEmbedder, texts: Sequence[str]) -> np.ndarray:
        if any("Glaciers" in t for t in texts):
            embedded.set()
        return real_embed(self, texts)

    waited: list[bool] = []

    def parse(path: Path) -> ParsedDocument:
        if path.name == "f02.txt":  # read only once f01's chunks were embedded (or not)
            waited.append(embedded.wait(timeout=30))
        return real_parse(path)

    monkeypatch.setattr(FakeEmbedder, "embed_batch", embed_batch)
    monkeypatch.setattr(indexing, "parse", parse)
    service = Docchat(fake_settings)
    try:
        *_, summary = service.index("t", [root])
    finally:
        service.close()
    assert isinstance(summary, IndexSummary) and summary.indexed == 3
    assert waited == [True]  # f01 was embedded while f02 was being read


@pytest.mark.parametrize("apart", [True, False])
def test_files_are_chunked_on_the_reading_thread_only_when_tokens_count_apart(
    fake_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, apart: bool
) -> None:
    """A tokenizer of its own (the built-in lazy embedder's) can count on the reading thread
    while the model embeds; one the model shares (a Hugging Face tokenizer) must not."""
    from fakes import FakeEmbedder

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr(FakeEmbedder, "counts_tokens_apart", apart)
    threads: set[str] = set()
    real_count = FakeEmbedder.count_tokens

    def count_tokens(self: FakeEmbedder, texts: Sequence[str]) -> list[int]:
        threads.add(threading.current_thread().name)
        return real_count(self, texts)

    monkeypatch.setattr(FakeEmbedder, "count_tokens", count_tokens)
    root = tmp_path / "docs"
    _files(root, 6)
    service = Docchat(fake_settings)
    try:
        *_, summary = service.index("t", [root])
    finally:
        service.close()
    assert isinstance(summary, IndexSummary) and summary.indexed == 6
    assert summary.timings["chunk"] > 0
    if apart:
        assert threads and all(t.startswith("docchat-read") for t in threads)
    else:
        assert threads == {threading.current_thread().name}
