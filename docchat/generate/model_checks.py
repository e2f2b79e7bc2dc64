"""Cheap checks of a chat model before it is loaded: a GGUF cut short, random bytes named
`.gguf`, a folder without weights or a model bigger than the free memory each become a
one-line ModelError naming the file and what to do — never a crash inside native code.
(The GGUF header itself is read by generate/gguf_header.py.)
"""

from __future__ import annotations

import json
from pathlib import Path

from docchat.errors import ModelError
from docchat.generate.gguf_header import GGUFExtents, read_extents, read_header

GB = 1024**3

# ---------------------------------------------------------------- folders (transformers)

WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin", "model*.bin", "*.pt")


def folder_weights(folder: Path) -> tuple[int, str]:
    """Bytes of model weights in a transformers model folder and its checkpoint dtype."""
    name = str(folder)
    if not (folder / "config.json").is_file():
        ggufs = sorted(folder.glob("*.gguf"))
        hint = (
            f"give the .gguf file itself with --model ({ggufs[0].name})"
            if ggufs
            else "point --model at a model folder (config.json and *.safetensors), e.g. one "
            "made by `huggingface-cli download`"
        )
        raise ModelError(f"{name} is not a model folder (no config.json): {hint}")
    files = {p for pattern in WEIGHT_PATTERNS for p in folder.glob(pattern) if p.is_file()}
    if not files:
        raise ModelError(
            f"{name} has no model weights (no *.safetensors or pytorch_model*.bin next to "
            "config.json; an unfinished download?): download the model again"
        )
    dtype = ""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        dtype = str(config.get("torch_dtype") or config.get("dtype") or "")
    except (OSError, ValueError, AttributeError):
        pass  # transformers itself will report a broken config.json
    return sum(p.stat().st_size for p in files), dtype


# ---------------------------------------------------------------- memory


def available_memory() -> int | None:
    """Bytes a new process can still get: MemAvailable, capped by a cgroup limit (containers)."""
    best: int | None = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    best = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit.isdigit() and used.isdigit():
            room = int(limit) - int(used)
            best = room if best is None else min(best, room)
    except OSError:
        pass
    return best


def gpu_present() -> bool:
    """An NVIDIA GPU is visible (without importing torch or llama.cpp to ask)."""
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())


def check_fits(name: str, needed: int) -> None:
    available = available_memory()
    if available is not None and needed > available:
        raise ModelError(
            f"{name} needs about {needed / GB:.1f} GB of memory but only "
            f"{max(available, 0) / GB:.1f} GB is free: use a smaller model or quantization "
            "(e.g. a Q4_K_M GGUF), close other programs, or offload it to a GPU"
        )


# ---------------------------------------------------------------- per backend

_HALF = ("bfloat16", "float16", "torch.bfloat16", "torch.float16")


def check_gguf_model(model: str, *, n_ctx: int = 4096, n_gpu_layers: int = 0) -> GGUFExtents:
    """llama.cpp: a complete GGUF whose weights and K/V cache fit the memory free now (the
    GPU's share against its memory, as `docchat models` estimates it: generate/fit.py)."""
    from docchat.generate.fit import Memory, too_big, vram_bytes
    from docchat.generate.models import resolve_model

    path = resolve_model(model, want_file=True)
    extents = read_extents(path)
    header = read_header(path)
    reason = too_big(
        extents.data_bytes,
        kv_bytes_per_token=header.kv_bytes_per_token,
        n_ctx=n_ctx,
        n_gpu_layers=n_gpu_layers,
        block_count=header.block_count,
        memory=Memory(available_memory(), vram_bytes() if gpu_present() else None),
    )
    if reason:
        raise ModelError(
            f"{path} {reason} free right now: use a smaller model or quantization (e.g. a "
            "Q4_K_M GGUF), a smaller generate.n_ctx, close other programs, or offload layers "
            "to a GPU (generate.n_gpu_layers)"
        )
    return extents


def check_transformers_model(model: str, *, device: str = "auto") -> str | None:
    """transformers: a model folder with weights, or a complete GGUF, that fits in memory.
    Hub names are left to transformers (they load from its cache): None."""
    from docchat.generate.models import resolve_model

    path = resolve_model(model, want_file=False)
    local = Path(path)
    if not local.exists():
        return None
    on_gpu = device in ("auto", "cuda") and gpu_present()
    if local.is_file():
        # transformers de-quantizes a GGUF: fp32 on the CPU, 16-bit on a GPU.
        needed = read_extents(path).parameters * (2 if on_gpu else 4)
    else:
        size, dtype = folder_weights(local)
        needed = size * 2 if dtype in _HALF and not on_gpu else size  # CPU runs in fp32
    if not on_gpu:
        check_fits(path, needed)
    return path
