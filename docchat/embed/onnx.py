"""ONNX Runtime backend for sentence-transformers models with mean pooling: the light query
encoder of `docchat search` and `ask`, and the int8 indexing path.

The ONNX file is produced locally from the (bundled) model — exported once with torch, then,
for int8, dynamically quantised — and cached in the user cache dir under a key of the model
files, the CPU's features and the library versions (a new onnxruntime or another CPU gets a
fresh build), written atomically, so nothing is ever downloaded. After that, embedding needs
only onnxruntime and the fast tokenizer (`tokenizers`): neither torch nor transformers is
imported, and a one-off search starts in about a second instead of several.

Backends: "onnx" (fp32, the vectors of sentence-transformers up to float rounding) and
"onnx-int8" (faster; its nDCG cost is measured in benchmarks/README.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from docchat.embed.base import Embedder
from docchat.embed.local_model import LocalModel, mean_pooled, model_inputs, token_counts
from docchat.embed.models import resolve_embedding_model
from docchat.embed.precision import cpu_flags
from docchat.errors import ModelError, missing

OPSET = 17
FORMAT = 2  # bump when the exported graph or the quantisation recipe changes
# The CPU features that change which kernels ONNX Runtime picks (and int8 rounding with them).
KEY_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "amx_bf16")
KEY_LIBRARIES = ("onnxruntime", "onnx", "torch", "transformers")
# The graph's inputs: BERT-style models take all three (`transformer` below).
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def cache_root() -> Path:
    from docchat.locations import model_cache_dir

    return model_cache_dir() / "onnx"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "-"


def cache_key(folder: Path, flags: frozenset[str] | None = None) -> str:
    """Changes when the model's files (size + mtime of each), the CPU's relevant features or
    a library that makes or runs the graph do."""
    return build_key(folder, f"format {FORMAT} opset {OPSET}", KEY_LIBRARIES, flags)


def build_key(
    folder: Path,
    recipe: str,
    libraries: Sequence[str],
    flags: frozenset[str] | None = None,
    version: Callable[[str], str] | None = None,
) -> str:
    """The key of a model built locally from `folder` (this export, OpenVINO's IR): the
    `recipe`, the model's files (size + mtime of each), the CPU features in KEY_FLAGS and
    the versions of `libraries`."""
    h = hashlib.sha256(f"{recipe}|".encode())
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.relative_to(folder)}:{st.st_size}:{st.st_mtime_ns}|".encode())
    have = cpu_flags() if flags is None else flags
    h.update(" ".join(f for f in KEY_FLAGS if f in have).encode() + b"|")
    of = version or _version
    h.update(" ".join(f"{d}={of(d)}" for d in libraries).encode())
    return h.hexdigest()[:16]


def note(text: str) -> None:
    """Progress of a build: stderr only (stdout carries results, e.g. `search --json`)."""
    print(f"docchat: {text}", file=sys.stderr, flush=True)


Loaded = TypeVar("Loaded")


def load_built(
    what: str,
    build: Callable[[], Path],
    load: Callable[[Path], Loaded],
    remove: Callable[[Path], None],
) -> Loaded:
    """`load` the locally built model at `build()`; a cached copy that no longer loads (a
    disk error, a stray edit, a build cut short by a crash) is said, removed with `remove`
    and built again, once — rather than failing, or falling back to a slower path, on
    every run from then on. A fresh build that does not load either (this machine cannot
    run it) is marked so, and later runs fail at once instead of building it again (the
    mark goes with the cache key: other libraries or another CPU try afresh)."""
    path = build()
    mark = path.with_name(f"{path.name}.does-not-load")
    if mark.exists():
        raise ModelError(mark.read_text(encoding="utf-8", errors="replace").strip())
    try:
        return load(path)
    except Exception as e:
        note(f"the cached {what} in {path.parent} does not load ({_first(e)}); building it again")
    remove(path)
    path = build()
    try:
        return load(path)
    except Exception as e:
        with contextlib.suppress(OSError):
            mark.write_text(f"the {what} built here does not load: {_first(e)}", "utf-8")
        raise


def _first(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:120] if text else type(e).__name__


def export(folder: Path, target: Path) -> None:
    """Export the transformer to ONNX (last_hidden_state out), atomically."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's warnings are about other inputs
        _export(transformer(folder), target)


def transformer(folder: Path) -> Any:
    """The folder's transformer in eval mode, taking the three inputs positionally and giving
    last_hidden_state: what the tracers (this ONNX export, OpenVINO's converter) follow."""
    from docchat.embed.sentence_transformers import quiet_hf_logging

    quiet_hf_logging()
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(folder)).eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    return Encoder()


