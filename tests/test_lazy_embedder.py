"""The built-in embedder loads its model at the first text to embed: a re-index with nothing
new, and `docchat collections list/check`, never import torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from docchat.config import Settings
from docchat.embed.base import Embedder
from docchat.embed.lazy import LazyEmbedder
from docchat.embed.local_model import LocalModel
from docchat.embed.models import BUNDLED_EMBEDDERS, bundled_path
from docchat.errors import ModelError
from docchat.service import Docchat

MODEL = "all-MiniLM-L6-v2"


def bundled_folder() -> Path:
    folder = bundled_path(*BUNDLED_EMBEDDERS[MODEL.lower()])
    if folder is None:
        pytest.skip("the bundled embedding model is not installed")
    return folder


class Counting(Embedder):
    def __init__(self, dimension: int = 384) -> None:
        self.name, self.dimension, self.loads = MODEL, dimension, 0

    def embed_batch(self, texts: object) -> np.ndarray:
        return np.ones((len(texts), self.dimension), dtype=np.float32)  # type: ignore[arg-type]


def test_the_model_files_say_what_a_run_needs_before_the_model_loads() -> None:
    local = LocalModel.read(bundled_folder())
    assert local is not None and local.dimension == 384 and local.max_length == 256
    loads: list[int] = []

    def load() -> Embedder:
        loads.append(1)
        return Counting()

    lazy = LazyEmbedder(MODEL, "bf16", local, load)
    assert (lazy.dimension, lazy.max_tokens, lazy.precision) == (384, 254, "bf16")
    assert lazy.count_tokens(["Dropout reduces overfitting.", ""]) == [7, 0]
    assert lazy.embed([]).shape == (0, 384)
    assert not lazy.is_loaded and loads == []
    lazy.embed(["a", "b"])
    lazy.embed_query("c")
    assert lazy.is_loaded and loads == [1]


def test_preload_loads_the_model_once_on_a_thread_of_its_own() -> None:
    local = LocalModel.read(bundled_folder())
    assert local is not None
    loads: list[str] = []

    def load() -> Embedder:
        loads.append(threading.current_thread().name)
        return Counting()

    lazy = LazyEmbedder(MODEL, "bf16", local, load)
    thread = lazy.preload()
    assert thread is not None
    thread.join()
    assert lazy.is_loaded and loads == ["docchat-embedder-load"]
    assert lazy.preload() is None  # loaded (or loading): nothing more to start
    lazy.embed(["a"])
    assert loads == ["docchat-embedder-load"]


def test_a_failed_preload_is_raised_by_the_first_real_use() -> None:
    local = LocalModel.read(bundled_folder())
    assert local is not None

    def load() -> Embedder:
        raise ModelError("embedding model 'x': model.safetensors is corrupt")

    lazy = LazyEmbedder(MODEL, "bf16", local, load)
    thread = lazy.preload()
    assert thread is not None
    thread.join()
    assert not lazy.is_loaded
    with pytest.raises(ModelError, match="corrupt"):
        lazy.embed(["a"])


def test_an_index_run_preloads_the_model_only_when_it_has_a_file_to_read(
    fake_settings: Settings, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fakes import FakeEmbedder

    calls: list[int] = []
    monkeypatch.setattr(FakeEmbedder, "preload", lambda self: calls.append(1), raising=False)

    def index() -> None:
        service = Docchat(fake_settings)
        try:
            list(service.index("c", [docs]))
        finally:
            service.close()

    index()
    assert calls  # files to read: the model loads while they are parsed
    calls.clear()
    index()
    assert calls == []  # nothing changed: nothing loads


def test_a_model_whose_files_disagree_with_it_is_an_error() -> None:
    local = LocalModel.read(bundled_folder())
    assert local is not None
    lazy = LazyEmbedder(MODEL, "fp32", local, lambda: Counting(dimension=768))
    with pytest.raises(ModelError, match="768"):
        lazy.embed(["x"])


def test_folders_it_cannot_read_are_loaded_the_usual_way(tmp_path: Path) -> None:
    assert LocalModel.read(tmp_path) is None
    (tmp_path / "modules.json").write_text(
        json.dumps([{"type": "sentence_transformers.models.Dense"}]), encoding="utf-8"
    )
    assert LocalModel.read(tmp_path) is None


def _run(code: str, tmp_path: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCCHAT_")}
    env.update(DOCCHAT_DATA_DIR=str(tmp_path / "data"), HOME=str(tmp_path / "home"))
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent.parent), *sys.path])
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_nothing_new_to_index_never_imports_torch(docs: Path, tmp_path: Path) -> None:
    """A collection of the real model, written through the store (no model run), then a
    re-index and `collections list/check` in fresh processes."""
    bundled_folder()
    from docchat.config import load_settings
    from docchat.indexing import file_hash, text_hash
    from docchat.store.collection import Collection
    from docchat.store.writer import writing
    from docchat.types import ChunkSpan

    settings = load_settings(overrides={"data_dir": str(tmp_path / "data")})
    coll = Collection.open("c", settings.data_dir, create=True)
    with writing(coll) as writer:
        writer.use_model(MODEL, 384, lambda: "stored", "fp32")
        for i, path in enumerate(sorted(docs.rglob("*.*"))):
            text = path.read_text(encoding="utf-8")
            st = path.stat()
            vector = np.zeros(384, dtype=np.float32)
            vector[i] = 1.0
            writer.put(
                path=str(path),
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
                content_hash=file_hash(path),
                kind="text",
                title=None,
                pages=None,
                chunks=[(ChunkSpan(text, None, 0, len(text), 1, 2), text_hash(text))],
                vectors={text_hash(text): vector},
            )
        writer.finish()
    coll.close()
    out = _run(
        f"""
        import sys
        from docchat.config import load_settings
        from docchat.service import Docchat
        service = Docchat(load_settings())
        *_, summary = service.index("c", [{str(docs)!r}])
        assert summary.unchanged == 3 and summary.indexed == 0, summary
        # ... nor reads the tokenizer or the vectors
        print("tokenizers" in sys.modules, "faiss" in sys.modules)
        from docchat.cli import main
        for args in (["collections", "list"], ["collections", "check", "c"]):
            try:
                main(args)
            except SystemExit as e:
                assert not e.code, (args, e.code)
        print("torch" in sys.modules, "sentence_transformers" in sys.modules)
        """,
        tmp_path,
    )
    assert out.strip().splitlines()[-1] == "False False"
    assert out.strip().splitlines()[0] == "False False"


def test_a_new_collection_fingerprints_its_model_with_its_first_vectors(
    fake_settings: Settings, docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not before its first file is read (the model loads while that file is parsed), and
    not at all when nothing is embedded."""
    from fakes import FakeEmbedder

    seen: list[list[str]] = []
    real = FakeEmbedder.embed_batch

    def watched(self: FakeEmbedder, texts: Sequence[str]) -> np.ndarray:
        seen.append(list(texts))
        return real(self, texts)

    monkeypatch.setattr(FakeEmbedder, "embed_batch", watched)
    blank = tmp_path / "blank"
    blank.mkdir()
    (blank / "empty.txt").write_text("", encoding="utf-8")
    service = Docchat(fake_settings)
    try:
        list(service.index("c", [blank]))
        assert seen == []  # nothing to embed: the model never ran
        assert service.open_collection("c").meta("fingerprint") is None
        list(service.index("c", [docs]))
    finally:
        service.close()
    probes = [i for i, texts in enumerate(seen) if texts == ["docchat fingerprint probe"]]
    assert probes and probes[0] > 0  # after the first texts, not before them
    fingerprint = Docchat(fake_settings).open_collection("c").meta("fingerprint")
    assert fingerprint is not None and fingerprint.startswith("fake-embedder:64:")
