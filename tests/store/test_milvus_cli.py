"""The real `docchat` command on Milvus (Milvus Lite in the collection folder, one per
process): end to end, migrate with progress, and one-line errors for a server that cannot
be reached and for a Milvus Lite file another process holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from backends import HAVE_MILVUS
from test_cli_index import _start_and_hold, docchat, docchat_env, make_corpus

pytestmark = pytest.mark.skipif(not HAVE_MILVUS, reason="needs the milvus extra")


def test_index_search_ask_migrate_end_to_end_on_milvus(tmp_path: Path, docs: Path) -> None:
    env = docchat_env(
        tmp_path,
        DOCCHAT_STORE_VECTOR_BACKEND="milvus",
        DOCCHAT_GENERATE_BACKEND="fake",
        DOCCHAT_GENERATE_ABSTAIN_BELOW="0.0",
    )
    docchat("index", str(docs), "-c", "m", "-q", env=env, check=True)
    assert (tmp_path / "data" / "collections" / "m" / "milvus.db").is_dir()
    hits = json.loads(docchat("search", "sourdough starter", "-c", "m", "--json", env=env).stdout)
    assert hits[0]["path"].endswith("bread.txt")
    answer = json.loads(
        docchat("ask", "What does sourdough need?", "-c", "m", "--json", env=env).stdout
    )
    assert answer["sources"][0]["path"].endswith("bread.txt")
    listed = json.loads(docchat("collections", "list", "--json", env=env, check=True).stdout)
    assert listed[0]["vector_backend"] == "milvus"
    assert listed[0]["vector_store"]["index_type"] == "FLAT"

    moved = docchat("collections", "migrate", "m", "--to", "faiss", env=env, check=True)
    n = listed[0]["chunks"]
    assert moved.stdout == f"m: {n} vectors now in faiss\n" and f"{n}/{n} vectors" in moved.stderr
    assert f"ok ({n} chunks, {n} vectors)" in docchat("collections", "check", "m", env=env).stdout
    hits = json.loads(docchat("search", "sourdough", "-c", "m", "--json", env=env).stdout)
    assert hits[0]["path"].endswith("bread.txt")


def test_an_unreachable_milvus_uri_is_one_line_naming_it(tmp_path: Path, docs: Path) -> None:
    env = docchat_env(
        tmp_path,
        DOCCHAT_STORE_VECTOR_BACKEND="milvus",
        DOCCHAT_STORE_MILVUS_URI="http://127.0.0.1:1",
    )
    proc = docchat("index", str(docs), "-c", "m", env=env)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr  # no traceback, no pymilvus log lines
    assert lines[0].startswith("docchat: cannot reach Milvus at http://127.0.0.1:1")
    assert "nothing is lost" in lines[0]


def test_a_milvus_lite_file_held_by_another_process_is_named(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus", 50)
    proc, _ = _start_and_hold(tmp_path, corpus, DOCCHAT_STORE_VECTOR_BACKEND="milvus")
    try:
        search = docchat(
            "search", "subject", "-c", "k", "--mode", "dense", env=docchat_env(tmp_path)
        )
        assert search.returncode == 1
        lines = search.stderr.strip().splitlines()
        assert len(lines) == 1, search.stderr
        assert f"is open in another process (pid {proc.pid}" in lines[0]
        assert "Milvus Lite serves one process at a time" in lines[0]
    finally:
        proc.kill()
        proc.wait()
    # Once the holder is gone, the next process opens the file and finds the saved work.
    check = docchat("collections", "check", "k", env=docchat_env(tmp_path))
    assert check.returncode == 0, check.stderr
