"""A few end-to-end runs with the real bundled embedding model (slow, still in CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from docchat.config import load_settings
from docchat.service import Docchat
from docchat.types import IndexSummary

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real() -> Docchat:
    return Docchat(load_settings(environ={}))


def test_bundled_model_resolves_offline_and_embeds(real: Docchat) -> None:
    embedder = real.embedder()
    assert embedder.name == "all-MiniLM-L6-v2" and embedder.dimension == 384
    vectors = embedder.embed(["a cat sat on the mat", "a kitten rested on a rug", "tax law"])
    assert vectors.shape == (3, 384)
    assert abs(float((vectors[0] ** 2).sum()) - 1.0) < 1e-4  # normalised
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_chunks_never_exceed_the_models_window(real: Docchat) -> None:
    from docchat.embed.lazy import LazyEmbedder
    from docchat.embed.sentence_transformers import SentenceTransformerEmbedder
    from docchat.ingest.chunking import chunk_page
    from docchat.types import Page

    # The chunker counts with the model's files (no model loaded), the model then agrees.
    embedder = real.embedder()
    assert isinstance(embedder, LazyEmbedder)
    text = "\n\n".join(
        "Pneumonoultramicroscopicsilicovolcanoconiosis " * (i % 40 + 1) + f"section {i}."
        for i in range(60)
    )
    chunks = chunk_page(Page(text), embedder.count_tokens, embedder.max_tokens, 32)
    counts = embedder.count_tokens([c.text for c in chunks])
    assert max(counts) <= embedder.max_tokens
    # The path that embeds here (OpenVINO or torch, per CPU) and the model itself agree.
    model = embedder.loaded()
    assert model.count_tokens([c.text for c in chunks]) == counts
    assert model.max_tokens == embedder.max_tokens
    torch_model = SentenceTransformerEmbedder(embedder.name, device="cpu")
    assert torch_model.count_tokens([c.text for c in chunks]) == counts
    full = torch_model.tokenizer([c.text for c in chunks], truncation=False)["input_ids"]
    assert max(len(ids) for ids in full) <= torch_model.model.max_seq_length


def test_index_and_search_with_the_real_model(real: Docchat, docs: Path) -> None:
    events = list(real.index("real", [docs]))
    summary = events[-1]
    assert isinstance(summary, IndexSummary) and summary.indexed == 3
    hits = real.search("real", "which river reaches the Black Sea?", k=1, mode="dense")
    assert Path(hits[0].path).name == "rivers.rst"
    hits = real.search("real", "how to make bread", k=1)
    assert Path(hits[0].path).name == "bread.txt"
    assert real.check("real").ok
