"""Search through the facade on a small real collection (fake embedder): modes, filters,
phrases, explain."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from backends import both_backends

from docchat.config import SearchSettings
from docchat.errors import DocchatError
from docchat.retrieve.keyword import keyword_search
from docchat.retrieve.search import search
from docchat.service import Docchat
from docchat.types import Hit, Restriction


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


def test_explain_shows_each_signal(indexed: Docchat) -> None:
    s = SearchSettings(navigation_penalty=0.5, page_weight=0.3, title_weight=0.3)
    hit = indexed.search("t", "dropout overfitting", 1, "hybrid", settings=s)[0]
    for key in (
        "keyword_text",  # keyword score by field: the text's BM25 ...
        "keyword_heading",  # ... and what the heading adds
        "dense_score",
        "fused_score",
        "navigation",
        "navigation_penalty",
        "page_boost",
        "title_match",
        "title_boost",
    ):
        assert key in hit.to_json(), key
    assert "phrase_fallback" not in hit.explain and "rerank_score" not in hit.explain


def test_heading_weight_reaches_fts5(service: Docchat, tmp_path: Path) -> None:
    root = tmp_path / "headed"
    root.mkdir()
    (root / "ice.md").write_text("# Glaciers\n\nIce moves slowly downhill.\n", encoding="utf-8")
    for name in ("a", "b", "c"):
        (root / f"{name}.md").write_text(f"# Other {name}\n\nNothing cold.\n", encoding="utf-8")
    list(service.index("h", [root]))
    coll = service.open_collection("h")
    scores = {
        w: dict(keyword_search(coll, "glaciers", 5, Restriction(), heading_weight=w))
        for w in (0.0, 1.0, 5.0)
    }
    (cid,) = scores[1.0]
    assert scores[5.0][cid] > scores[1.0][cid] > scores[0.0][cid] > 0
    s = SearchSettings(heading_weight=5.0)
    hit = service.search("h", "glaciers", 1, "keyword", settings=s)[0]
    assert hit.explain["keyword_heading"] == pytest.approx(scores[5.0][cid] - scores[0.0][cid])
    assert hit.explain["keyword_text"] == pytest.approx(scores[0.0][cid])


def test_chunks_know_their_place_and_pages_their_size(service: Docchat, tmp_path: Path) -> None:
    root = tmp_path / "long"
    root.mkdir()
    (root / "long.txt").write_text(
        "\n".join(f"Line {i} tells of glaciers and rivers." for i in range(120)), encoding="utf-8"
    )
    (root / "short.txt").write_text("A short note on glaciers.\n", encoding="utf-8")
    list(service.index("l", [root]))
    coll = service.open_collection("l")
    rows = coll.chunks(coll.chunk_ids(Restriction()).tolist())
    by_doc: dict[int, list[tuple[int, int]]] = {}
    for r in rows.values():
        assert r.ordinal is not None
        by_doc.setdefault(r.document_id, []).append((r.char_start, r.ordinal))
    counts = {doc: len(v) for doc, v in by_doc.items()}
    assert sorted(counts.values())[0] == 1 and max(counts.values()) >= 3
    for chunks in by_doc.values():  # ordinals number the chunks in reading order
        assert [n for _, n in sorted(chunks)] == list(range(len(chunks)))
    assert coll.page_sizes(by_doc) == {(doc, None): n for doc, n in counts.items()}
    assert coll.page_sizes([]) == {}
    for rule in ("several", "apart", "disjoint", "any", "mean"):
        s = SearchSettings(page_weight=0.6, page_support=rule)  # type: ignore[arg-type]
        hits = service.search("l", "glaciers rivers", 5, "hybrid", settings=s)
        assert hits and all("page_boost" in h.explain for h in hits), rule


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
    # A phrase that matches nothing falls back to its words, unquoted (search.phrase_fallback)
    strict = SearchSettings(phrase_fallback=False)
    assert indexed.search("t", 'dropout "no such words here"', 5, mode, settings=strict) == []
    loose = indexed.search("t", '"overfitting in networks" dropout', k=5, mode=mode)
    assert loose and names(loose)[0] == "dropout.md"
    assert all(h.explain["phrase_fallback"] == 1 for h in loose)
    assert indexed.search("t", '"zzz qqq" in:nowhere/*', k=5, mode=mode) == []


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


def test_rerank_explain_has_rank_and_score(indexed: Docchat) -> None:
    from docchat.retrieve import rerank

    class Reverse(rerank.Reranker):
        def score(self, query: str, passages: Sequence[str]) -> list[float]:
            return [float(n) for n in range(len(passages))]  # the fused order, reversed

    coll = indexed.open_collection("t")
    emb = indexed.embedder_for(coll)
    s = SearchSettings(rerank_candidates=3)
    before = search(coll, emb, "dropout bread danube", 3, "hybrid", s)
    after = search(coll, emb, "dropout bread danube", 3, "hybrid", s, reranker=Reverse())
    assert [h.chunk_id for h in after] == [h.chunk_id for h in reversed(before)]
    assert [h.explain["rerank_rank"] for h in after] == [1, 2, 3]
    assert all(isinstance(h.explain["rerank_score"], float) for h in after)


def tiny_cross_encoder(folder: Path) -> Path:
    """A randomly initialised one-layer BERT CrossEncoder saved as a folder (no download)."""
    transformers = pytest.importorskip("transformers")
    words = [
        "dropout",
        "overfitting",
        "sourdough",
        "bread",
        "danube",
        "black",
        "sea",
        "rivers",
        "flour",
    ]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    folder.mkdir()
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=128,
        num_labels=1,
    )
    transformers.BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_a_cross_encoder_folder_reranks(indexed: Docchat, tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    from sentence_transformers import CrossEncoder

    folder = tiny_cross_encoder(tmp_path / "my-reranker")
    s = SearchSettings(rerank_model=str(folder), rerank_candidates=4)
    hits = indexed.search("t", "dropout bread rivers", 4, "hybrid", settings=s)
    scores = [h.explain["rerank_score"] for h in hits]
    assert hits and all(isinstance(x, float) for x in scores)
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    direct = CrossEncoder(str(folder)).predict([("dropout bread rivers", hits[0].text)])
    assert float(direct[0]) == pytest.approx(hits[0].score, abs=1e-4)


def test_a_missing_reranker_folder_says_so(indexed: Docchat, tmp_path: Path) -> None:
    from docchat.errors import ModelError

    s = SearchSettings(rerank_model=str(tmp_path / "nowhere"))
    with pytest.raises(ModelError, match="reranker folder not found"):
        indexed.search("t", "dropout", 3, "hybrid", settings=s)
    (tmp_path / "empty").mkdir()
    s = SearchSettings(rerank_model=str(tmp_path / "empty"))
    with pytest.raises(ModelError, match="not a CrossEncoder folder"):
        indexed.search("t", "dropout", 3, "hybrid", settings=s)


@pytest.mark.parametrize(
    "field,value",
    [
        ("navigation_penalty", 1.5),
        ("navigation_penalty", -0.1),
        ("page_weight", 3.0),
        ("heading_weight", -1.0),
        ("structure_candidates", 1),
        ("page_support", "some"),
    ],
)
def test_ranking_settings_are_validated(field: str, value: float | str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        SearchSettings(**{field: value})
