"""The real `docchat` command in subprocesses: kill -9 mid-run, locking, JSON, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from backends import BACKENDS, backend_env

TESTS = Path(__file__).parent


def docchat_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCCHAT_", "FAKE_"))}
    env.update(
        PYTHONPATH=f"{TESTS}{os.pathsep}{env.get('PYTHONPATH', '')}",
        DOCCHAT_DATA_DIR=str(tmp_path / "data"),
        DOCCHAT_CONFIG=str(tmp_path / "none.toml"),
        DOCCHAT_PLUGINS="fakes",
        DOCCHAT_EMBED_BACKEND="fake",
        DOCCHAT_EMBED_MODEL="fake-embedder",
    )
    env.update(extra)
    return env


def docchat(
    *args: str, env: dict[str, str], check: bool = False
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "docchat", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and proc.returncode:
        raise AssertionError(proc.stderr)
    return proc


def wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    """Wait for a marker file the fake embedder drops when it reaches its hang point."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(
                f"docchat exited early: {proc.stderr.read() if proc.stderr else ''}"
            )
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("docchat never reached the hang point")
        time.sleep(0.02)  # polling for an event, not timing anything


def make_corpus(root: Path, n: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"doc{i:04}.txt").write_text(
            f"Document {i} is about subject {i % 17}.\n\nIt has a second paragraph {i}.\n",
            encoding="utf-8",
        )
    return root


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("checkpoint", ["1000", "0.001"])
def test_kill_9_mid_run_then_check_passes_and_resume_finishes(
    tmp_path: Path, checkpoint: str, backend: str
) -> None:
    """Killed with SIGKILL before (1000 s) or after (0.001 s) a vector-store checkpoint; the
    later commands name no backend: the collection recorded its own."""
    corpus = make_corpus(tmp_path / "corpus", 300)
    proc, _ = _start_and_hold(
        tmp_path,
        corpus,
        after="3",
        checkpoint=checkpoint,
        DOCCHAT_EMBED_BATCH_SIZE="64",
        **backend_env(backend),
    )
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    clean = docchat_env(tmp_path)
    check = docchat("collections", "check", "k", env=clean)
    assert check.returncode == 0, check.stderr
    listed = json.loads(docchat("collections", "list", "--json", env=clean, check=True).stdout)
    assert 0 < listed[0]["documents"] < 300  # some work was saved, not all
    assert listed[0]["vector_backend"] == backend

    resumed = docchat("index", str(corpus), "-c", "k", "--json", env=clean, check=True)
    summary = json.loads(resumed.stdout)
    assert summary["indexed"] + summary["unchanged"] == 300
    assert summary["indexed"] > 0
    check = docchat("collections", "check", "k", env=clean)
    assert check.returncode == 0, check.stderr
    listed = json.loads(docchat("collections", "list", "--json", env=clean, check=True).stdout)
    assert listed[0]["documents"] == 300
    assert listed[0]["chunks"] == 300  # no duplicates, no orphans
    assert "ok (300 chunks, 300 vectors)" in check.stdout


