"""What a local sentence-transformers folder says about its model without loading it: the
vector size, the longest input, and its fast tokenizer (the `tokenizers` library, which
imports neither torch nor transformers).

That is all an index run needs until the first chunk is embedded (lazy.py), and with the
helpers at the end (inputs, mean pooling) all the ONNX and OpenVINO embedders need besides
their graph (onnx.py, openvino.py).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from tokenizers import Tokenizer

# Modules whose model gives the mean of the transformer's token vectors, normalised or not:
# the only pipelines whose output size and pooling can be read off the files.
SIMPLE_MODULES = {
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
}


def read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


@dataclass(frozen=True)
class LocalModel:
    folder: Path
    dimension: int
    max_length: int  # in tokens, [CLS] and [SEP] included

    @classmethod
    def read(cls, folder: Path) -> LocalModel | None:
        """The model in `folder`, or None when it is not a plain mean-pooling
        sentence-transformers model with a tokenizer.json (then it is loaded the usual way)."""
        try:
            modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(modules, list) or not modules:
            return None
        if any(not isinstance(m, dict) or m.get("type") not in SIMPLE_MODULES for m in modules):
            return None
        pooling = read_json(folder / "1_Pooling" / "config.json")
        if not pooling.get("pooling_mode_mean_tokens"):
            return None
        others = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
        if others != ["pooling_mode_mean_tokens"]:
            return None
        dimension = int(pooling.get("word_embedding_dimension") or 0)
        max_length = int(read_json(folder / "sentence_bert_config.json").get("max_seq_length") or 0)
        if not dimension or not max_length or not (folder / "tokenizer.json").is_file():
            return None
        return cls(folder, dimension, min(max_length, 512))

    def tokenizer(self) -> Tokenizer:
        """The fast tokenizer, with no truncation or padding set (callers set their own)."""
        import os

        from tokenizers import Tokenizer

        # As the sentence-transformers backend: no thread pool that a later fork would warn of.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        tok = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        tok.no_truncation()
        tok.no_padding()
        return tok

    def pad_token(self) -> str:
        pad = read_json(self.folder / "tokenizer_config.json").get("pad_token")
        if isinstance(pad, dict):  # {"content": "[PAD]", ...} in older files
            pad = pad.get("content")
        return str(pad or "[PAD]")

    def special_tokens(self, tokenizer: Tokenizer) -> int:
        """How many tokens the model adds around every input ([CLS] and [SEP])."""
        return len(tokenizer.encode("", add_special_tokens=True).ids)

    def padded_tokenizer(self) -> Tokenizer:
        """The tokenizer that makes a batch's inputs: truncated to the model's length and
        padded to the batch's longest."""
        tok = self.tokenizer()
        tok.enable_truncation(self.max_length)
        pad = self.pad_token()
        tok.enable_padding(pad_id=tok.token_to_id(pad) or 0, pad_token=pad)
        return tok


def model_inputs(
    tokenizer: Tokenizer, texts: Sequence[str], names: Collection[str]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """A batch's inputs (those of `names` the graph takes) and its attention mask."""
    import numpy as np

    encoded = tokenizer.encode_batch(list(texts))
    mask = np.asarray([e.attention_mask for e in encoded], dtype=np.int64)
    inputs = {
        "input_ids": np.asarray([e.ids for e in encoded], dtype=np.int64),
        "attention_mask": mask,
        "token_type_ids": np.asarray([e.type_ids for e in encoded], dtype=np.int64),
    }
    return {k: v for k, v in inputs.items() if k in names}, mask


def mean_pooled(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Sentence vectors as sentence-transformers' Pooling + Normalize make them: the mean of
    the token vectors under the mask, unit length."""
    import numpy as np

    from docchat.embed.base import normalize

    weights = mask[..., None].astype(np.float32)
    return normalize((hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None))


def token_counts(tokenizer: Tokenizer, texts: Sequence[str]) -> list[int]:
    """Tokens of each text, without the ones the model adds around it."""
    return [len(e.ids) for e in tokenizer.encode_batch(list(texts), add_special_tokens=False)]
