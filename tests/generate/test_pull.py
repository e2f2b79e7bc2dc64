"""`docchat models pull` against a local server with the hub's file layout (never the real hub):
choosing the file, resuming after Ctrl-C and after a dropped connection, size/hash checks,
offline and unreachable hubs."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import huggingface_hub.constants
import pytest
from click.testing import CliRunner, Result
from gguf_files import write_gguf
from hub_server import HubServer

from docchat.cli import main
from docchat.errors import DocchatError, ModelError
from docchat.generate.pull import parse_spec, pull

TESTS = Path(__file__).parent.parent
REPO = "tester/Tiny-Chat-GGUF"
Q4 = "Tiny-Chat-Q4_K_M.gguf"
Q8 = "Tiny-Chat-Q8_0.gguf"
CHUNK = 10 * 1024 * 1024  # huggingface_hub writes downloads in chunks of this size


def gguf_bytes(tmp_path: Path, name: str, tail: int, seed: int) -> bytes:
    """A real GGUF header and tensor, then `tail` random bytes (so a download spans chunks
    and any byte written at the wrong offset breaks the hash)."""
    head = write_gguf(tmp_path / "src" / name, name=name).read_bytes()
    return head + random.Random(seed).randbytes(tail)


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    with HubServer() as server:
        server.add(
            REPO,
            {
                Q4: gguf_bytes(tmp_path, Q4, 2 * CHUNK + 12345, seed=1),
                Q8: gguf_bytes(tmp_path, Q8, 1000, seed=2),
                "README.md": b"# Tiny\n",
            },
        )
        server.add("tester/One-GGUF", {"one-Q5_K_M.gguf": gguf_bytes(tmp_path, "one", 10, 3)})
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
        for key in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HUB_OFFLINE"):
            monkeypatch.delenv(key, raising=False)
        monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
        # Another test in this process may have loaded the bundled embedder, which turns
        # huggingface_hub's offline mode on for the process.
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
        yield server


def cache(tmp_path: Path) -> Path:
    return tmp_path / "hf" / "hub" / f"models--{REPO.replace('/', '--')}"


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_parse_spec() -> None:
    assert parse_spec("org/repo") == ("org/repo", None)
    assert parse_spec("org/repo:file.gguf") == ("org/repo", "file.gguf")
    assert parse_spec("org/repo:Q4_K_M") == ("org/repo", "Q4_K_M")
    for bad in ("", "../etc", "org/re po", "org/x--y", "a/b/c"):
        with pytest.raises(DocchatError, match="is not a Hugging Face model"):
            parse_spec(bad)


def test_pull_a_named_file_into_the_hub_cache_then_list_it(hub: HubServer, tmp_path: Path) -> None:
    result = cli("models", "pull", f"{REPO}:{Q8}", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["name"] == f"{REPO}:{Q8}" and out["source"] == "huggingface"
    assert out["downloaded_bytes"] == len(hub.repos[REPO].files[Q8])
    assert out["quantization"] == "Q4_K_M"  # from the header (write_gguf's file type)
    # The layout huggingface_hub itself writes: blob by SHA-256, snapshot symlink, ref.
    data = hub.repos[REPO].files[Q8]
    blob = cache(tmp_path) / "blobs" / hashlib.sha256(data).hexdigest()
    pointer = cache(tmp_path) / "snapshots" / ("c" * 40) / Q8
    assert blob.read_bytes() == data and pointer.resolve() == blob
    assert (cache(tmp_path) / "refs" / "main").read_text() == "c" * 40

    listed = json.loads(cli("models", "--json").stdout)
    assert f"{REPO}:{Q8}" in {m["name"] for m in listed}

    again = json.loads(cli("models", "pull", f"{REPO}:{Q8}", "--json").stdout)
    assert again["downloaded_bytes"] == 0
    assert len(hub.downloads()) == 1  # only the first pull fetched the file


def test_choose_by_quantization_or_the_only_gguf(hub: HubServer) -> None:
    pulled = pull(f"{REPO}:q8_0")
    assert pulled.files == (Q8,) and pulled.name == f"{REPO}:{Q8}"
    assert pull("tester/One-GGUF").files == ("one-Q5_K_M.gguf",)
    with pytest.raises(ModelError, match=r"has 2 GGUF files .*pick one"):
        pull(REPO)
    with pytest.raises(ModelError, match="has no IQ2_XS GGUF; it has: Q4_K_M, Q8_0"):
        pull(f"{REPO}:IQ2_XS")
    with pytest.raises(ModelError, match="no model repository nobody/none"):
        pull("nobody/none:x.gguf")
    with pytest.raises(ModelError, match=re.escape("no file tester/One-GGUF:missing.gguf")):
        pull("tester/One-GGUF:missing.gguf")


def test_a_dropped_connection_resumes_in_the_same_call(hub: HubServer) -> None:
    hub.cut_after = CHUNK + 5000  # one whole chunk reaches the disk, then the line drops
    pulled = pull(f"{REPO}:{Q4}")
    data = hub.repos[REPO].files[Q4]
    assert pulled.path.read_bytes() == data and pulled.downloaded_bytes == len(data)
    gets = hub.downloads()
    assert [g.range for g in gets] == [None, f"bytes={CHUNK}-"]


def test_ctrl_c_keeps_the_partial_download_and_the_next_run_resumes_it(
    hub: HubServer, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCCHAT_")}
    env.update(
        PYTHONPATH=f"{TESTS}{os.pathsep}{env.get('PYTHONPATH', '')}",
        DOCCHAT_CONFIG=str(tmp_path / "none.toml"),
        DOCCHAT_DATA_DIR=str(tmp_path / "data"),
    )
    data = hub.repos[REPO].files[Q4]
    partial = cache(tmp_path) / "blobs" / f"{hashlib.sha256(data).hexdigest()}.incomplete"
    hub.hold_after = CHUNK + 5000
    command = [sys.executable, "-m", "docchat", "models", "pull", f"{REPO}:{Q4}"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert hub.held.wait(120), "the download never started"
        deadline = time.monotonic() + 60
        while not (partial.exists() and partial.stat().st_size >= CHUNK):
            assert time.monotonic() < deadline, "no chunk reached the disk"
            time.sleep(0.02)  # polling for the file, not timing anything
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        hub.release.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert b"interrupted; the same command resumes the download" in err
    assert partial.stat().st_size == CHUNK

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"resuming {Q4} at 10 of 21 MB" in done.stderr
    assert done.stdout.splitlines()[1].startswith(f"{REPO}:{Q4} ")
    assert hub.downloads()[-1].range == f"bytes={CHUNK}-"
    pointer = cache(tmp_path) / "snapshots" / ("c" * 40) / Q4
    assert pointer.read_bytes() == data and not partial.exists()


def test_a_corrupt_download_is_deleted_not_installed(hub: HubServer, tmp_path: Path) -> None:
    data = hub.repos[REPO].files[Q8]
    hub.repos[REPO].served[Q8] = data[:-1] + bytes([data[-1] ^ 1])
    result = cli("models", "pull", f"{REPO}:{Q8}")
    assert result.exit_code == 1
    assert "is corrupt (its SHA-256 does not match the hub's); it was deleted" in result.stderr
    assert list((cache(tmp_path) / "blobs").iterdir()) == []
    assert not (cache(tmp_path) / "snapshots").exists()


def test_offline_fails_at_once_with_one_line(
    hub: HubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = cli("models", "pull", f"{REPO}:{Q8}")
    assert result.exit_code == 1 and hub.requests == []
    assert result.stderr == (
        f"docchat: cannot download {REPO}:{Q8}: offline (HF_HUB_OFFLINE is set); "
        "`docchat models` lists the models already on this machine\n"
    )


def test_an_unreachable_hub_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    for spec in (f"{REPO}:{Q8}", REPO):  # a metadata HEAD, a tree listing
        result = cli("models", "pull", spec)
        assert result.exit_code == 1
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(
            f"docchat: cannot reach http://127.0.0.1:{port}"
        )
