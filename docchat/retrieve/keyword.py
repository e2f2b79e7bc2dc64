"""Keyword retrieval through the collection's FTS5 table, ranked by FTS5's BM25.

The user's words become an OR of quoted terms (quoting makes any input safe: no FTS5 syntax
errors, no accidental NOT/NEAR operators). English stopwords are dropped when something else
is left: they carry almost no BM25 weight, yet their posting lists are the longest, so they
cost most of the query time (measured in benchmarks/README.md).
"""

from __future__ import annotations

import re
import sqlite3

from docchat.retrieve.filters import UNRESTRICTED, Restriction

_TERM = re.compile(r"\w+", re.UNICODE)

# A common short English list (the usual BM25/Lucene-style one, plus a few question words):
# short on purpose, since a word that matters in some domain must not vanish.
_STOPWORD_TEXT = """
    a an and are as at be but by for if in into is it no not of on or such that the their
    then there these they this to was will with what which who whom how why when where do does
    did has have had been being were its than so can could would should may might i we you
    he she them our your his her from about all any each"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def query_terms(text: str, drop_stopwords: bool = True) -> list[str]:
    """Distinct lower-cased terms, in order; stopwords dropped unless nothing else is left."""
    terms = list(dict.fromkeys(t.lower() for t in _TERM.findall(text)))
    if drop_stopwords:
        content = [t for t in terms if t not in STOPWORDS]
        if content:
            return content
    return terms


def fts_query(text: str, drop_stopwords: bool = True, phrase_match: str | None = None) -> str:
    """Free text -> an FTS5 OR-query of quoted terms, ANDed with required phrases."""
    terms = " OR ".join(f'"{t}"' for t in query_terms(text, drop_stopwords))
    if phrase_match and terms:
        return f"({phrase_match}) AND ({terms})"
    return phrase_match or terms


def keyword_search(
    db: sqlite3.Connection,
    text: str,
    k: int,
    restriction: Restriction,
    *,
    drop_stopwords: bool = True,
    heading_weight: float = 1.0,
) -> list[tuple[int, float]]:
    """(chunk id, BM25 score — higher is better) best first."""
    if restriction.empty:
        return []
    match = fts_query(text, drop_stopwords, restriction.phrase_match)
    if not match:
        return []
    # bm25() weights are per column, in declaration order: text, heading.
    rank = f"bm25(chunks_fts, 1.0, {float(heading_weight)!r})"
    if restriction.where == UNRESTRICTED:
        # No join: at 100k chunks it halves the query time (47 vs 101 ms, benchmarks/README).
        # Tombstones (only there until the writer's next checkpoint) are dropped when the
        # caller fetches the texts.
        sql = (
            f"SELECT rowid, -{rank} FROM chunks_fts WHERE chunks_fts MATCH ? "
            f"ORDER BY {rank} LIMIT ?"
        )
        return [(int(r[0]), float(r[1])) for r in db.execute(sql, (match, k))]
    sql = (
        f"SELECT f.rowid, -{rank} AS score FROM chunks_fts f JOIN chunks c ON c.id = f.rowid "
        f"WHERE chunks_fts MATCH ? AND {restriction.where} ORDER BY {rank} LIMIT ?"
    )
    rows = db.execute(sql, (match, *restriction.params, k)).fetchall()
    return [(int(r[0]), float(r[1])) for r in rows]
