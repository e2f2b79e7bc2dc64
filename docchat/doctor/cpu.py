"""Doctor checks of the CPU: its model and the features that decide llama.cpp's and torch's
speed (AVX2, AVX-512, VNNI, BF16, AMX), and which of them the installed llama.cpp build really
uses — asked in a short-lived model process, so a library built for another CPU fails a row
instead of the doctor."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docchat.doctor.check import Check

if TYPE_CHECKING:
    from docchat.config import Settings

# The CPU features that decide llama.cpp's and torch's speed, as /proc/cpuinfo flags.
CPU_FEATURES = {
    "AVX2": ("avx2",),
    "AVX-512": ("avx512f",),
    "VNNI": ("avx512_vnni", "avx_vnni"),
    "BF16": ("avx512_bf16",),
    "AMX": ("amx_int8", "amx_bf16", "amx_tile"),
}
# llama.cpp's system-info keys for the same features.
LLAMA_FEATURES = {
    "AVX2": ("AVX2",),
    "AVX-512": ("AVX512",),
    "VNNI": ("AVX512_VNNI", "AVX_VNNI"),
    "BF16": ("AVX512_BF16",),
    "AMX": ("AMX_INT8",),
}


def cpu_info() -> tuple[str, set[str]]:
    """The CPU's model name and its feature flags (Linux; elsewhere the name only)."""
    name, flags = platform.processor() or platform.machine(), set[str]()
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return name, flags
    model = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    found = re.search(r"^flags\s*:\s*(.+)$", text, re.MULTILINE)
    return (model.group(1).strip() if model else name), set(found.group(1).split() if found else ())


def cpu_features() -> dict[str, bool] | None:
    """Which of CPU_FEATURES this CPU has (None when the system does not say)."""
    _, flags = cpu_info()
    if not flags:
        return None
    return {feature: any(f in flags for f in names) for feature, names in CPU_FEATURES.items()}


def _listed(features: dict[str, bool], present: bool = True) -> str:
    return " ".join(f for f, has in features.items() if has == present)


def cpu_check() -> Check:
    name, _ = cpu_info()
    features = cpu_features()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    data = {"model": name, "cpus": cpus, "features": features}
    if features is None:
        return Check("cpu", "CPU", "pass", f"{name}, {cpus} CPUs (features unknown)", data=data)
    lacking = _listed(features, present=False)
    summary = f"{name}, {cpus} CPUs · {_listed(features) or 'none of AVX2/AVX-512'}"
    summary += f" (no {lacking})" if lacking else ""
    if not features["AVX2"]:
        return Check(
            "cpu",
            "CPU",
            "warn",
            summary,
            "without AVX2, llama.cpp and torch run several times slower: expect slow answers",
            data,
        )
    return Check("cpu", "CPU", "pass", summary, data=data)


def llama_features(system_info: str) -> dict[str, bool]:
    """The features a llama.cpp build reports using (`llama_print_system_info`)."""
    on = set(re.findall(r"([A-Z0-9_]+) = 1", system_info))
    return {feature: any(k in on for k in keys) for feature, keys in LLAMA_FEATURES.items()}


def llama_cpp_check(settings: Settings, cpu: dict[str, bool] | None) -> Check:
    from docchat.errors import DocchatError
    from docchat.generate.child_process import probe_system_info

    needed = settings.generate.backend == "llama-cpp"
    rebuild = (
        "rebuild llama-cpp-python on this machine: `make setup` in a checkout (see the "
        "Makefile's build recipe), never a wheel built on another CPU"
    )
    try:
        info = probe_system_info()  # asked in a child: a library that crashes cannot take us
    except DocchatError as e:
        return Check("llama_cpp", "llama.cpp build", "fail", str(e), rebuild)
    version = info.get("llama_cpp_version")
    if not version:
        status: Any = "fail" if needed else "skip"
        return Check(
            "llama_cpp",
            "llama.cpp build",
            status,
            "llama-cpp-python is not installed",
            "pip install llama-cpp-python (the default chat backend needs it)" if needed else "",
        )
    raw = str(info.get("llama_cpp_system_info") or "")
    uses = llama_features(raw)
    data = {
        "version": version,
        "uses": uses,
        "gpu_offload": info.get("llama_cpp_gpu_offload"),
        "system_info": raw.strip(),
    }
    summary = f"{version} uses {_listed(uses) or 'no AVX2/AVX-512 kernels'}"
    if cpu is not None:
        beyond = [f for f, on in uses.items() if on and not cpu.get(f)]
        if beyond:
            return Check(
                "llama_cpp",
                "llama.cpp build",
                "fail",
                f"{summary}, but this CPU lacks {' '.join(beyond)} (it will crash)",
                rebuild,
                data,
            )
        unused = [f for f, on in cpu.items() if on and not uses.get(f)]
        if unused:
            summary += f" (the CPU also has {' '.join(unused)})"
    return Check("llama_cpp", "llama.cpp build", "pass", summary, data=data)
