"""Keyword retrieval through the collection's FTS5 table, ranked by FTS5's BM25 (or, for an
unfiltered query in a warm process, by the store's exact in-memory copy of it: store/bm25.py).

The user's words (retrieve/terms.py) become an OR of quoted terms: quoting makes any input
safe (no FTS5 syntax errors, no accidental NOT/NEAR operators).
"""

from __future__ import annotations

from docchat.retrieve.terms import query_terms
from docchat.store.collection import Collection
from docchat.types import Restriction


def fts_query(text: str, drop_stopwords: bool = True, phrase_match: str | None = None) -> str:
    """Free text -> an FTS5 OR-query of quoted terms, ANDed with required phrases."""
    terms = " OR ".join(f'"{t}"' for t in query_terms(text, drop_stopwords))
    if phrase_match and terms:
        return f"({phrase_match}) AND ({terms})"
    return phrase_match or terms


def keyword_search(
    coll: Collection,
    text: str,
    k: int,
    restriction: Restriction,
    *,
    drop_stopwords: bool = True,
    heading_weight: float = 1.0,
) -> list[tuple[int, float]]:
    """(chunk id, BM25 score — higher is better) best first."""
    scored = keyword_scores(
        coll, text, k, restriction, drop_stopwords=drop_stopwords, heading_weight=heading_weight
    )
    return [(cid, score) for cid, score, _ in scored]


def keyword_scores(
    coll: Collection,
    text: str,
    k: int,
    restriction: Restriction,
    *,
    drop_stopwords: bool = True,
    heading_weight: float = 1.0,
) -> list[tuple[int, float, float]]:
    """(chunk id, BM25 score, BM25 of the chunk text alone) best first: the difference is
    what the heading field adds (for --explain)."""
    if restriction.empty:
        return []
    if restriction == Restriction():
        # Unfiltered free text: the store's in-memory copy of FTS5's BM25 answers in a warm
        # process (same scores, a few ms instead of FTS5 scoring every matching row);
        # None means not ready, stale or a term it cannot score, so FTS5 answers.
        terms = query_terms(text, drop_stopwords)
        if not terms:
            return []
        fast = coll.keyword_scores_fast(terms, k, heading_weight)
        if fast is not None:
            return fast
    match = fts_query(text, drop_stopwords, restriction.phrase_match)
    if not match:
        return []
    return coll.keyword_scores(match, k, restriction, heading_weight)
