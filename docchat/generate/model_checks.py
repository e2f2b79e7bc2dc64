"""Cheap checks of a chat model before it is loaded: a GGUF cut short, random bytes named
`.gguf`, a folder without weights or a model bigger than the free memory each become a
one-line ModelError naming the file and what to do — never a crash inside native code.

The GGUF header is walked here with the `gguf` package's constants rather than read with its
GGUFReader, which builds a numpy view per vocabulary string: seconds on a 150k-token model,
where this walk takes a fraction of that.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from docchat.errors import ModelError

GB = 1024**3
_REDOWNLOAD = "download it again, or point --model (generate.model) at another model"


@dataclass(frozen=True)
class GGUFInfo:
    path: str
    version: int
    tensors: int
    parameters: int  # elements of all tensors
    data_bytes: int  # tensor data the file must hold
    file_bytes: int


class _Truncated(Exception):
    pass


class _Walker:
    """Reads little-endian GGUF fields from a memory map, never past its end."""

    def __init__(self, data: mmap.mmap | bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> int:
        """An integer field; `skip` passes over the others."""
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise _Truncated
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return int(value)

    def skip(self, size: int) -> None:
        if size < 0 or self.pos + size > len(self.data):
            raise _Truncated
        self.pos += size

    def string(self) -> bytes:
        size = self.take("<Q")
        start = self.pos
        self.skip(size)
        return bytes(self.data[start : self.pos])

    def value(self, kind: int) -> int | None:
        """Pass over one metadata value; integers are returned (general.alignment is one)."""
        if kind in _FLOATS:
            self.skip(struct.calcsize(_FLOATS[kind]))
            return None
        if kind in _INTS:
            return self.take(_INTS[kind])
        if kind == _STRING:
            self.skip(self.take("<Q"))
            return None
        if kind == _ARRAY:
            item, count = self.take("<I"), self.take("<Q")
            fmt = _INTS.get(item) or _FLOATS.get(item)
            if fmt is not None:
                self.skip(count * struct.calcsize(fmt))
            elif item == _STRING:  # a vocabulary: ~100k strings, so the tightest loop here
                data, pos, end = self.data, self.pos, len(self.data)
                for _ in range(count):
                    if pos + 8 > end:
                        raise _Truncated
                    pos += 8 + struct.unpack_from("<Q", data, pos)[0]
                if pos > end:
                    raise _Truncated
                self.pos = pos
            else:
                for _ in range(count):
                    self.value(item)
            return None
        raise ValueError(f"unknown metadata type {kind}")


# GGUF metadata value types (gguf.constants.GGUFValueType) -> struct formats.
_INTS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 7: "<B", 10: "<Q", 11: "<q"}
_FLOATS = {6: "<f", 12: "<d"}
_STRING, _ARRAY = 8, 9


def read_gguf(path: str | os.PathLike[str]) -> GGUFInfo:
    """Parse a GGUF file's header and check that its tensor data is all there."""
    from gguf.constants import GGML_QUANT_SIZES, GGUF_DEFAULT_ALIGNMENT, GGMLQuantizationType

    name = str(path)
    try:
        size = os.path.getsize(name)
        with open(name, "rb") as f:
            head = f.read(8)
            if head[:4] != b"GGUF":
                raise ModelError(
                    f"{name} is not a GGUF model file (it does not start with 'GGUF'; "
                    f"{size:,} bytes): {_REDOWNLOAD}"
                )
            data: mmap.mmap | bytes = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as e:
        raise ModelError(f"cannot read model file {name}: {e.strerror or e}") from None
    walker = _Walker(data)
    try:
        walker.skip(4)
        version = walker.take("<I")
        if version not in (2, 3):
            raise ModelError(
                f"{name} is GGUF version {version}, which this docchat cannot read: "
                "pip install -U llama-cpp-python gguf, or use a file converted with a "
                "current llama.cpp"
            )
        n_tensors, n_kv = walker.take("<Q"), walker.take("<Q")
        alignment = GGUF_DEFAULT_ALIGNMENT
        for _ in range(n_kv):
            key = walker.string()
            value = walker.value(walker.take("<I"))
            if key == b"general.alignment" and isinstance(value, int) and value > 0:
                alignment = value
        parameters = 0
        end = 0
        for _ in range(n_tensors):
            walker.string()
            dims = [walker.take("<Q") for _ in range(walker.take("<I"))]
            kind, offset = walker.take("<I"), walker.take("<Q")
            elements = 1
            for d in dims:
                elements *= d
            parameters += elements
            try:
                block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(kind)]
            except (ValueError, KeyError):
                continue  # a type newer than this gguf package: its size is unknown
            end = max(end, offset + elements * type_size // block)
        start = walker.pos + (-walker.pos % alignment)
    except _Truncated:
        raise ModelError(f"{name} is cut short inside its GGUF header: {_REDOWNLOAD}") from None
    except (ValueError, OverflowError, MemoryError) as e:
        raise ModelError(f"{name} has a damaged GGUF header ({e}): {_REDOWNLOAD}") from None
    finally:
        if isinstance(data, mmap.mmap):
            data.close()
    if start + end > size:
        raise ModelError(
            f"{name} is cut short: its tensors need {start + end:,} bytes but the file has "
            f"{size:,} (an interrupted download or copy?): {_REDOWNLOAD}"
        )
    return GGUFInfo(name, version, n_tensors, parameters, end, size)


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


def check_gguf_model(model: str, *, n_gpu_layers: int = 0) -> GGUFInfo:
    """llama.cpp: a complete GGUF that fits in memory (unless it goes to a GPU)."""
    from docchat.generate.models import resolve_model

    path = resolve_model(model, want_file=True)
    info = read_gguf(path)
    if not (n_gpu_layers != 0 and gpu_present()):
        check_fits(path, info.data_bytes)
    return info


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
        needed = read_gguf(path).parameters * (2 if on_gpu else 4)
    else:
        size, dtype = folder_weights(local)
        needed = size * 2 if dtype in _HALF and not on_gpu else size  # CPU runs in fp32
    if not on_gpu:
        check_fits(path, needed)
    return path
