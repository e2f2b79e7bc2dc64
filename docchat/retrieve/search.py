"""Query → hits: parse the query, run the retrievers the mode asks for, fuse, optionally
rerank / diversify, fetch the chunk texts."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from docchat.config import SearchSettings
from docchat.embed.base import Embedder
from docchat.errors import DocchatError
from docchat.retrieve.dense import dense_search
from docchat.retrieve.filters import restriction
from docchat.retrieve.fusion import fuse
from docchat.retrieve.keyword import keyword_search
from docchat.retrieve.query import parse_query
from docchat.retrieve.rerank import Reranker
from docchat.store.collection import ChunkRow, Collection
from docchat.types import Hit, Restriction

Ranked = list[tuple[int, float]]
# One long-lived thread (and so one SQLite connection of its own, see Collection.db).
_KEYWORD_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="docchat-keyword")


def search(
    coll: Collection,
    embedder: Embedder | None,
    query: str,
    k: int,
    mode: str = "hybrid",
    settings: SearchSettings | None = None,
    *,
    reranker: Reranker | None = None,
) -> list[Hit]:
    """The best `k` hits. `reranker` (loaded by the facade for search.rerank_model) re-scores
    the fused top `rerank_candidates`."""
    s = settings or SearchSettings()
    q = parse_query(query)
    text = q.ranking_text
    if not text.strip():
        raise DocchatError("the query has only filters; add some words to search for")
    where = restriction(coll, q) if q.filtered else Restriction()
    depth = max(s.candidates, k)
    lists: dict[str, Ranked] = {}
    keyword: Future[Ranked] | None = None
    if mode != "dense":
        # BM25 scoring runs in SQLite (which releases the GIL) on a second thread while this
        # one embeds the query (torch on one thread): the two overlap on 2 cores.
        keyword = _KEYWORD_THREAD.submit(
            lambda: keyword_search(coll, text, depth, where, drop_stopwords=s.drop_stopwords)
        )
    if mode != "keyword" and embedder is not None and coll.dimension is not None:
        restricted = where if q.filtered else None
        lists["dense"] = dense_search(coll, embedder.embed_query(text), depth, restricted)
    if keyword is not None:
        lists["keyword"] = keyword.result()
    if len(lists) == 2:
        ranked = fuse(lists, s.fusion, s.dense_weight, s.rrf_k)
    else:  # one retriever: its own scores are the ranking
        ranked = next(iter(lists.values()), [])
    pool = max(k, s.rerank_candidates if reranker else k, 4 * k if s.mmr_lambda < 1 else k)
    rows = _fetch(coll, ranked, pool)
    ranked = [(cid, score) for cid, score in ranked if cid in rows]
    explain = _explain(lists, [cid for cid, _ in ranked])
    if reranker is not None:
        ranked = _rerank(reranker, s.rerank_candidates, text, ranked, rows, explain)
    if s.mmr_lambda < 1.0 and len(ranked) > 1:
        from docchat.retrieve.mmr import mmr

        ids, vecs = coll.vectors_for([cid for cid, _ in ranked])
        ranked = mmr(ranked, dict(zip(ids.tolist(), vecs, strict=True)), k, s.mmr_lambda)
    return [
        _hit(n, cid, score, rows[cid], explain[cid])
        for n, (cid, score) in enumerate(ranked[:k], start=1)
    ]


def _explain(lists: dict[str, Ranked], ids: list[int]) -> dict[int, dict[str, float | int | None]]:
    """For these chunks: each retriever's rank and score (None where it did not find it)."""
    where = {
        name: {cid: (rank, score) for rank, (cid, score) in enumerate(results, start=1)}
        for name, results in lists.items()
    }
    out: dict[int, dict[str, float | int | None]] = {}
    for cid in ids:
        e: dict[str, float | int | None] = {}
        for name in ("keyword", "dense"):
            rank, score = where.get(name, {}).get(cid, (None, None))
            e[f"{name}_rank"] = rank
            e[f"{name}_score"] = None if score is None else round(score, 6)
        out[cid] = e
    return out


def _fetch(coll: Collection, ranked: Ranked, want: int) -> dict[int, ChunkRow]:
    """Texts of the first `want` visible chunks (tombstones are skipped, so fetch on)."""
    rows: dict[int, ChunkRow] = {}
    start, step = 0, max(want, 8)
    while len(rows) < want and start < len(ranked):
        rows.update(coll.chunks([cid for cid, _ in ranked[start : start + step]]))
        start += step
    return rows


def _rerank(
    reranker: Reranker,
    candidates: int,
    text: str,
    ranked: Ranked,
    rows: dict[int, ChunkRow],
    explain: dict[int, dict[str, float | int | None]],
) -> Ranked:
    head = ranked[:candidates]
    rescored = reranker.rerank(text, [(cid, rows[cid].text) for cid, _ in head])
    for cid, score in rescored:
        explain[cid]["rerank_score"] = round(score, 6)
    return rescored + ranked[len(head) :]


def _hit(
    rank: int, cid: int, score: float, row: ChunkRow, explain: dict[str, float | int | None]
) -> Hit:
    return Hit(
        rank=rank,
        score=score,
        chunk_id=cid,
        path=row.path,
        page=row.page,
        line_start=row.line_start,
        line_end=row.line_end,
        heading=row.heading,
        text=row.text,
        explain={**explain, "fused_score": round(score, 6)},
        ocr=row.ocr,
    )
