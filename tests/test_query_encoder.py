"""The light query encoder (embed/onnx.py): a cached ONNX Runtime export of the bundled
model, keyed by model files + CPU features + library versions; its vectors are the torch
path's; a search in a fresh process imports no torch."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import docchat.embed.onnx as onnx
from docchat.config import EmbedSettings
from docchat.errors import ModelError

MODEL = "all-MiniLM-L6-v2"


@pytest.fixture
def model_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}", encoding="utf-8")
    monkeypatch.delenv("DOCCHAT_MODEL_CACHE")  # these tests build (fakes) into HOME's cache
    return folder


def test_the_cache_key_follows_model_cpu_and_libraries(
    model_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flags = frozenset({"avx2", "avx512f"})
    key = onnx.cache_key(model_folder, flags)
    assert onnx.cache_key(model_folder, flags) == key
    assert onnx.cache_key(model_folder, flags | {"amx_int8"}) != key
    assert onnx.cache_key(model_folder, flags | {"sse4_2"}) == key  # irrelevant flag
    real = onnx._version
    monkeypatch.setattr(onnx, "_version", lambda d: "99.0" if d == "onnxruntime" else real(d))
    assert onnx.cache_key(model_folder, flags) != key
    monkeypatch.setattr(onnx, "_version", real)
    (model_folder / "config.json").write_text('{"changed": 1}', encoding="utf-8")
    assert onnx.cache_key(model_folder, flags) != key


def test_the_export_is_built_once_reused_and_rebuilt_when_its_key_changes(
    model_folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    built: list[Path] = []

    def fake_export(folder: Path, target: Path) -> None:
        built.append(target)
        target.write_bytes(b"onnx")

    monkeypatch.setattr(onnx, "export", fake_export)
    first = onnx.prepared_model(model_folder, int8=False)
    assert onnx.prepared_model(model_folder, int8=False) == first and len(built) == 1
    out = capsys.readouterr()
    assert out.out == "" and "building the ONNX encoder" in out.err  # progress on stderr only
    real = onnx._version
    monkeypatch.setattr(onnx, "_version", lambda d: "99.0" if d == "onnxruntime" else real(d))
    second = onnx.prepared_model(model_folder, int8=False)
    assert second != first and len(built) == 2 and second.read_bytes() == b"onnx"
    assert not list(second.parent.glob(".*.tmp"))  # written atomically, nothing left over


def test_a_damaged_cached_model_is_built_again_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cached export or OpenVINO model that no longer loads is rebuilt, not a slower
    fallback (or a failure) on every run from then on; a rebuild that fails too raises."""
    built: list[int] = []
    removed: list[Path] = []
    cached = tmp_path / "model.onnx"
    cached.write_bytes(b"damaged")

    def build() -> Path:
        built.append(1)
        if not cached.exists():
            cached.write_bytes(b"good")
        return cached

    def load(path: Path) -> str:
        content = path.read_bytes()
        if content != b"good":
            raise RuntimeError("Cannot recognize input model.\nmore detail")
        return "session"

    def remove(path: Path) -> None:
        removed.append(path)
        path.unlink()

    assert onnx.load_built("ONNX encoder", build, load, remove) == "session"
    assert len(built) == 2 and removed == [cached]
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "cached ONNX encoder" in line and "Cannot recognize input model." in line
    assert "building it again" in line and "more detail" not in line

    assert onnx.load_built("ONNX encoder", build, load, remove) == "session"  # now loads
    assert len(built) == 3 and len(removed) == 1

    def broken(path: Path) -> str:
        raise RuntimeError("still broken")

    with pytest.raises(RuntimeError, match="still broken"):  # rebuilt and still failing
        onnx.load_built("ONNX encoder", build, broken, remove)
    # ... is not rebuilt on every run after: the next one fails at once, saying why
    before = len(built), len(removed)
    with pytest.raises(ModelError, match="does not load: still broken"):
        onnx.load_built("ONNX encoder", build, broken, remove)
    assert (len(built), len(removed)) == (before[0] + 1, before[1])  # (its path only)


