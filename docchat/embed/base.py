"""The Embedder base: backends implement `embed_batch`; the rest is built on it."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors (so inner product = cosine)."""

    #: Model name as recorded in a collection's metadata.
    name: str = ""
    #: Vector size.
    dimension: int = 0
    #: Longest input in the model's own tokens (special tokens excluded); longer is truncated.
    max_tokens: int = 256
    #: Numeric precision of the vectors it makes ("fp32", "bf16", "int8"; embed/precision.py),
    #: recorded in a collection so that vectors of another family are not mixed in.
    precision: str = "fp32"
    #: Whether `count_tokens` may run on another thread while `embed` runs (its tokenizer is
    #: not the one the model uses, or it has none): an index run then chunks the next files
    #: on its reading thread, overlapped with embedding. A Hugging Face tokenizer shared with
    #: the model must not be (it raises "Already borrowed" when used from two threads).
    counts_tokens_apart: bool = False

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed one batch: shape (len(texts), dimension), float32, rows of unit length."""

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens per text in the model's own tokenizer (no special tokens).

        The default splits on whitespace; real backends override it with their tokenizer so
        the chunker never produces a chunk the model would truncate.
        """
        return [len(t.split()) for t in texts]

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed any number of texts, batch by batch."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = [
            self.embed_batch(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)
        ]
        return np.vstack(parts).astype(np.float32, copy=False)

    def embed_query(self, text: str) -> np.ndarray:
        """One query vector. Models with query prefixes override this."""
        return self.embed_batch([text])[0]

    def embed_few(self, texts: Sequence[str]) -> np.ndarray:
        """A few short texts (an answer's claims, a passage's sentences) as documents.
        Backends may run them on one thread: while a model is generating on the other cores,
        or on a busy machine, contending threads cost more than they bring."""
        return self.embed(texts)

    def fingerprint(self) -> str:
        """Changes when the vectors would: the model's name, size and a probe embedding (so
        it runs the model once)."""
        probe = self.embed_batch(["docchat fingerprint probe"])[0]
        digest = hashlib.sha256(np.round(probe, 4).astype(np.float32).tobytes()).hexdigest()
        return f"{self.name}:{self.dimension}:{digest[:16]}"


def normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms
