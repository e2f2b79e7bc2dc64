"""What a local sentence-transformers folder says about its model without loading it: the
vector size, the longest input, and its fast tokenizer (the `tokenizers` library, which
imports neither torch nor transformers).

That is all an index run needs until the first chunk is embedded (lazy.py) and all the ONNX
query encoder needs besides its graph (onnx.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
