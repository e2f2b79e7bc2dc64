"""The OpenVINO path (embed/openvino.py, embed.precision = "ov-int8"): a cached IR of the
bundled model, keyed by model files + CPU features + library versions, built atomically;
a machine where it cannot run falls back to torch with one line; its vectors are torch
fp32's within the quality bar."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import docchat.embed.openvino as openvino
from docchat.config import EmbedSettings

MODEL = "all-MiniLM-L6-v2"


@pytest.fixture
def model_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("DOCCHAT_MODEL_CACHE")  # these tests build (fakes) into their own
    return folder


def test_the_cache_key_follows_model_cpu_and_libraries(
    model_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flags = frozenset({"avx2", "avx512f"})
    key = openvino.cache_key(model_folder, flags)
    assert openvino.cache_key(model_folder, flags) == key
    assert openvino.cache_key(model_folder, flags | {"amx_int8"}) != key
    assert openvino.cache_key(model_folder, flags | {"sse4_2"}) == key  # irrelevant flag
    real = openvino.version
    for library in ("openvino", "nncf"):
        monkeypatch.setattr(
            openvino, "version", lambda d, lib=library: "99" if d == lib else real(d)
        )
        assert openvino.cache_key(model_folder, flags) != key
    monkeypatch.setattr(openvino, "version", real)
    (model_folder / "config.json").write_text('{"changed": 1}', encoding="utf-8")
    assert openvino.cache_key(model_folder, flags) != key


def test_the_model_is_built_once_reused_and_rebuilt_when_its_key_changes(
    model_folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    built: list[tuple[Path, bool]] = []

    def fake_build(folder: Path, target: Path, int8: bool, name: str) -> None:
        built.append((target, int8))
        target.mkdir()
        (target / "model.xml").write_text("<net/>", encoding="utf-8")
        (target / "model.bin").write_bytes(b"weights")

    monkeypatch.setattr(openvino, "build", fake_build)
    first = openvino.prepared_ir(model_folder, int8=True)
    assert openvino.prepared_ir(model_folder, int8=True) == first and len(built) == 1
    assert first.name == "model.xml" and built[0][1] is True
    out = capsys.readouterr()
    assert out.out == "" and "building the int8 OpenVINO model" in out.err  # progress: stderr
    assert "built the int8 OpenVINO model" in out.err
    # The fp32 IR is another file in the same keyed folder.
    assert openvino.prepared_ir(model_folder, int8=False).parent.name == "fp32"
    real = openvino.version
    monkeypatch.setattr(openvino, "version", lambda d: "99" if d == "openvino" else real(d))
    second = openvino.prepared_ir(model_folder, int8=True)
    assert second != first and len(built) == 3
    # A half-built model (no weights) is built again.
    (second.parent / "model.bin").unlink()
    assert openvino.prepared_ir(model_folder, int8=True) == second and len(built) == 4


def test_a_build_is_atomic(model_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is left in place, or half-written, when the conversion fails."""
    pytest.importorskip("openvino")

    def broken(*args: object, **kwargs: object) -> Path:
        raise RuntimeError("converter exploded")

    monkeypatch.setattr(openvino, "converted", broken)
    with pytest.raises(RuntimeError, match="exploded"):
        openvino.prepared_ir(model_folder, int8=True)
    root = openvino.cache_root()
    assert not list(root.rglob("model.xml")) and not list(root.rglob("*.tmp"))


def test_calibration_uses_the_bundled_sample_corpus() -> None:
    texts = openvino.calibration_texts()
    assert 20 <= len(texts) <= 96
    assert all(len(t) > 40 for t in texts) and not any("<p>" in t for t in texts)
    assert max(len(t) for t in texts) > 1000  # chunk-sized passages too, not only paragraphs


def test_without_openvino_the_int8_path_falls_back_to_torch_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from docchat.embed import precision, registry, sentence_transformers
    from docchat.embed.base import Embedder

    if registry._local_model(MODEL) is None:
        pytest.skip("the bundled embedding model is not installed")

    class FakeTorch(Embedder):
        def __init__(self, model: str, device: str = "auto", precision: str = "fp32") -> None:
            self.name, self.precision, self.dimension = model, precision, 384

        def embed_batch(self, texts: object) -> np.ndarray:
            return np.ones((1, 384), dtype=np.float32) / np.sqrt(384)

    def no_openvino(model: str, precision: str) -> Embedder:
        raise ImportError("No module named 'openvino'\nmore")

    monkeypatch.setattr(registry, "_openvino", no_openvino)
    monkeypatch.setattr(sentence_transformers, "SentenceTransformerEmbedder", FakeTorch)
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"amx_bf16", "amx_int8"}))
    embedder = registry.create_embedder(EmbedSettings(precision="ov-int8"))
    assert embedder.precision == "ov-int8"  # until it loads
    embedder.embed(["one text"])
    assert embedder.precision == "bf16"  # the torch path that stands in: same family
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert (
        "OpenVINO embedder is not available (No module named 'openvino'); using torch bf16" in err
    )