def _export(encoder: Any, target: Path) -> None:
    import torch

    names = list(INPUTS)
    sample = tuple(torch.ones(1, 8, dtype=torch.long) for _ in names)
    axes = {n: {0: "batch", 1: "seq"} for n in [*names, "last_hidden_state"]}
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with torch.no_grad():
            torch.onnx.export(
                encoder,
                sample,
                str(tmp),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,  # the TorchScript exporter needs no onnxscript
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def quantize(source: Path, target: Path) -> None:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    logging.disable(logging.WARNING)  # its advice to pre-process goes to the root logger
    # Per-channel weights on the MatMuls only: per-tensor scales, or quantised embedding
    # lookups, cost far more accuracy (cosine to fp32 about 0.93 vs 0.994 on SciFact texts).
    try:
        quantize_dynamic(
            str(source),
            str(tmp),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
        )
        os.replace(tmp, target)
    finally:
        logging.disable(logging.NOTSET)
        tmp.unlink(missing_ok=True)


def prepared_model(folder: Path, int8: bool, name: str = "") -> Path:
    """The cached ONNX file for this model folder, made on first use (a line on stderr
    says so: it imports torch once, tens of seconds on a small machine)."""
    label = re.sub(r"[^A-Za-z0-9._-]+", "_", name or folder.name).strip("_")
    out = cache_root() / f"{label}-{cache_key(folder)}"
    fp32 = out / "model.onnx"
    target = out / "model_int8_pc.onnx" if int8 else fp32
    if target.exists():
        return target
    out.mkdir(parents=True, exist_ok=True)
    what = f"{'int8 ' if int8 else ''}ONNX encoder for {name or folder.name}"
    note(f"building the {what} (once; cached in {out})...")
    started = time.perf_counter()
    if not fp32.exists():
        export(folder, fp32)
    if int8:
        quantize(fp32, target)
    note(f"built the {what} in {time.perf_counter() - started:.0f} s")
    return target


class OnnxEmbedder(Embedder):
    def __init__(self, model: str, int8: bool = True, threads: int = 0) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise missing("onnxruntime", "the onnx embedding backend") from None
        folder = Path(resolve_embedding_model(model))
        if not folder.is_dir():
            raise ModelError(
                f"the onnx backend needs a local model folder or a bundled model, not '{model}'"
            )
        local = LocalModel.read(folder)
        if local is None:
            raise ModelError(
                f"the onnx backend supports plain mean-pooling sentence-transformers models "
                f"with a tokenizer.json only ('{model}')"
            )
        self.tokenizer = local.tokenizer()
        self.max_tokens = local.max_length - local.special_tokens(self.tokenizer)
        self._encoder = local.padded_tokenizer()
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        # Idle worker threads would otherwise spin after each run, taking the CPU the keyword
        # search needs next on a 2-core machine.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = load_built(
            "ONNX encoder",
            lambda: prepared_model(folder, int8, model),
            lambda path: ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            ),
            lambda path: path.unlink(missing_ok=True),
        )
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.name = model
        self.precision = "int8" if int8 else "fp32"
        self.dimension = local.dimension

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        feeds, mask = model_inputs(self._encoder, texts, self.inputs)
        return mean_pooled(self.session.run(["last_hidden_state"], feeds)[0], mask)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return token_counts(self.tokenizer, texts)
