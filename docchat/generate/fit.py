"""Will a model fit this machine? Its file size plus the KV cache, against RAM and VRAM.

An estimate, meant to flag the hopeless cases before a long load fails: llama.cpp maps the
weights (about the file's size) and allocates the K/V cache for the context window. With
layers offloaded to a GPU, that share must fit the GPU's memory and the rest the RAM.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Memory:
    ram_bytes: int | None
    vram_bytes: int | None  # None: no NVIDIA GPU seen


def ram_bytes() -> int | None:
    """Physical memory of the machine (not what is free right now, which moves)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on this platform
        return None


@functools.cache
def vram_bytes() -> int | None:
    """Total memory of the NVIDIA GPUs (llama.cpp splits layers across them), via nvidia-smi
    so that no CUDA library is loaded just to list models; None without one."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        mib = [int(line.strip()) for line in out.splitlines() if line.strip().isdigit()]
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return sum(mib) * 1024 * 1024 if mib else None


def machine_memory() -> Memory:
    return Memory(ram_bytes(), vram_bytes())


def too_big(
    size_bytes: int,
    *,
    kv_bytes_per_token: int | None,
    n_ctx: int,
    n_gpu_layers: int,
    block_count: int | None,
    memory: Memory,
) -> str | None:
    """A short reason ("needs 9.1 GB of VRAM, the GPU has 8.0 GB") or None when it fits."""
    need = size_bytes + (kv_bytes_per_token or 0) * n_ctx
    on_gpu = 0.0
    if memory.vram_bytes and n_gpu_layers != 0:
        if n_gpu_layers < 0 or not block_count or n_gpu_layers >= block_count:
            on_gpu = 1.0
        else:
            on_gpu = n_gpu_layers / block_count
    vram, ram = need * on_gpu, need * (1 - on_gpu)
    if on_gpu and memory.vram_bytes and vram > memory.vram_bytes:
        return f"needs {gigabytes(vram)} of VRAM, the GPU has {gigabytes(memory.vram_bytes)}"
    if memory.ram_bytes and ram > memory.ram_bytes:
        return f"needs {gigabytes(ram)} of RAM, the machine has {gigabytes(memory.ram_bytes)}"
    return None


def gigabytes(n: float) -> str:
    """Sizes as people read them off a download page: 1 GB = 10**9 bytes."""
    if n >= 1e9:
        return f"{n / 1e9:.1f} GB"
    if n >= 1e6:
        return f"{n / 1e6:.0f} MB"
    return f"{max(1, round(n / 1e3))} KB"
