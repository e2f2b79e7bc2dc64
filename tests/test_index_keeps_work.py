"""Issue 13 item 5: work done is kept. Embedded chunks go to the writer by time as well as by
count, the first batch small, so a `docchat index` killed with SIGKILL at any moment keeps
what it had embedded: over repeated kills the committed chunk count never goes down and
grows with every run, and `collections check` passes after each."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from test_cli_index import docchat, docchat_env, make_corpus, wait_for


def committed_chunks(env: dict[str, str]) -> int:
    listed = json.loads(docchat("collections", "list", "--json", env=env, check=True).stdout)
    return int(listed[0]["chunks"]) if listed else 0


def test_repeated_kill_9_keeps_committed_chunks_and_always_makes_progress(
    tmp_path: Path,
) -> None:
    corpus = make_corpus(tmp_path / "corpus", 120)
    clean = docchat_env(tmp_path)
    before = 0
    # Killed at different points of each run: after 1 to 5 embedding batches (the first
    # embedder call is the model's fingerprint; the fake
    # embedder stops there and drops a marker: the kill follows the run's own progress),
    # with the default checkpoint_seconds (only the first, small batch is committed by
    # count) and with a tiny one (everything is committed as it is embedded).
    for run, (after, checkpoint) in enumerate(
        [("2", "10"), ("4", "0.001"), ("3", "10"), ("6", "0.001"), ("2", "0.001"), ("5", "10")]
    ):
        marker = tmp_path / f"hung{run}"
        env = docchat_env(
            tmp_path,
            FAKE_EMBED_HANG_AFTER=after,
            FAKE_EMBED_MARKER=str(marker),
            DOCCHAT_INDEX_CHECKPOINT_SECONDS=checkpoint,
            DOCCHAT_EMBED_BATCH_SIZE="4",
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "docchat", "index", str(corpus), "-c", "k", "-q"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for(marker, proc)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        check = docchat("collections", "check", "k", env=clean)
        assert check.returncode == 0, check.stderr
        now = committed_chunks(clean)
        assert now > before, f"run {run} (killed after {after} batches) kept nothing"
        before = now
    assert before < 120  # the runs were really cut short

    docchat("index", str(corpus), "-c", "k", env=clean, check=True)
    assert committed_chunks(clean) == 120
    check = docchat("collections", "check", "k", env=clean)
    assert "ok (120 chunks, 120 vectors)" in check.stdout