def test_second_writer_gets_a_message_naming_the_first(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus", 200)
    marker = tmp_path / "hung"
    env = docchat_env(tmp_path, FAKE_EMBED_HANG_AFTER="1", FAKE_EMBED_MARKER=str(marker))
    first = subprocess.Popen(
        [sys.executable, "-m", "docchat", "index", str(corpus), "-c", "k", "-q"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(marker, first)
        second = docchat("index", str(corpus), "-c", "k", env=docchat_env(tmp_path))
        assert second.returncode == 1
        assert f"pid {first.pid}" in second.stderr
        assert "being written" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1  # one line, no traceback
    finally:
        first.kill()
        first.wait()


def test_index_json_summary_and_partial_failure_exit_code(tmp_path: Path, docs: Path) -> None:
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\n garbage without objects")
    (docs / "data.bin").write_bytes(b"\0\1\2" * 100)
    proc = docchat("index", str(docs), "-c", "j", "--json", env=docchat_env(tmp_path))
    summary = json.loads(proc.stdout)
    for key in ("indexed", "unchanged", "skipped", "failed", "chunks_added", "chunks_removed"):
        assert isinstance(summary[key], int)
    assert isinstance(summary["seconds"], float)
    assert summary["indexed"] == 3
    # Where the time went, per stage (issue 11); the stages never add up to more than the run.
    timings = summary["timings"]
    assert set(timings) == {"walk", "parse", "chunk", "embed", "store"}
    assert all(t >= 0 for t in timings.values()) and timings["parse"] > 0
    assert sum(timings.values()) <= summary["seconds"] + 0.01
    problems = {Path(f["path"]).name for f in summary["failed_files"] + summary["skipped_files"]}
    assert problems == {"broken.pdf", "data.bin"}
    assert proc.returncode == (2 if summary["failed"] else 0)


def test_search_json_hits_have_the_documented_keys(tmp_path: Path, docs: Path) -> None:
    env = docchat_env(tmp_path)
    docchat("index", str(docs), "-c", "s", "-q", env=env, check=True)
    proc = docchat("search", "sourdough starter", "-c", "s", "-k", "2", "--json", env=env)
    hits = json.loads(proc.stdout)
    assert len(hits) == 2
    for key in ("rank", "score", "path", "page", "line_start", "line_end", "heading", "text"):
        assert key in hits[0]
    assert hits[0]["rank"] == 1 and Path(hits[0]["path"]).is_absolute()
    assert hits[0]["path"].endswith("bread.txt") and hits[0]["page"] is None


@pytest.mark.parametrize(
    ("env_key", "value", "expected"),
    [
        ("DOCCHAT_EMBED_BATCH_SIZE", "lots", "embed.batch_size"),
        ("DOCCHAT_SEARCH_MODE", "psychic", "search.mode"),
        ("DOCCHAT_EMBED_DEVICE", "tpu", "embed.device"),
    ],
)
def test_bad_config_value_is_one_line_naming_the_key(
    tmp_path: Path, env_key: str, value: str, expected: str
) -> None:
    proc = docchat("collections", "list", env=docchat_env(tmp_path, **{env_key: value}))
    assert proc.returncode == 1
    line = proc.stderr.strip()
    assert "\n" not in line and expected in line and env_key in line


def test_bad_collection_name_and_missing_collection(tmp_path: Path, docs: Path) -> None:
    env = docchat_env(tmp_path)
    proc = docchat("index", str(docs), "-c", "../../etc", env=env)
    assert proc.returncode == 1 and "invalid collection name" in proc.stderr
    assert not (tmp_path / "etc").exists()
    proc = docchat("search", "x", "-c", "nothing", env=env)
    assert proc.returncode == 1 and "no collection named 'nothing'" in proc.stderr


def test_collections_check_fails_on_disagreement(tmp_path: Path, docs: Path) -> None:
    env = docchat_env(tmp_path)
    docchat("index", str(docs), "-c", "c", "-q", env=env, check=True)
    vectors = tmp_path / "data" / "collections" / "c" / "vectors.faiss"
    vectors.unlink()
    proc = docchat("collections", "check", "c", env=env)
    assert proc.returncode == 1 and "vector file missing" in proc.stderr
    # A search by meaning says what is wrong and how to repair it, rather than finding
    # nothing (the lost file reads as an empty index).
    for mode in ("dense", "hybrid"):
        proc = docchat("search", "bread", "-c", "c", "--mode", mode, env=env)
        assert proc.returncode == 1 and proc.stdout == ""
        [line] = proc.stderr.strip().splitlines()
        assert "lost its vector file" in line and "docchat collections rebuild c" in line
    assert docchat("search", "bread", "-c", "c", "--mode", "keyword", env=env).returncode == 0
    for damage in (b"\0garbage" * 300, b"IxM"):  # overwritten; truncated
        vectors.write_bytes(damage)
        for command in (("search", "bread", "-c", "c"), ("collections", "check", "c")):
            proc = docchat(*command, env=env)
            assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
            line = proc.stderr.strip().splitlines()[0]  # (check adds its fix line)
            assert "is damaged" in line and "docchat collections rebuild c" in line, line
    docchat("collections", "rebuild", "c", env=env, check=True)
    assert docchat("search", "bread", "-c", "c", env=env).returncode == 0
    docchat("collections", "rebuild", "c", env=env, check=True)
    assert docchat("collections", "check", "c", env=env).returncode == 0
    docchat("collections", "rm", "c", "-y", env=env, check=True)
    assert json.loads(docchat("collections", "list", "--json", env=env).stdout) == []


def test_exclude_flag_adds_to_the_configured_patterns(tmp_path: Path, docs: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[index]\nexclude = ["*.md"]\n', encoding="utf-8")
    env = docchat_env(tmp_path, DOCCHAT_CONFIG=str(config))
    proc = docchat("index", str(docs), "-c", "x", "--exclude", "*.rst", "--json", env=env)
    summary = json.loads(proc.stdout)
    assert summary["indexed"] == 1  # bread.txt: *.md from the file, *.rst from the flag


@pytest.fixture
def held_index(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path, Path]]:
    """A `docchat index` of 300 files, held inside the embedder; killed at teardown if a
    failing test left it running."""
    corpus = make_corpus(tmp_path / "corpus", 300)
    proc, marker = _start_and_hold(tmp_path, corpus)
    try:
        yield proc, marker, corpus
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _start_and_hold(
    tmp_path: Path, corpus: Path, after: str = "2", checkpoint: str = "1000", **env_extra: str
) -> tuple[subprocess.Popen[str], Path]:
    """Start `docchat index` and return once the fake embedder holds it mid-run."""
    marker = tmp_path / "hung"
    env = docchat_env(
        tmp_path,
        FAKE_EMBED_HANG_AFTER=after,
        FAKE_EMBED_MARKER=str(marker),
        DOCCHAT_INDEX_CHECKPOINT_SECONDS=checkpoint,
        **env_extra,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "docchat", "index", str(corpus), "-c", "k", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(marker, proc)
    return proc, marker


def test_ctrl_c_stops_cleanly_with_a_summary_and_resume_finishes(
    tmp_path: Path, held_index: tuple[subprocess.Popen[str], Path, Path]
) -> None:
    proc, marker, corpus = held_index
    proc.send_signal(signal.SIGINT)  # asks the run to stop after the current file
    marker.unlink()  # let the embedder go on; the run must now notice and stop
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "stopping after the current file" in err
    summary = json.loads(out)
    assert summary["cancelled"] and 0 < summary["indexed"] < 300
    env = docchat_env(tmp_path)
    assert docchat("collections", "check", "k", env=env).returncode == 0
    summary = json.loads(docchat("index", str(corpus), "-c", "k", "--json", env=env).stdout)
    assert summary["indexed"] + summary["unchanged"] == 300 and not summary["cancelled"]
    assert "ok (300 chunks, 300 vectors)" in docchat("collections", "check", "k", env=env).stdout


def test_second_ctrl_c_aborts_and_the_collection_stays_consistent(
    tmp_path: Path, held_index: tuple[subprocess.Popen[str], Path, Path]
) -> None:
    proc, _marker, corpus = held_index
    proc.send_signal(signal.SIGINT)
    assert proc.stderr is not None
    seen = ""
    while "stopping" not in seen:  # the first one was handled (signals are not queued)
        seen += proc.stderr.readline()
    proc.send_signal(signal.SIGINT)  # the embedder is still held: abort mid-batch
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "docchat: interrupted"  # no traceback
    env = docchat_env(tmp_path)
    assert docchat("collections", "check", "k", env=env).returncode == 0
    summary = json.loads(docchat("index", str(corpus), "-c", "k", "--json", env=env).stdout)
    assert summary["indexed"] + summary["unchanged"] == 300
    assert "ok (300 chunks, 300 vectors)" in docchat("collections", "check", "k", env=env).stdout
