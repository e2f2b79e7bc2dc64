"""Search through the facade on a small real collection (fake embedder): modes, filters,
phrases, explain."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from backends import both_backends

from docchat.config import SearchSettings
from docchat.errors import DocchatError
from docchat.retrieve import search
from docchat.service import Docchat
from docchat.types import Hit


@pytest.fixture
def indexed(service: Docchat, docs: Path) -> Docchat:
    (docs / "paged.md").write_text("Dropout in a second file about bread.\n", encoding="utf-8")
    list(service.index("t", [docs]))
    return service


def names(hits: list[Hit]) -> list[str]:
    return [Path(h.path).name for h in hits]


@both_backends
@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_each_mode_finds_the_topic(indexed: Docchat, mode: str) -> None:
    hits = indexed.search("t", "Danube Black Sea", k=2, mode=mode)
    assert names(hits)[0] == "rivers.rst"
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


def test_explain_has_both_retrievers(indexed: Docchat) -> None:
    hit = indexed.search("t", "dropout overfitting", k=1, mode="hybrid")[0]
    for key in ("keyword_rank", "keyword_score", "dense_rank", "dense_score", "fused_score"):
        assert key in hit.explain
    assert hit.explain["keyword_rank"] is not None and hit.explain["dense_rank"] is not None
    assert hit.to_json()["fused_score"] == hit.explain["fused_score"]


def test_keyword_mode_has_no_dense_detail(indexed: Docchat) -> None:
    hit = indexed.search("t", "sourdough", k=1, mode="keyword")[0]
    assert hit.explain["dense_rank"] is None and hit.explain["keyword_rank"] == 1


@both_backends
@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_in_filter(indexed: Docchat, mode: str) -> None:
    hits = indexed.search("t", "dropout in:*.md", k=5, mode=mode)
    assert hits and all(n.endswith(".md") for n in names(hits))
    hits = indexed.search("t", "dropout in:notes", k=5, mode=mode)
    # The only file there is off-topic: vectors still rank it, BM25 matches no word in it.
    assert names(hits) == ([] if mode == "keyword" else ["rivers.rst"])
    assert indexed.search("t", "dropout in:nowhere/*", k=5, mode=mode) == []


@both_backends
@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_phrase_is_required(indexed: Docchat, mode: str) -> None:
    hits = indexed.search("t", 'dropout "second file"', k=5, mode=mode)
    assert names(hits) == ["paged.md"]
    assert indexed.search("t", '"reduces overfitting"', k=5, mode=mode)[0].path.endswith(
        "dropout.md"
    )
    assert indexed.search("t", 'dropout "no such words here"', k=5, mode=mode) == []


@both_backends
def test_page_filter_on_unpaged_files_finds_nothing(indexed: Docchat) -> None:
    assert indexed.search("t", "dropout page:1-3", k=5) == []


@both_backends
def test_page_filter_on_pages(indexed: Docchat) -> None:
    coll = indexed.open_collection("t")
    # Give the chunks of one file page numbers, as a PDF would have.
    doc = coll.db.execute("SELECT id FROM documents WHERE path LIKE '%bread.txt'").fetchone()[0]
    coll.db.execute("UPDATE chunks SET page = 12 WHERE document_id = ?", (doc,))
    indexed.rebuild("t")  # SQLite is the truth: the vector store takes the pages from it
    assert names(indexed.search("t", "bread page:10-20", k=5)) == ["bread.txt"]
    assert names(indexed.search("t", "bread page:12", k=5, mode="dense")) == ["bread.txt"]
    assert indexed.search("t", "bread page:13-", k=5) == []


def test_only_filters_is_an_error(indexed: Docchat) -> None:
    with pytest.raises(DocchatError, match="only filters"):
        indexed.search("t", "in:*.md page:2", k=5)


@pytest.mark.parametrize("fusion", ["rrf", "minmax", "zscore"])
def test_fusion_methods_and_mmr(indexed: Docchat, fusion: str) -> None:
    coll = indexed.open_collection("t")
    emb = indexed.embedder_for(coll)
    s = SearchSettings(fusion=fusion, mmr_lambda=0.5)
    hits = search(coll, emb, "dropout overfitting networks", 3, "hybrid", s)
    assert 1 <= len(hits) <= 3
    assert len({h.chunk_id for h in hits}) == len(hits)


def test_reranker_reorders_and_is_loaded_once(
    indexed: Docchat, monkeypatch: pytest.MonkeyPatch
) -> None:
    from docchat.retrieve import rerank

    class ByLength(rerank.Reranker):
        def score(self, query: str, passages: Sequence[str]) -> list[float]:
            return [-float(len(p)) for p in passages]

    loaded: list[str] = []

    def load(model: str) -> ByLength:
        loaded.append(model)
        return ByLength()

    monkeypatch.setattr(rerank, "CrossEncoderReranker", load)
    s = SearchSettings(rerank_model="fake-reranker", rerank_candidates=10)
    hits = indexed.search("t", "dropout bread", 3, "hybrid", settings=s)
    lengths = [len(h.text) for h in hits]
    assert lengths == sorted(lengths)
    assert all("rerank_score" in h.explain for h in hits)
    indexed.search("t", "rivers", 3, "hybrid", settings=s)
    assert loaded == ["fake-reranker"]
