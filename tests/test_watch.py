"""Issue 13 item 1: `docchat watch` — an index run, then the folders followed through OS file
events, each batch applied by IndexRun.apply (a rename costs no embedding), a rescan when
events are unavailable, remembered folders. In-process through the facade (fast), and a real
subprocess for SIGTERM, the lock and kill -9.

Every wait here is for an event (a batch applied: a "synced" status), then a check of the
collection; nothing sleeps for timing.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_cli_index import docchat, docchat_env

from docchat.errors import CollectionError
from docchat.service import Docchat
from docchat.types import IndexSummary, WatchEvent, WatchStatus

WAIT = 60.0  # seconds before a test gives up waiting for the watcher (a loaded CI machine)


class Watching:
    """`service.watch(...)` in a thread; the test reads its events as they come."""

    def __init__(self, service: Docchat, name: str, *paths: Path, rescan: float | None = None):
        self.service = service
        self.name = name
        self.stop = threading.Event()
        self.queue: queue.Queue[WatchEvent | BaseException | None] = queue.Queue()
        self.seen: list[WatchEvent] = []
        self.thread = threading.Thread(target=self._run, args=(list(paths), rescan), daemon=True)
        self.thread.start()

    def _run(self, paths: list[Path], rescan: float | None) -> None:
        try:
            for event in self.service.watch(self.name, paths, self.stop, rescan=rescan):
                self.queue.put(event)
        except BaseException as e:
            self.queue.put(e)
        finally:
            self.queue.put(None)

    def next(self, deadline: float) -> WatchEvent | None:
        item = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
        if isinstance(item, BaseException):
            raise item
        if item is not None:
            self.seen.append(item)
        return item

    def synced(self) -> list[WatchEvent]:
        """The events up to the next "synced" status."""
        deadline = time.monotonic() + WAIT
        start = len(self.seen)
        while True:
            event = self.next(deadline)
            if event is None:
                raise AssertionError(f"the watch ended: {self.seen[start:]}")
            if isinstance(event, WatchStatus) and event.state == "synced":
                return self.seen[start:]

    def until(self, condition: Callable[[], bool]) -> list[WatchEvent]:
        """Batches until `condition` holds (checked after each); their events."""
        start = len(self.seen)
        deadline = time.monotonic() + WAIT
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition never held; events: {self.seen[start:]}")
            self.synced()
        return self.seen[start:]

    def close(self) -> list[WatchEvent]:
        self.stop.set()
        deadline = time.monotonic() + WAIT
        while self.next(deadline) is not None:
            pass
        self.thread.join(WAIT)
        return self.seen


@pytest.fixture
def watching(service: Docchat) -> Iterator[Callable[..., Watching]]:
    started: list[Watching] = []

    def start(*paths: Path, name: str = "w", rescan: float | None = None) -> Watching:
        w = Watching(service, name, *paths, rescan=rescan)
        started.append(w)
        w.synced()  # the first run is done and the watcher is on
        return w

    yield start
    for w in started:
        if w.thread.is_alive():
            w.close()


def paths_for(service: Docchat, query: str, name: str = "w") -> set[str]:
    return {Path(h.path).name for h in service.search(name, query, mode="keyword")}


def summaries(events: list[WatchEvent]) -> list[IndexSummary]:
    return [e for e in events if isinstance(e, IndexSummary)]


def test_create_edit_rename_delete_are_followed(
    service: Docchat, docs: Path, watching: Callable[..., Watching]
) -> None:
    w = watching(docs)
    assert summaries(w.seen)[0].indexed == 3  # the first run

    (docs / "new.txt").write_text("The quokka is a small marsupial.\n", encoding="utf-8")
    w.until(lambda: paths_for(service, "quokka") == {"new.txt"})

    (docs / "new.txt").write_text("The wombat digs burrows.\n", encoding="utf-8")
    w.until(lambda: paths_for(service, "wombat") == {"new.txt"})
    assert paths_for(service, "quokka") == set()

    (docs / "new.txt").rename(docs / "renamed.txt")
    events = w.until(lambda: paths_for(service, "wombat") == {"renamed.txt"})
    assert sum(s.embedded for s in summaries(events)) == 0  # a rename costs no embedding
    assert sum(s.indexed for s in summaries(events)) == 1

    (docs / "renamed.txt").unlink()
    w.until(lambda: paths_for(service, "wombat") == set())
    w.close()
    assert service.check("w").ok
    states = {Path(f.path).name: f.state for f in service.files("w").files}
    assert states["renamed.txt"] == "removed" and states["new.txt"] == "removed"


def test_save_by_rename_and_a_folder_moved_out_and_back(
    service: Docchat, docs: Path, tmp_path: Path, watching: Callable[..., Watching]
) -> None:
    w = watching(docs)
    # An editor's save: write a temporary file, then rename it over the original.
    tmp = docs / ".bread.txt.swp"
    tmp.write_text("Rye bread needs caraway seeds.\n", encoding="utf-8")
    tmp.replace(docs / "bread.txt")
    w.until(lambda: paths_for(service, "caraway") == {"bread.txt"})
    assert paths_for(service, "sourdough") == set()

    away = tmp_path / "away"
    (docs / "notes").rename(away)
    w.until(lambda: paths_for(service, "Danube") == set())
    away.rename(docs / "notes")
    w.until(lambda: paths_for(service, "Danube") == {"rivers.rst"})
    w.close()
    assert service.check("w").ok


def test_ignored_and_hidden_files_stay_out(
    service: Docchat, docs: Path, watching: Callable[..., Watching]
) -> None:
    (docs / ".docchatignore").write_text("drafts/\n", encoding="utf-8")
    w = watching(docs)
    (docs / "drafts").mkdir()
    (docs / "drafts" / "d.txt").write_text("A pangolin draft.\n", encoding="utf-8")
    (docs / ".hidden.txt").write_text("A secret pangolin.\n", encoding="utf-8")
    (docs / "kept.txt").write_text("A pangolin that counts.\n", encoding="utf-8")
    w.until(lambda: paths_for(service, "pangolin") == {"kept.txt"})
    w.close()
    assert paths_for(service, "pangolin") == {"kept.txt"}


def test_a_collection_remembers_its_folders(
    service: Docchat, docs: Path, watching: Callable[..., Watching]
) -> None:
    with pytest.raises(CollectionError, match="no folders to follow"):
        list(service.watch("nothing-yet"))
    list(service.index("w", [docs]))
    w = watching()  # no paths: the folders it was indexed from
    first = summaries(w.seen)[0]
    assert first.unchanged == 3 and first.indexed == 0
    (docs / "owl.md").write_text("Owls hunt at night.\n", encoding="utf-8")
    w.until(lambda: paths_for(service, "owls") == {"owl.md"})


def test_without_file_events_it_rescans_and_says_so(
    service: Docchat, docs: Path, watching: Callable[..., Watching], monkeypatch: pytest.MonkeyPatch
) -> None:
    import watchfiles._rust_notify

    def no_watcher(*args: object) -> None:
        raise OSError("OS file watch limit reached")

    monkeypatch.setattr(watchfiles._rust_notify, "RustNotify", no_watcher)
    w = watching(docs, rescan=0.2)
    notices = [e for e in w.seen if isinstance(e, WatchStatus) and e.state == "notice"]
    assert notices and "watch limit" in (notices[0].message or "")
    assert "every 0.2 s" in (notices[0].message or "")
    (docs / "heron.txt").write_text("Herons wade in shallow water.\n", encoding="utf-8")
    w.until(lambda: paths_for(service, "herons") == {"heron.txt"})


def test_rescan_walks_the_folders_besides_the_events(
    service: Docchat, docs: Path, watching: Callable[..., Watching]
) -> None:
    w = watching(docs, rescan=0.2)
    events = w.synced()  # the timer, not a file event, brought this batch
    assert any(isinstance(e, WatchStatus) and e.state == "rescanning" for e in events)
    assert summaries(events)[-1].unchanged == 3


# ---------------------------------------------------------------- the real command


def _start(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "docchat", "watch", *args, "--json"],
        env=docchat_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _until(
    proc: subprocess.Popen[str], test: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    """JSON lines of `docchat watch --json` up to the first that passes `test`."""
    lines: list[dict[str, Any]] = []
    assert proc.stdout is not None
    for raw in proc.stdout:
        lines.append(json.loads(raw))
        if test(lines[-1]):
            return lines
    raise AssertionError(
        f"watch ended (rc {proc.wait()}): {lines} {proc.stderr and proc.stderr.read()}"
    )


def _synced(line: dict[str, Any]) -> bool:
    return line["event"] == "synced"


def test_the_command_follows_a_burst_stops_on_sigterm_and_the_collection_checks(
    tmp_path: Path, docs: Path
) -> None:
    env = docchat_env(tmp_path)
    proc = _start(tmp_path, str(docs), "-c", "live")
    try:
        first = _until(proc, _synced)
        assert first[0]["event"] == "summary" and first[0]["indexed"] == 3

        locked = docchat("index", str(docs), "-c", "live", env=env)
        assert locked.returncode == 1 and f"pid {proc.pid}" in locked.stderr

        burst = docs / "burst"
        burst.mkdir()
        for i in range(500):
            (burst / f"b{i:03}.txt").write_text(f"Burst file {i} about kiwis.\n", encoding="utf-8")
        indexed = 0
        while indexed < 500:
            lines = _until(proc, _synced)
            indexed += sum(int(x.get("indexed", 0)) for x in lines if x["event"] == "summary")

        # As a `git checkout` does: half the tree rewritten and a tenth deleted at once.
        for i in range(0, 500, 2):
            (burst / f"b{i:03}.txt").write_text(f"Rewritten file {i} about emus.\n", "utf-8")
        for i in range(1, 100, 2):
            (burst / f"b{i:03}.txt").unlink()
        changed = removed = 0
        while changed < 250 or removed < 50:
            lines = _until(proc, _synced)
            changed += sum(int(x.get("indexed", 0)) for x in lines if x["event"] == "summary")
            removed += sum(int(x.get("removed", 0)) for x in lines if x["event"] == "summary")

        (burst / "b000.txt").rename(docs / "moved.txt")
        lines = _until(proc, lambda x: x["event"] == "summary" and x["indexed"] == 1)
        assert lines[-1]["embedded"] == 0  # the moved file kept its embeddings
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(WAIT) == 0, proc.stderr.read() if proc.stderr else ""

    check = docchat("collections", "check", "live", env=env)
    assert check.returncode == 0, check.stderr
    found = json.loads(
        docchat(
            "search", "kiwis", "-c", "live", "-k", "400", "--mode", "keyword", "--json", env=env
        ).stdout
    )
    kiwis = {Path(h["path"]).name for h in found if "kiwis" in h["text"]}
    assert len(kiwis) == 200 and "b001.txt" not in kiwis and "b000.txt" not in kiwis
    emus = json.loads(
        docchat(
            "search", "emus", "-c", "live", "-k", "400", "--mode", "keyword", "--json", env=env
        ).stdout
    )
    emus_files = {Path(h["path"]).name for h in emus if "emus" in h["text"]}
    assert len(emus_files) == 250 and "moved.txt" in emus_files
    # Stopped, it released the lock: the next writer gets in.
    assert docchat("index", str(docs), "-c", "live", "-q", env=env).returncode == 0


def test_kill_9_while_watching_leaves_the_collection_consistent(tmp_path: Path, docs: Path) -> None:
    env = docchat_env(tmp_path)
    proc = _start(tmp_path, str(docs), "-c", "k9")
    try:
        _until(proc, _synced)
        (docs / "late.txt").write_text("Written just before the kill.\n", encoding="utf-8")
        _until(proc, lambda x: x["event"] == "indexing")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
    check = docchat("collections", "check", "k9", env=env)
    assert check.returncode == 0, check.stderr
    # Watching again (no folders named: it remembers them) picks up where it stopped.
    again = _start(tmp_path, "-c", "k9")
    try:
        first = _until(again, _synced)
        summary = first[0]
        assert summary["indexed"] + summary["unchanged"] == 4
    finally:
        again.send_signal(signal.SIGTERM)
        assert again.wait(WAIT) == 0


def test_the_command_says_what_it_does_in_words(tmp_path: Path, docs: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "docchat", "watch", str(docs), "-c", "words", "-q"],
        env=docchat_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    head: list[str] = []
    try:
        for line in proc.stdout:
            head.append(line)
            if line.startswith("watching"):
                break
        (docs / "stork.txt").write_text("Storks nest on chimneys.\n", encoding="utf-8")
        batch = proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 0, err
    text = "".join(head)
    assert "3 indexed" in text and "3 of 3 files searchable" in text
    assert head[-1] == "watching 1 folder for changes (Ctrl-C to stop)\n"
    assert "1 changed: done in" in batch and "1 indexed" in batch


def test_a_watch_batch_prints_its_notes(capsys: pytest.CaptureFixture[str]) -> None:
    """A file edited past index.max_chunks_per_file while watched: the batch's line is
    followed by the note that says it was cut short, as after `docchat index`."""
    from docchat.cli.watch import _follow
    from docchat.types import IndexSummary, WatchStatus

    note = "kept the first 2,000 chunks (index.max_chunks_per_file)"
    batch = IndexSummary("c", 1, 0, [], [], 0, 2000, 0, 1.0, notes=[("/docs/big.txt", note)])
    _follow(iter([WatchStatus("synced"), WatchStatus("indexing", changed=1), batch]), 1)
    out = capsys.readouterr().out
    assert f"  note: /docs/big.txt: {note}" in out.splitlines()