def test_a_failed_export_falls_back_to_the_full_model_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("onnxruntime")
    from docchat.embed import registry
    from docchat.embed.lazy import LazyEmbedder

    if registry._local_model(MODEL) is None:
        pytest.skip("the bundled embedding model is not installed")

    def broken(folder: Path, target: Path) -> None:
        raise RuntimeError("exporter exploded\nwith details")

    monkeypatch.setattr(onnx, "export", broken)
    monkeypatch.delenv("DOCCHAT_MODEL_CACHE")  # no export built by another test to find
    embedder = registry.create_query_embedder(EmbedSettings(), "bf16")
    assert isinstance(embedder, LazyEmbedder) and embedder.precision == "bf16"
    err = capsys.readouterr().err
    assert "not available (exporter exploded); using the full model" in err
    assert "with details" not in err


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One export for the slow tests of this module (it takes tens of seconds)."""
    yield tmp_path_factory.mktemp("xdg-cache")


@pytest.mark.slow
def test_onnx_query_vectors_match_the_torch_path(
    onnx_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("XDG_CACHE_HOME", str(onnx_cache))
    from docchat.embed.onnx import OnnxEmbedder
    from docchat.embed.sentence_transformers import SentenceTransformerEmbedder

    texts = [
        "how do I stop a running index",
        "Dropout randomly zeroes activations during training to reduce overfitting.",
        "Sourdough bread needs a starter, flour, water and salt. " * 12,
        "ünïcödé and CJK 检索 text",
    ]
    fast = OnnxEmbedder(MODEL, int8=False)
    torch_fp32 = SentenceTransformerEmbedder(MODEL, device="cpu")
    torch_bf16 = SentenceTransformerEmbedder(MODEL, device="cpu", precision="bf16")
    a = fast.embed(texts)
    assert a.dtype == np.float32 and a.shape == (4, 384)
    assert np.min(np.sum(a * torch_fp32.embed(texts), axis=1)) >= 0.999
    b16 = torch_bf16.embed(texts)
    assert b16.dtype == np.float32
    assert np.min(np.sum(a * b16, axis=1)) >= 0.99
    assert fast.count_tokens(texts) == torch_fp32.count_tokens(texts)
    assert fast.max_tokens == torch_fp32.max_tokens


@pytest.mark.slow
def test_a_one_off_search_imports_no_torch(
    onnx_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("XDG_CACHE_HOME", str(onnx_cache))
    from docchat.config import load_settings
    from docchat.embed.models import resolve_embedding_model
    from docchat.indexing import text_hash
    from docchat.store.collection import Collection
    from docchat.store.writer import writing
    from docchat.types import ChunkSpan

    onnx.prepared_model(Path(resolve_embedding_model(MODEL)), int8=False)  # built once
    texts = ["Dropout reduces overfitting in neural networks.", "Sourdough needs a starter."]
    vectors = onnx.OnnxEmbedder(MODEL, int8=False).embed(texts)
    settings = load_settings()
    coll = Collection.open("c", settings.data_dir, create=True)
    with writing(coll) as writer:
        writer.use_model(MODEL, 384, lambda: "stored", "bf16")
        for i, (text, vector) in enumerate(zip(texts, vectors, strict=True)):
            writer.put(
                path=f"/docs/{i}.txt",
                size=1,
                mtime_ns=1,
                content_hash=str(i),
                kind="text",
                title=None,
                pages=None,
                chunks=[(ChunkSpan(text, None, 0, len(text), 1, 1), text_hash(text))],
                vectors={text_hash(text): vector},
            )
        writer.finish()
    coll.close()
    code = (
        "import sys; from docchat.cli import main\n"
        "try:\n    main(['search', 'regularisation of networks', '-c', 'c', '--mode', 'dense'])\n"
        "except SystemExit as e:\n    assert not e.code, e.code\n"
        "print('torch' in sys.modules, 'transformers' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ)
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-1] == "False False"
    assert "0.txt" in out.stdout.split("1.txt")[0]  # the dropout passage ranks first


def test_queries_reuse_a_model_this_process_loaded_to_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from docchat.config import load_settings
    from docchat.embed import registry
    from docchat.embed.base import Embedder
    from docchat.embed.lazy import LazyEmbedder
    from docchat.service import Docchat
    from docchat.store.collection import Collection
    from docchat.store.writer import writing

    local = registry._local_model(MODEL)
    if local is None:
        pytest.skip("the bundled embedding model is not installed")

    class Stub(Embedder):
        def __init__(self) -> None:
            self.name, self.dimension = MODEL, 384

        def embed_batch(self, texts: object) -> np.ndarray:
            return np.ones((1, 384), dtype=np.float32)

    service = Docchat(load_settings())
    coll = Collection.open("c", service.settings.data_dir, create=True)
    with writing(coll) as writer:
        writer.use_model(MODEL, 384, lambda: "stored", "fp32")
    light = Stub()
    monkeypatch.setattr(registry, "create_query_embedder", lambda settings, precision: light)
    indexing = service.embedder(MODEL, "bf16")
    assert isinstance(indexing, LazyEmbedder)
    monkeypatch.setattr(indexing, "_load", Stub)
    assert service.embedder_for(coll) is light  # the indexing model is not loaded: ONNX
    service._embedders.clear()
    indexing = service.embedder(MODEL, "bf16")
    assert isinstance(indexing, LazyEmbedder)
    monkeypatch.setattr(indexing, "_load", Stub)
    indexing.embed(["load it"])
    assert service.embedder_for(coll) is indexing  # loaded, same family: reused
    coll.close()
    service.close()