def test_openvino_reports_nothing_home(tmp_path: Path) -> None:
    """`import openvino` alone sends a usage event to Intel and writes a client id under
    ~/intel (openvino_telemetry); imported through docchat it does neither."""
    import os
    import subprocess
    import sys

    pytest.importorskip("openvino")
    home = tmp_path / "clean-home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("CI",)}  # (CI turns it off)
    env.update(HOME=str(home), PYTHONPATH=os.pathsep.join(sys.path))
    code = (
        "import sys; from docchat.embed.openvino import import_openvino; import_openvino(); "
        "import openvino.tools.ovc; print(sys.modules.get('openvino_telemetry'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["None"]
    assert not (home / "intel").exists()


@pytest.fixture(scope="module")
def ov_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One build for the slow tests of this module (it takes a minute or two)."""
    yield tmp_path_factory.mktemp("xdg-cache")


@pytest.mark.slow
@pytest.mark.timeout(900)  # builds the int8 model in the test (minutes on 2 loaded cores)
def test_openvino_int8_vectors_match_torch_fp32(
    ov_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("openvino")
    pytest.importorskip("nncf")
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("XDG_CACHE_HOME", str(ov_cache))
    from docchat.embed import registry
    from docchat.embed.sentence_transformers import SentenceTransformerEmbedder

    if registry._local_model(MODEL) is None:
        pytest.skip("the bundled embedding model is not installed")
    texts = [
        "how do I stop a running index",
        "Dropout randomly zeroes activations during training to reduce overfitting.",
        "Sourdough bread needs a starter, flour, water and salt. " * 12,
        "ünïcödé and CJK 检索 text",
        "def embed_batch(self, texts):\n    return self.session.run(None, feeds)[0]",
    ]
    fast = openvino.OpenVinoEmbedder(MODEL, "ov-int8")
    reference = SentenceTransformerEmbedder(MODEL, device="cpu")
    a = fast.embed(texts)
    assert a.dtype == np.float32 and a.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    cosine = np.sum(a * reference.embed(texts), axis=1)
    # int8 activations cost some agreement: 0.990-0.998 on these texts, mean 0.984 (min
    # 0.969) on 64 SciFact abstracts; its ranking cost is measured by nDCG (benchmarks/).
    assert np.min(cosine) >= 0.98 and np.mean(cosine) >= 0.99
    assert fast.count_tokens(texts) == reference.count_tokens(texts)
    assert fast.max_tokens == reference.max_tokens


@pytest.mark.slow
def test_the_default_openvino_path_splits_batches_over_streams_with_fp32_vectors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ov-bf16 (auto on CPUs with bfloat16 arithmetic): a batch split over the streams gives
    the vectors one text at a time gives, in order, and fp32's within bf16's rounding."""
    pytest.importorskip("openvino")
    from docchat.embed import registry
    from docchat.embed.sentence_transformers import SentenceTransformerEmbedder

    if registry._local_model(MODEL) is None:
        pytest.skip("the bundled embedding model is not installed")
    texts = [
        f"Passage {i}: " + "sourdough starter, flour and water. " * (i % 7 + 1) for i in range(40)
    ]
    fast = openvino.OpenVinoEmbedder(MODEL, "ov-bf16")
    monkeypatch.setattr(openvino, "MIN_PART", 4)
    fast.streams = max(fast.streams, 2)  # a split even on a one-stream machine
    fast._local.__dict__.clear()
    batch = fast.embed_batch(texts)
    singles = np.concatenate([fast.embed_batch([t]) for t in texts])
    assert batch.shape == (40, 384)
    assert np.min(np.sum(batch * singles, axis=1)) >= 0.999
    reference = SentenceTransformerEmbedder(MODEL, device="cpu").embed(texts)
    assert np.min(np.sum(batch * reference, axis=1)) >= 0.99
    assert fast.embed_batch([]).shape == (0, 384)
