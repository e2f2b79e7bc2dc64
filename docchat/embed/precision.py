"""Which numeric precision embeds a collection's chunks: chosen per machine, recorded per
collection (`embed_precision` in its metadata), and checked before any model loads.

"auto" picks, for the CPU at hand, the fastest path measured within 0.5 nDCG@10 of fp32 on
both SciFact and Cranfield (benchmarks/README.md, issue 11):
- "ov-bf16" where the CPU does bfloat16 arithmetic (AMX or AVX512-BF16) and no NVIDIA GPU
  is there for torch to use: the fp32 model run by OpenVINO in bfloat16, its requests spread
  over the CPU's streams. Its vectors are fp32's (cosine >= 0.9999; nDCG@10 within 0.1
  points on both sets) and an index run never imports torch: 2.1x the seed pipeline's
  indexing on a 2-core AMX Xeon, where torch bf16 made 1.1x (benchmarks/README.md).
- "bf16" (torch, bf16 weights) on such a CPU when openvino cannot be imported, or with a GPU.
- "fp32" elsewhere.

"ov-int8" — OpenVINO with int8 weights and activations, quantised statically with NNCF
(embed/openvino.py) — is within the bar on both sets but not faster than ov-bf16 on the AMX
Xeon measured, and its vectors are a family of their own: only an explicit setting uses it.
"int8" (ONNX Runtime, dynamic quantisation) lost 0.61 nDCG points on SciFact, outside the
bar: only an explicit `embed.precision = "int8"` uses it.

fp32, bf16 and ov-bf16 vectors are one family (a collection may be extended with either; queries
use the fp32 query encoder). int8 and ov-int8 vectors each make a family of their own
(queries are embedded by the same int8 model), and mixing families is refused like a model
change.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path
from typing import Literal, cast

Precision = Literal["fp32", "bf16", "int8", "ov-bf16", "ov-int8"]
PRECISIONS: tuple[Precision, ...] = ("fp32", "bf16", "int8", "ov-bf16", "ov-int8")
# /proc/cpuinfo flags of CPUs with native bfloat16 matrix arithmetic.
BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})
# ... and of those with int8 dot products (what makes a statically quantised model fast).
INT8_FLAGS = frozenset({"amx_int8", "avx512_vnni", "avx_vnni"})


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (Linux /proc/cpuinfo; empty elsewhere, which means fp32)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    found = re.search(r"^flags\s*:\s*(.+)$", text, re.MULTILINE)
    return frozenset(found.group(1).split()) if found else frozenset()


@functools.cache
def openvino_installed() -> bool:
    """Whether the openvino package is there (found, not imported: that costs ~0.3 s)."""
    return importlib.util.find_spec("openvino") is not None


def nvidia_gpu() -> bool:
    """Whether an NVIDIA driver is loaded (so `device = "auto"` puts torch on the GPU),
    told without importing torch."""
    return Path("/proc/driver/nvidia/version").exists()


def auto_precision(
    flags: frozenset[str],
    device: str = "auto",
    *,
    openvino: bool | None = None,
    gpu: bool | None = None,
) -> Precision:
    """The fastest precision within the quality bar for this CPU (fp32 off the CPU).
    `openvino` / `gpu` default to what this machine has."""
    if device not in ("auto", "cpu"):
        return "fp32"
    if not flags & BF16_FLAGS:
        return "fp32"
    on_gpu = device == "auto" and (nvidia_gpu() if gpu is None else gpu)
    has_openvino = openvino_installed() if openvino is None else openvino
    return "ov-bf16" if has_openvino and not on_gpu else "bf16"


def torch_precision(flags: frozenset[str] | None = None) -> Precision:
    """What stands in for "ov-int8" where OpenVINO cannot run: the fastest torch path."""
    return "bf16" if (cpu_flags() if flags is None else flags) & BF16_FLAGS else "fp32"


def family(precision: str) -> str:
    """Precisions whose vectors can share one collection have the same family."""
    return precision if precision in ("int8", "ov-int8") else "float"


def resolve_precision(
    setting: str,
    recorded: str | None = None,
    *,
    device: str = "auto",
    flags: frozenset[str] | None = None,
) -> Precision:
    """The precision an index run uses. `setting` is embed.precision; `recorded`, the one the
    collection was embedded with. An explicit setting wins (the store refuses it if its
    family differs from the recorded one); "auto" picks for this machine but keeps to the
    recorded family, so an int8 collection stays int8 without a setting."""
    if setting != "auto":
        return cast(Precision, setting)
    choice = auto_precision(cpu_flags() if flags is None else flags, device)
    if recorded in PRECISIONS and family(recorded) != family(choice):
        return recorded
    return choice
