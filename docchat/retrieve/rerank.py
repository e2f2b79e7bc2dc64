"""Optional second stage: re-score the fused top candidates with a cross-encoder.

Off by default (no cross-encoder ships offline); set search.rerank_model to a local folder or
a sentence-transformers CrossEncoder name to turn it on. The facade loads it once
(Docchat.reranker) and hands it to search().
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from docchat.errors import ModelError, missing


class Reranker(ABC):
    """Scores (query, passage) pairs; higher is more relevant. One abstract method."""

    @abstractmethod
    def score(self, query: str, passages: Sequence[str]) -> list[float]: ...

    def rerank(self, query: str, items: Sequence[tuple[int, str]]) -> list[tuple[int, float]]:
        """(id, text) pairs -> (id, score) best first."""
        scores = self.score(query, [text for _, text in items])
        order = sorted(zip((cid for cid, _ in items), scores, strict=True), key=lambda x: -x[1])
        return [(cid, float(s)) for cid, s in order]


class CrossEncoderReranker(Reranker):
    def __init__(self, model: str, device: str = "cpu") -> None:
        try:
            from sentence_transformers import CrossEncoder
        except ImportError:
            raise missing("sentence-transformers", "reranking") from None
        try:
            self.model = CrossEncoder(model, device=device)
        except OSError as e:
            raise ModelError(f"cannot load reranker '{model}': {str(e).splitlines()[0]}") from None

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        return [float(s) for s in self.model.predict([(query, p) for p in passages])]
