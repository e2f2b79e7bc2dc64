"""What a GGUF file says about its model, read from the header alone (no weights loaded):
its metadata (`read_header`, for `docchat models`) and whether the file holds all the tensor
data its header promises (`read_extents`, checked before llama.cpp maps a model).

`gguf.GGUFReader` decodes every element of every array up front: a 128k-token vocabulary took
13 s on the 2-core dev machine, far too slow to list a dozen models. This reader walks the
key/value section with the `gguf` package's type codes, skips arrays by their byte length
(strings one length prefix at a time) and stops before the tensor data; the file is
memory-mapped, so only the pages of the header are read.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docchat.errors import ModelError

# Scalar value types: struct format (without byte order) and size in bytes.
_SCALARS: dict[int, str] = {}


def _scalars() -> dict[int, str]:
    if not _SCALARS:
        from gguf import GGUFValueType as T

        _SCALARS.update(
            {
                T.UINT8: "B",
                T.INT8: "b",
                T.UINT16: "H",
                T.INT16: "h",
                T.UINT32: "I",
                T.INT32: "i",
                T.FLOAT32: "f",
                T.BOOL: "?",
                T.UINT64: "Q",
                T.INT64: "q",
                T.FLOAT64: "d",
            }
        )
    return _SCALARS


_STRING, _ARRAY = 8, 9  # gguf.GGUFValueType.STRING / ARRAY; arrays are skipped, not kept


@dataclass(frozen=True)
class GGUFHeader:
    architecture: str | None
    name: str | None
    model_type: str | None  # general.type: "model", "mmproj", "adapter"...
    size_label: str | None  # general.size_label, e.g. "3B"
    quantization: str | None  # e.g. "Q4_K_M"
    context_length: int | None  # the context the model was trained for
    chat_template: bool
    block_count: int | None
    kv_bytes_per_token: int | None  # f16 K+V cache per token of context, when derivable


class _Cursor:
    def __init__(self, buf: mmap.mmap | bytes, order: str) -> None:
        self.buf = buf
        self.pos = 0
        self.order = order

    def unpack(self, fmt: str) -> Any:
        fmt = self.order + fmt
        value = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        n = self.unpack("Q")
        raw = self.buf[self.pos : self.pos + n]
        if len(raw) != n:
            raise struct.error("string runs past the end of the file")
        self.pos += n
        return bytes(raw).decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        self.pos += 8 + struct.unpack_from(self.order + "Q", self.buf, self.pos)[0]

    def value(self, vtype: int) -> Any:
        scalars = _scalars()
        if vtype in scalars:
            return self.unpack(scalars[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            etype, count = self.unpack("I"), self.unpack("Q")
            if etype in scalars:
                self.pos += count * struct.calcsize(scalars[etype])
            elif etype == _STRING:
                for _ in range(count):
                    self.skip_string()
            else:
                for _ in range(count):  # nested arrays: rare, walked element by element
                    self.value(etype)
            return None
        raise ValueError(f"unknown GGUF value type {vtype}")


def read_header(path: str | Path) -> GGUFHeader:
    """Read a GGUF file's metadata; ModelError when it is not a readable GGUF file."""
    path = Path(path)
    try:
        with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            return _parse(buf)
    except (OSError, ValueError, struct.error, UnicodeDecodeError) as e:
        raise ModelError(f"cannot read the GGUF header of {path}: {e}") from None


def _parse(buf: mmap.mmap) -> GGUFHeader:
    from gguf import GGUF_MAGIC

    if len(buf) < 24 or struct.unpack_from("<I", buf, 0)[0] != GGUF_MAGIC:
        raise ValueError("not a GGUF file")
    version = struct.unpack_from("<I", buf, 4)[0]
    # A big-endian file reads as a huge version number little-endian (as GGUFReader checks).
    order = "<" if version & 0xFFFF else ">"
    cur = _Cursor(buf, order)
    cur.pos = 8
    n_tensors, n_kv = cur.unpack("Q"), cur.unpack("Q")
    meta: dict[str, Any] = {}
    for _ in range(n_kv):
        key = cur.string()
        meta[key] = cur.value(cur.unpack("I"))
    arch = meta.get("general.architecture")
    quant = _file_type_name(meta.get("general.file_type"))
    if quant is None:
        quant = _dominant_tensor_type(cur, n_tensors)
    return GGUFHeader(
        architecture=arch,
        name=meta.get("general.name"),
        model_type=meta.get("general.type"),
        size_label=meta.get("general.size_label"),
        quantization=quant,
        context_length=_int(meta.get(f"{arch}.context_length")),
        chat_template=any(
            k == "tokenizer.chat_template" or k.startswith("tokenizer.chat_template.") for k in meta
        ),
        block_count=_int(meta.get(f"{arch}.block_count")),
        kv_bytes_per_token=_kv_bytes(meta, arch),
    )


def _int(v: Any) -> int | None:
    return int(v) if isinstance(v, int) and not isinstance(v, bool) else None


def _file_type_name(value: Any) -> str | None:
    """general.file_type (llama.cpp's LlamaFileType) as the usual tag: 15 -> "Q4_K_M"."""
    if not isinstance(value, int):
        return None
    from gguf import LlamaFileType

    try:
        name = LlamaFileType(value).name
    except ValueError:
        return f"type {value}"
    if name == "GUESSED":
        return None
    return name.removeprefix("MOSTLY_").removeprefix("ALL_")


def _dominant_tensor_type(cur: _Cursor, n_tensors: int) -> str | None:
    """Without general.file_type: the quantization holding the most weights."""
    from gguf import GGMLQuantizationType

    weights: Counter[int] = Counter()
    for _ in range(n_tensors):
        cur.skip_string()  # name
        n_dims = cur.unpack("I")
        count = 1
        for _ in range(n_dims):
            count *= cur.unpack("Q")
        ttype = cur.unpack("I")
        cur.unpack("Q")  # offset
        weights[ttype] += count
    if not weights:
        return None
    ttype = weights.most_common(1)[0][0]
    try:
        return GGMLQuantizationType(ttype).name
    except ValueError:
        return f"type {ttype}"


def _kv_bytes(meta: dict[str, Any], arch: str | None) -> int | None:
    """K and V, f16, per token of context: 2 * layers * (embedding * kv_heads / heads) * 2."""
    layers = _int(meta.get(f"{arch}.block_count"))
    width = _int(meta.get(f"{arch}.embedding_length"))
    heads = _int(meta.get(f"{arch}.attention.head_count"))
    kv_heads = _int(meta.get(f"{arch}.attention.head_count_kv")) or heads
    if not (layers and width and heads and kv_heads):
        return None  # per-layer head counts (arrays) and other exotic layouts: not estimated
    return 2 * layers * (width * kv_heads // heads) * 2


# ---------------------------------------------------------------- is the file whole?

_REDOWNLOAD = "download it again, or point --model (generate.model) at another model"


@dataclass(frozen=True)
class GGUFExtents:
    """How much tensor data a GGUF file's header promises, against the file's size."""

    path: str
    version: int
    tensors: int
    parameters: int  # elements of all tensors
    data_bytes: int  # tensor data the file must hold past the header
    file_bytes: int


def read_extents(path: str | os.PathLike[str]) -> GGUFExtents:
    """Check that a file is a whole GGUF model before llama.cpp maps it: the magic, a version
    this reader knows, a header that parses to its end, and tensor data that is all there (a
    download cut short). Otherwise a one-line ModelError naming the file and what to do."""
    name = str(path)
    try:
        size = os.path.getsize(name)
        with open(name, "rb") as f:
            if f.read(4) != b"GGUF":
                raise ModelError(
                    f"{name} is not a GGUF model file (it does not start with 'GGUF'; "
                    f"{size:,} bytes): {_REDOWNLOAD}"
                )
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                return _extents(buf, name, size)
    except OSError as e:
        raise ModelError(f"cannot read model file {name}: {e.strerror or e}") from None


def _extents(buf: mmap.mmap, name: str, size: int) -> GGUFExtents:
    from gguf import GGML_QUANT_SIZES, GGUF_DEFAULT_ALIGNMENT, GGMLQuantizationType

    try:
        version = struct.unpack_from("<I", buf, 4)[0]
        order = "<" if version & 0xFFFF else ">"
        version = struct.unpack_from(order + "I", buf, 4)[0]
        if version not in (2, 3):
            raise ModelError(
                f"{name} is GGUF version {version}, which this docchat cannot read: "
                "pip install -U llama-cpp-python gguf, or use a file converted with a current "
                "llama.cpp"
            )
        cur = _Cursor(buf, order)
        cur.pos = 8
        n_tensors, n_kv = cur.unpack("Q"), cur.unpack("Q")
        alignment = GGUF_DEFAULT_ALIGNMENT
        for _ in range(n_kv):
            key = cur.string()
            value = cur.value(cur.unpack("I"))
            if key == "general.alignment" and _int(value):
                alignment = int(value)
        parameters = end = 0
        for _ in range(n_tensors):
            cur.skip_string()
            elements = 1
            for _ in range(cur.unpack("I")):
                elements *= cur.unpack("Q")
            ttype, offset = cur.unpack("I"), cur.unpack("Q")
            parameters += elements
            try:
                block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(ttype)]
            except (ValueError, KeyError):
                continue  # a type newer than this gguf package: its size is unknown
            end = max(end, offset + elements * type_size // block)
        if cur.pos > len(buf):
            raise struct.error("the tensor table runs past the end of the file")
    except struct.error:
        raise ModelError(f"{name} is cut short inside its GGUF header: {_REDOWNLOAD}") from None
    except (ValueError, OverflowError, MemoryError) as e:
        raise ModelError(f"{name} has a damaged GGUF header ({e}): {_REDOWNLOAD}") from None
    start = cur.pos + (-cur.pos % alignment)
    if start + end > size:
        raise ModelError(
            f"{name} is cut short: its tensors need {start + end:,} bytes but the file has "
            f"{size:,} (an interrupted download or copy?): {_REDOWNLOAD}"
        )
    return GGUFExtents(name, version, n_tensors, parameters, end, size)
