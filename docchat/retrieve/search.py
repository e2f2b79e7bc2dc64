"""Query → hits: parse the query, run the retrievers the mode asks for, fuse, optionally
rerank / diversify, fetch the chunk texts."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import PurePath

from docchat.config import SearchSettings
from docchat.embed.base import Embedder
from docchat.errors import DocchatError
from docchat.retrieve.dense import dense_search
from docchat.retrieve.filters import restriction
from docchat.retrieve.fusion import fuse
from docchat.retrieve.keyword import keyword_scores
from docchat.retrieve.navigation import ChunkFacts, Structure, restructure
from docchat.retrieve.query import ParsedQuery, parse_query
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
    if not q.ranking_text.strip():
        raise DocchatError("the query has only filters; add some words to search for")
    lists, by_field = _retrieve(coll, embedder, q, max(s.candidates, k), mode, s)
    fallback = False
    if s.phrase_fallback and q.phrases and not any(lists.values()):
        # A quoted phrase that matches nothing (a pasted error message the manual words
        # differently): its words still rank, unquoted.
        q = replace(q, text=q.ranking_text, phrases=())
        lists, by_field = _retrieve(coll, embedder, q, max(s.candidates, k), mode, s)
        fallback = True
    if len(lists) == 2:
        ranked = fuse(lists, s.fusion, s.dense_weight, s.rrf_k)
    else:  # one retriever: its own scores are the ranking
        ranked = next(iter(lists.values()), [])
    fused = dict(ranked)
    how = Structure(
        s.navigation_penalty,
        s.page_weight,
        s.structure_candidates,
        s.title_weight,
        s.page_support,
    )
    pool = max(k, s.rerank_candidates if reranker else k, 4 * k if s.mmr_lambda < 1 else k)
    rows = _fetch(coll, ranked, max(pool, how.candidates) if how.active else pool)
    ranked = [(cid, score) for cid, score in ranked if cid in rows]
    sizes = (
        coll.page_sizes({r.document_id for r in rows.values()})
        if how.page_weight > 0 and how.page_support == "mean"
        else {}
    )
    ranked, structure = restructure(ranked, _facts(rows, sizes), how, q.ranking_text)
    explain = _explain(lists, [cid for cid, _ in ranked])
    if reranker is not None:
        ranked = _rerank(reranker, s.rerank_candidates, q.ranking_text, ranked, rows, explain)
    if s.mmr_lambda < 1.0 and len(ranked) > 1:
        from docchat.retrieve.mmr import mmr

        ids, vecs = coll.vectors_for([cid for cid, _ in ranked])
        ranked = mmr(ranked, dict(zip(ids.tolist(), vecs, strict=True)), k, s.mmr_lambda)
    top = ranked[:k]
    return [
        _hit(
            n,
            cid,
            score,
            rows[cid],
            {
                **explain[cid],
                **by_field.get(cid, {}),
                "fused_score": round(fused.get(cid, score), 6),
                **structure.get(cid, {}),
                **({"phrase_fallback": 1} if fallback else {}),
            },
        )
        for n, (cid, score) in enumerate(top, start=1)
    ]


def _retrieve(
    coll: Collection,
    embedder: Embedder | None,
    q: ParsedQuery,
    depth: int,
    mode: str,
    s: SearchSettings,
) -> tuple[dict[str, Ranked], dict[int, dict[str, float]]]:
    """Each retriever's list for the query, and the keyword score by field of its chunks."""
    text = q.ranking_text
    where = restriction(coll, q) if q.filtered else Restriction()
    lists: dict[str, Ranked] = {}
    keyword: Future[list[tuple[int, float, float]]] | None = None
    if mode != "dense":
        # BM25 scoring runs in SQLite (which releases the GIL) on a second thread while this
        # one embeds the query (torch on one thread): the two overlap on 2 cores.
        keyword = _KEYWORD_THREAD.submit(
            lambda: keyword_scores(
                coll,
                text,
                depth,
                where,
                drop_stopwords=s.drop_stopwords,
                heading_weight=s.heading_weight,
            )
        )
    if mode != "keyword" and embedder is not None and coll.dimension is not None:
        restricted = where if q.filtered else None
        lists["dense"] = dense_search(coll, embedder.embed_query(text), depth, restricted)
    by_field: dict[int, dict[str, float]] = {}
    if keyword is not None:
        scored = keyword.result()
        lists["keyword"] = [(cid, score) for cid, score, _ in scored]
        # FTS5 weights the columns' term frequencies before saturating them (BM25F-like):
        # what the heading adds is the score with it minus the score of the text alone.
        by_field = {
            cid: {
                "keyword_text": round(text_only, 6),
                "keyword_heading": round(score - text_only, 6),
            }
            for cid, score, text_only in scored
        }
    return lists, by_field


def _facts(
    rows: dict[int, ChunkRow], sizes: dict[tuple[int, int | None], int]
) -> dict[int, ChunkFacts]:
    return {
        cid: ChunkFacts(
            (r.document_id, r.page),
            r.text,
            _title(r),
            r.ordinal,
            (r.char_start, r.char_end),
            sizes.get((r.document_id, r.page), 0),
        )
        for cid, r in rows.items()
    }


def _title(row: ChunkRow) -> str:
    """What the title match reads: the document's title and its file name (without the
    suffix): a man page's name, a manual page's slug."""
    return f"{row.title or ''} {PurePath(row.path).stem}"


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
    for n, (cid, score) in enumerate(rescored, start=1):
        explain[cid]["rerank_score"] = round(score, 6)
        explain[cid]["rerank_rank"] = n
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
        explain=explain,
        ocr=row.ocr,
    )
