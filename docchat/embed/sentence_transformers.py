"""sentence-transformers backend (torch is imported here, lazily, and nowhere in the core)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from docchat.embed.base import Embedder, normalize
from docchat.embed.models import resolve_embedding_model
from docchat.errors import ModelError, missing


def quiet_hf_logging() -> None:
    """Model loading must not paint progress bars or warnings over our own output."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import logging

    for name in ("transformers", "sentence_transformers", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:  # transformers 5 draws a "Loading weights" bar of its own
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass


# torch's thread count is process-wide: one caller at a time lowers it and puts it back, or
# two overlapping callers (a search while an answer is checked) could leave it at 1 for good.
_THREADS = threading.Lock()


@contextmanager
def _one_thread(torch: Any) -> Iterator[None]:
    with _THREADS:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)


def pick_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


class SentenceTransformerEmbedder(Embedder):
    def __init__(self, model: str, device: str = "auto", precision: str = "fp32") -> None:
        quiet_hf_logging()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise missing("sentence-transformers", "embedding") from None
        path = resolve_embedding_model(model)
        if os.path.isdir(path):
            # A local model must never reach for the hub (offline by default).
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            self.model: Any = SentenceTransformer(path, device=pick_device(device))
        except OSError as e:
            raise ModelError(
                f"cannot load embedding model '{model}': {str(e).splitlines()[0]} "
                "(give a local folder, or a bundled model such as all-MiniLM-L6-v2)"
            ) from None
        if precision == "bf16":
            import torch

            # Weights in bfloat16: AMX / AVX512-BF16 run the matrix products natively (1.7x
            # fp32 here); the vectors come back as float32 (see embed_batch).
            self.model = self.model.to(torch.bfloat16)
        self.precision = precision
        self.name = model
        get_dim = getattr(self.model, "get_embedding_dimension", None) or (
            self.model.get_sentence_embedding_dimension
        )
        self.dimension = int(get_dim() or 0)
        self.tokenizer = self.model.tokenizer
        # Leave room for the [CLS]/[SEP] the model adds around every input.
        specials = self.tokenizer.num_special_tokens_to_add(pair=False)
        self.max_tokens = int(self.model.max_seq_length or 512) - specials

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            batch_size=max(1, len(texts)),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
            convert_to_tensor=self.precision == "bf16",  # numpy has no bfloat16
        )
        if self.precision == "bf16":  # normalised again in float32: bf16 norms are off by ~1e-3
            return normalize(vectors.float().cpu().numpy())
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        import torch

        # One short text: a second thread only adds contention (on a busy 2-core machine
        # 52 ms on one thread vs 435-633 ms on two; benchmarks/README.md, "Embedding speed").
        with _one_thread(torch):
            return self.embed_batch([text])[0]

    def embed_few(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        with _one_thread(torch):
            return self.embed(texts, batch_size=64)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        encoded = self.tokenizer(
            list(texts), add_special_tokens=False, truncation=False, verbose=False
        )["input_ids"]
        return [len(ids) for ids in encoded]
