"""Which numeric precision embeds a collection's chunks: chosen per machine, recorded per
collection (`embed_precision` in its metadata), and checked before any model loads.

"auto" picks bf16 weights where the CPU does bfloat16 arithmetic (AMX or AVX512-BF16:
1.73x the fp32 speed on a Sapphire Rapids core, nDCG@10 within 0.02 points, cosine to the
fp32 vectors >= 0.996), fp32 elsewhere. int8 (ONNX Runtime, dynamic quantisation) is faster
still (3.08x) but lost 0.61 nDCG points on SciFact, outside the 0.5 bar: only an explicit
`embed.precision = "int8"` uses it. benchmarks/README.md has the figures.

fp32 and bf16 vectors are interchangeable (one family: a collection may be extended with
either, queries use either); int8 vectors are not, and mixing them is refused like a model
change.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Literal, cast

Precision = Literal["fp32", "bf16", "int8"]
PRECISIONS: tuple[Precision, ...] = ("fp32", "bf16", "int8")
# /proc/cpuinfo flags of CPUs with native bfloat16 matrix arithmetic.
BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


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


def family(precision: str) -> str:
    """Precisions whose vectors can share one collection have the same family."""
    return "int8" if precision == "int8" else "float"


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
