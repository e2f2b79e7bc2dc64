"""The whole hostile corpus through the real `docchat index` (issue 10): no file aborts the run,
nothing hangs, every file gets a true reason, the collection stays consistent, and each file's
work is bounded. Work is asserted through counters (characters tokenized, chunks made), never
through time; the seconds per file are printed for the record (run with -s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile.corpus import Expect, build, unlock

from docchat.config import Settings

TESTS = Path(__file__).resolve().parents[1]
LIMITS = Settings().index
PEAK_RSS_BOUND = 1536 * 1024 * 1024  # the bound with the default models


def docchat(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "docchat", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )


@pytest.mark.slow  # about a minute here: 67 MB of hostile files through the real CLI
def test_the_hostile_corpus_never_aborts_hangs_or_lies(tmp_path: Path) -> None:
    corpus = tmp_path.resolve() / "corpus"
    expected = build(corpus)
    probe = tmp_path / "probe.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCCHAT_", "FAKE_"))}
    env.update(
        PYTHONPATH=f"{TESTS}{os.pathsep}{env.get('PYTHONPATH', '')}",
        DOCCHAT_DATA_DIR=str(tmp_path / "data"),
        DOCCHAT_CONFIG=str(tmp_path / "none.toml"),
        DOCCHAT_PLUGINS="fakes,hostile.probe",
        DOCCHAT_EMBED_BACKEND="fake",
        DOCCHAT_EMBED_MODEL="fake-embedder",
        HOSTILE_PROBE_OUT=str(probe),
    )
    try:
        proc = docchat("index", str(corpus), "-c", "hostile", "--json", env=env)
    finally:
        unlock(corpus)

    assert proc.returncode in (0, 2), proc.stderr
    assert "Traceback" not in proc.stderr and "Logging error" not in proc.stderr, proc.stderr
    summary = json.loads(proc.stdout)

    # Every input file is in the summary with the state and reason it should have.
    said: dict[str, tuple[str, str]] = {}
    for key, state, field in (
        ("skipped_files", "skipped", "reason"),
        ("failed_files", "failed", "error"),
    ):
        for entry in summary[key]:
            assert entry["path"] not in said, entry
            said[entry["path"]] = (state, entry[field])
    wrong = {}
    for path, expect in expected.items():
        state, reason = said.get(str(path), ("indexed", ""))
        if (
            state != expect.state
            or (expect.reason or "") not in reason
            or not (reason or state == "indexed")
        ):
            wrong[str(path)] = (state, reason, expect)
    assert wrong == {}
    assert set(said) <= {str(p) for p in expected}, set(said) - {str(p) for p in expected}
    indexed = [p for p, e in expected.items() if e == Expect("indexed")]
    assert summary["indexed"] == len(indexed)
    # A file a limit cut short says so.
    notes = {Path(n["path"]).name: n["note"] for n in summary["noted_files"]}
    assert "index.max_chunks_per_file" in notes["long.md"]
    assert "index.max_text_chars" in notes["big.html"]

    # Each file's work is bounded by its size and the chunk cap, whatever it holds.
    records = [json.loads(line) for line in probe.read_text(encoding="utf-8").splitlines()]
    # The run's own peak, read inside it at exit (tests/hostile/probe.py): the parent's view
    # (getrusage/wait4) also counts this pytest worker's memory, copied into the child at fork.
    peak_rss = 1024 * max(r["peak_rss_kib"] for r in records if "peak_rss_kib" in r)
    records = [r for r in records if "path" in r]
    examined = {r["path"] for r in records}
    assert examined >= {str(p) for p in indexed}
    for r in records:
        if "chunks" not in r:
            continue  # refused before chunking (skipped or failed)
        size = max(os.stat(r["path"]).st_size, 1)
        assert r["chunks"] <= LIMITS.max_chunks_per_file, r
        assert r["chars_tokenized"] <= 3 * size + 10_000, r
        assert r["chunks_made"] <= 2 * LIMITS.max_chunks_per_file + size // 100, r
    slowest = sorted(records, key=lambda r: -r["seconds"])[:8]
    print("\nslowest files (s):", [(Path(r["path"]).name, round(r["seconds"], 1)) for r in slowest])
    print(f"peak RSS of the index run: {peak_rss / 2**20:.0f} MiB")
    assert peak_rss < PEAK_RSS_BOUND

    check = docchat("collections", "check", "hostile", env=env)
    assert check.returncode == 0, check.stdout + check.stderr

    # The ledger (`docchat status`) holds every input file with the same state and reason.
    status = docchat("status", "-c", "hostile", "--json", env=env)
    assert status.returncode == 0, status.stderr
    ledger = {f["path"]: f for f in json.loads(status.stdout)["files"]}
    for path, expect in expected.items():
        assert str(path) in ledger, path
        assert ledger[str(path)]["state"] == expect.state, ledger[str(path)]
        assert (expect.reason or "") in (ledger[str(path)]["reason"] or ""), ledger[str(path)]
