"""ONNX Runtime backend for sentence-transformers models with mean pooling (CPU speed-up).

The ONNX file is produced locally from the (bundled) model — exported once with torch, then,
for "onnx-int8", dynamically quantised to int8 weights — and cached in the user cache dir
under a key of the model files, so nothing is ever downloaded. After that, embedding needs
only onnxruntime and the tokenizer: torch is not imported at all.

Backends: "onnx" (fp32, same vectors as sentence-transformers up to float rounding) and
"onnx-int8" (faster; its nDCG cost is measured in benchmarks/README.md).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from docchat.embed.base import Embedder, normalize
from docchat.embed.models import resolve_embedding_model
from docchat.errors import ModelError, missing

OPSET = 17


def cache_root() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("docchat")) / "onnx"


def _model_key(folder: Path) -> str:
    """Changes when the model's weights or configuration do (size + mtime of each file)."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.relative_to(folder)}:{st.st_size}:{st.st_mtime_ns}|".encode())
    return h.hexdigest()[:16]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def export(folder: Path, target: Path) -> None:
    """Export the transformer to ONNX (last_hidden_state out), atomically."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(folder)).eval()

    class Encoder(torch.nn.Module):
        """Positional inputs, one tensor out: what the TorchScript tracer can follow."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = tuple(torch.ones(1, 8, dtype=torch.long) for _ in names)
    axes = {n: {0: "batch", 1: "seq"} for n in [*names, "last_hidden_state"]}
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with torch.no_grad():
        torch.onnx.export(
            Encoder(),
            sample,
            str(tmp),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter needs no onnxscript
        )
    os.replace(tmp, target)


def quantize(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    # Per-channel weights on the MatMuls only: per-tensor scales, or quantised embedding
    # lookups, cost far more accuracy (cosine to fp32 about 0.93 vs 0.994 on SciFact texts).
    quantize_dynamic(
        str(source),
        str(tmp),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
    )
    os.replace(tmp, target)


def prepared_model(folder: Path, int8: bool) -> Path:
    """The cached ONNX file for this model folder, made on first use."""
    out = cache_root() / f"{folder.name}-{_model_key(folder)}"
    out.mkdir(parents=True, exist_ok=True)
    fp32 = out / "model.onnx"
    if not fp32.exists():
        export(folder, fp32)
    if not int8:
        return fp32
    q = out / "model_int8_pc.onnx"
    if not q.exists():
        quantize(fp32, q)
    return q


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
        from transformers import AutoTokenizer

        pooling = _read_json(folder / "1_Pooling" / "config.json")
        if pooling and not pooling.get("pooling_mode_mean_tokens", False):
            raise ModelError(f"the onnx backend supports mean-pooling models only ('{model}')")
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        # Idle worker threads would otherwise spin after each run, taking the CPU the keyword
        # search needs next on a 2-core machine.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        path = prepared_model(folder, int8)
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        st = _read_json(folder / "sentence_bert_config.json")
        max_len = int(st.get("max_seq_length") or self.tokenizer.model_max_length or 512)
        self.max_length = min(max_len, 512)
        self.name = model
        self.dimension = int(
            pooling.get("word_embedding_dimension")
            or _read_json(folder / "config.json").get("hidden_size", 0)
        )
        specials = self.tokenizer.num_special_tokens_to_add(pair=False)
        self.max_tokens = self.max_length - specials

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        enc = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="np",
        )
        feeds = {k: v.astype(np.int64) for k, v in enc.items() if k in self.inputs}
        if "token_type_ids" in self.inputs and "token_type_ids" not in feeds:
            feeds["token_type_ids"] = np.zeros_like(feeds["input_ids"])
        hidden = self.session.run(["last_hidden_state"], feeds)[0]
        mask = enc["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        return normalize(pooled)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        encoded = self.tokenizer(
            list(texts), add_special_tokens=False, truncation=False, verbose=False
        )["input_ids"]
        return [len(ids) for ids in encoded]
