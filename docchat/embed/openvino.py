"""OpenVINO backend for mean-pooling sentence-transformers models: the fastest CPU path for
indexing on Intel CPUs (embed.precision "ov-int8", and "bf16" / "fp32" where openvino is
installed; docchat/embed/precision.py decides).

The model is made locally, once, from the bundled torch model (converted to OpenVINO IR by
OpenVINO's own converter, which needs torch then and only then), and for int8 quantised
statically with NNCF, calibrated on the texts of
docchat's bundled sample corpus (real prose, shipped in the package: nothing is downloaded,
and no evaluation set is used). It is cached in the user cache dir under a key of the model
files, the CPU's features and the library versions, built in a temporary folder and renamed
into place, with a line on stderr before and after.

At run time embedding needs only openvino and the fast tokenizer (`tokenizers`): no torch.
On CPUs with AMX or AVX512-BF16 the CPU plugin computes in bfloat16 by default; "fp32" asks
for f32 arithmetic explicitly.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from docchat.embed import onnx
from docchat.embed.base import Embedder
from docchat.embed.local_model import LocalModel, mean_pooled, model_inputs, token_counts
from docchat.embed.models import resolve_embedding_model
from docchat.errors import ModelError, missing

FORMAT = 2  # bump when the conversion or the quantisation recipe changes
KEY_LIBRARIES = ("openvino", "nncf", "torch", "transformers")  # (what builds and runs it)
SAMPLE = Path(__file__).resolve().parent.parent / "sample"
# Arithmetic asked of the CPU plugin per path (the int8 graph runs its other ops in bf16
# where the CPU has it: the plugin's default).
# The fewest texts worth a stream of their own (smaller batches run as one request), and so
# the most streams a default batch of 32 can keep busy.
MIN_PART = 8
MAX_STREAMS = 4
HINTS = {"fp32": "f32", "bf16": "bf16", "ov-bf16": "bf16", "ov-int8": "bf16"}


def without_telemetry() -> None:
    """Keep OpenVINO and NNCF from reporting usage. Both send events to Intel's analytics
    (and write a client id under ~/intel) through the openvino_telemetry package when it can
    be imported — `import openvino` alone sends one — and both fall back to a stub when it
    cannot. docchat is offline and private by default, so that import is made to fail (for
    this process only; the user's own opt-in elsewhere is untouched)."""
    import sys

    sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type]


def import_openvino() -> Any:
    """The openvino module, telemetry off; MissingDependency-style error if not installed."""
    without_telemetry()
    try:
        import openvino
    except ImportError:
        raise missing("openvino", "the OpenVINO embedding path") from None
    return openvino


def version(distribution: str) -> str:
    return onnx._version(distribution)


def cache_root() -> Path:
    from docchat.locations import model_cache_dir

    return model_cache_dir() / "openvino"


def cache_key(folder: Path, flags: frozenset[str] | None = None) -> str:
    """Changes when the model's files (size + mtime), the CPU's relevant features or a library
    that makes or runs the model do (the same key as the ONNX export's, other libraries)."""
    return onnx.build_key(folder, f"openvino format {FORMAT}", KEY_LIBRARIES, flags, version)


def calibration_texts(limit: int = 96) -> list[str]:
    """Passages of the bundled sample corpus, of mixed lengths (paragraphs, and runs of
    paragraphs up to about a chunk), to calibrate the int8 model's activation ranges."""
    paragraphs: list[str] = []
    for path in sorted(SAMPLE.rglob("*")):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            text = re.sub(r"<[^>]+>", " ", text) if path.suffix == ".html" else text
            paragraphs += [p.strip() for p in re.split(r"\n\s*\n", text) if len(p.strip()) > 40]
    texts = list(paragraphs)
    for width in (2, 3, 6):  # longer passages: the chunker's are up to the model's limit
        texts += ["\n\n".join(paragraphs[i : i + width]) for i in range(0, len(paragraphs), width)]
    return texts[:limit]


INPUTS = onnx.INPUTS


def _batches(model: LocalModel, texts: list[str], size: int = 8) -> Iterator[dict[str, Any]]:
    encoder = model.padded_tokenizer()
    for i in range(0, len(texts), size):
        yield model_inputs(encoder, texts[i : i + size], INPUTS)[0]


