"""Optional second stage: re-score the fused top candidates with a cross-encoder.

Off by default (no cross-encoder ships offline). `search.rerank_model` names one: a local
folder holding any sentence-transformers CrossEncoder (what `CrossEncoder.save(folder)`
writes, or a downloaded model such as cross-encoder/ms-marco-MiniLM-L-6-v2), or a model name
already in the Hugging Face cache. The facade loads it once (Docchat.reranker) and hands it to
search(), which re-scores the first `search.rerank_candidates` fused hits with it; each hit's
`rerank_score` and `rerank_rank` show in --explain / --json.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

from docchat.errors import ModelError, missing


class Reranker(ABC):
    """Scores (query, passage) pairs; higher is more relevant. One abstract method."""

    @abstractmethod
    def score(self, query: str, passages: Sequence[str]) -> list[float]: ...

    def rerank(self, query: str, items: Sequence[tuple[int, str]]) -> list[tuple[int, float]]:
        """(id, text) pairs -> (id, score) best first (ties keep the given order)."""
        scores = self.score(query, [text for _, text in items])
        order = sorted(zip((cid for cid, _ in items), scores, strict=True), key=lambda x: -x[1])
        return [(cid, float(s)) for cid, s in order]


def looks_like_path(model: str) -> bool:
    return model.startswith((".", "~", "/")) or "\\" in model or Path(model).is_dir()


class CrossEncoderReranker(Reranker):
    def __init__(self, model: str, device: str = "cpu") -> None:
        if looks_like_path(model):
            folder = Path(model).expanduser()
            if not folder.is_dir():
                raise ModelError(f"reranker folder not found: {folder}")
            if not (folder / "config.json").is_file():
                raise ModelError(
                    f"{folder} is not a CrossEncoder folder (no config.json); save one with "
                    "sentence_transformers.CrossEncoder(...).save(folder)"
                )
            model = str(folder)
        try:
            from sentence_transformers import CrossEncoder
        except ImportError:
            raise missing("sentence-transformers", "reranking") from None
        try:
            self.model = CrossEncoder(model, device=device)
        except (OSError, ValueError) as e:
            raise ModelError(f"cannot load reranker '{model}': {str(e).splitlines()[0]}") from None

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        return [float(s) for s in self.model.predict([(query, p) for p in passages])]
