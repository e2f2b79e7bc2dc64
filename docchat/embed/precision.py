"""Which numeric precision embeds a collection's chunks: chosen per machine, recorded per
collection (`embed_precision` in its metadata), and checked before any model loads.

"auto" picks, for the CPU at hand, the fastest path measured within 0.5 nDCG@10 of fp32 on
both SciFact and Cranfield (benchmarks/README.md, issue 11): bf16 weights (torch) where the
CPU does bfloat16 arithmetic (AMX or AVX512-BF16: 1.7-2.6x fp32, nDCG@10 within 0.02
points, cosine to fp32 >= 0.996), fp32 elsewhere.

"ov-int8" — OpenVINO with int8 weights and activations, quantised statically with NNCF
(embed/openvino.py) — is the fastest path on CPUs with int8 dot products (AMX-INT8,
AVX512-VNNI, AVX-VNNI); it is used when asked for until its nDCG is measured on both sets.
"int8" (ONNX Runtime, dynamic quantisation) lost 0.61 nDCG points on SciFact, outside the
bar: only an explicit `embed.precision = "int8"` uses it.

fp32 and bf16 vectors are one family (a collection may be extended with either; queries
use the fp32 query encoder). int8 and ov-int8 vectors each make a family of their own
(queries are embedded by the same int8 model), and mixing families is refused like a model
change.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Literal, cast

Precision = Literal["fp32", "bf16", "int8", "ov-int8"]
PRECISIONS: tuple[Precision, ...] = ("fp32", "bf16", "int8", "ov-int8")
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


def auto_precision(flags: frozenset[str], device: str = "auto") -> Precision:
    """The fastest precision within the quality bar for this CPU (fp32 off the CPU)."""
    if device not in ("auto", "cpu"):
        return "fp32"
    return "bf16" if flags & BF16_FLAGS else "fp32"


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