def build(folder: Path, target: Path, int8: bool, name: str) -> None:
    """Convert (and for int8 quantise) into `target` (a folder with model.xml/.bin),
    atomically: made in a temporary folder, renamed into place."""
    ov = import_openvino()
    model = converted(folder)
    if int8:
        try:  # (its telemetry is off too: import_openvino above)
            import nncf
        except ImportError:
            raise missing("nncf", "the int8 OpenVINO model") from None
        import logging

        local = LocalModel.read(folder)
        if local is None:
            raise ModelError(f"cannot calibrate '{name}': not a mean-pooling model")
        texts = calibration_texts()
        logging.getLogger("nncf").setLevel(logging.ERROR)  # its progress bars and advice
        model = nncf.quantize(
            model,
            nncf.Dataset(list(_batches(local, texts))),
            model_type=nncf.ModelType.TRANSFORMER,
            subset_size=len(texts),
        )
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        ov.save_model(model, str(tmp / "model.xml"), compress_to_fp16=False)
        try:
            os.replace(tmp, target)
        except OSError:  # another process finished first: its copy is as good
            if not (target / "model.xml").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def converted(folder: Path) -> Any:
    """The folder's transformer converted from torch by OpenVINO's own frontend. Its graph is
    leaner than the one converted from our ONNX export (attention is one fused op, without
    the export's Select/IsNaN mask handling): ~1.2x the texts/s here, same vectors (cosine
    0.99998 on SciFact abstracts; benchmarks/README.md, issue 11)."""
    import warnings

    import torch

    ov = import_openvino()
    sample = {name: torch.ones(2, 16, dtype=torch.long) for name in INPUTS}
    shapes = [(name, [-1, -1], ov.Type.i64) for name in INPUTS]  # any batch, any length
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's warnings are about other inputs
        return ov.convert_model(onnx.transformer(folder), example_input=sample, input=shapes)


def prepared_ir(folder: Path, int8: bool, name: str = "") -> Path:
    """The cached OpenVINO model (model.xml) for this model folder, made on first use."""
    label = re.sub(r"[^A-Za-z0-9._-]+", "_", name or folder.name).strip("_")
    target = cache_root() / f"{label}-{cache_key(folder)}" / ("int8" if int8 else "fp32")
    if (target / "model.xml").is_file() and (target / "model.bin").is_file():
        return target / "model.xml"
    shutil.rmtree(target, ignore_errors=True)  # a copy left incomplete (its files removed)
    target.parent.mkdir(parents=True, exist_ok=True)
    what = f"{'int8 ' if int8 else ''}OpenVINO model of {name or folder.name}"
    onnx.note(f"building the {what} (once; cached in {target.parent})...")
    started = time.perf_counter()
    build(folder, target, int8, name or folder.name)
    onnx.note(f"built the {what} in {time.perf_counter() - started:.0f} s")
    return target / "model.xml"


class OpenVinoEmbedder(Embedder):
    """`precision`: "fp32" (f32 arithmetic), "bf16" / "ov-bf16" (the fp32 model in bfloat16
    arithmetic where the CPU has it), "ov-int8" (the statically quantised model)."""

    def __init__(self, model: str, precision: str = "bf16") -> None:
        ov = import_openvino()
        folder = Path(resolve_embedding_model(model))
        local = LocalModel.read(folder) if folder.is_dir() else None
        if local is None:
            raise ModelError(
                f"the OpenVINO path supports local mean-pooling sentence-transformers models "
                f"with a tokenizer.json only ('{model}')"
            )
        self.tokenizer = local.tokenizer()
        self.max_tokens = local.max_length - local.special_tokens(self.tokenizer)
        self._encoder = local.padded_tokenizer()
        int8 = precision == "ov-int8"
        # THROUGHPUT: the plugin makes one stream per few cores, and embed_batch splits a
        # batch over them; on 2 cores that indexed ~20 % faster than one stream using both
        # (LATENCY), same vectors (benchmarks/README.md, issue 11). At most MAX_STREAMS, so
        # that a batch (32 texts by default) gives every stream MIN_PART texts and the
        # streams of a many-core CPU each get several threads rather than some sitting idle.
        config = {
            "PERFORMANCE_HINT": "THROUGHPUT",
            "PERFORMANCE_HINT_NUM_REQUESTS": MAX_STREAMS,
            "INFERENCE_PRECISION_HINT": HINTS.get(precision, "bf16"),
        }
        core = ov.Core()
        self.compiled = onnx.load_built(
            "OpenVINO model",
            lambda: prepared_ir(folder, int8, model),
            lambda path: core.compile_model(core.read_model(str(path)), "CPU", config),
            lambda path: shutil.rmtree(path.parent, ignore_errors=True),
        )
        self.streams = max(1, int(self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
        self.inputs = {i.get_any_name() for i in self.compiled.inputs}
        self._output = self.compiled.outputs[0]
        self._local = threading.local()
        self.name = model
        self.precision = precision
        self.dimension = local.dimension

    def _requests(self) -> list[Any]:
        """One infer request per stream, per thread (a request runs one inference at a time)."""
        requests: list[Any] | None = getattr(self._local, "requests", None)
        if requests is None:
            requests = [self.compiled.create_infer_request() for _ in range(self.streams)]
            self._local.requests = requests
        return requests

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """The batch split over the streams (parts of at least MIN_PART texts, each padded to
        its own longest: batches come length-sorted), run at once, joined in order."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = max(1, min(self.streams, len(texts) // MIN_PART))
        size = -(-len(texts) // parts)
        started = []
        for request, start in zip(self._requests(), range(0, len(texts), size), strict=False):
            feeds, mask = model_inputs(self._encoder, texts[start : start + size], self.inputs)
            request.start_async(feeds)
            started.append((request, mask))
        vectors = []
        for request, mask in started:
            request.wait()
            vectors.append(mean_pooled(request.get_tensor(self._output).data, mask))
        return np.concatenate(vectors) if len(vectors) > 1 else vectors[0]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return token_counts(self.tokenizer, texts)
