"""The SQL behind retrieval: BM25 through the FTS5 table, and a Restriction as a WHERE clause.

retrieve/ decides *what* to ask (the FTS5 expression, which documents and pages a query may
return); this module is the only place that knows how the chunks table answers it.
"""

from __future__ import annotations

import sqlite3

import numpy as np

from docchat.store.migrations import REMOVED
from docchat.types import Restriction

VISIBLE = f"c.state != {REMOVED}"  # tombstones are hidden from every query


def where(r: Restriction) -> tuple[str, tuple[object, ...]]:
    """The restriction as a WHERE fragment over `chunks c`, with its parameters."""
    clauses = [VISIBLE]
    params: list[object] = []
    if r.document_ids is not None:
        # Ids are integers from our own table: inlining them avoids SQLite's variable limit.
        ids = ",".join(str(int(i)) for i in r.document_ids) or "NULL"
        clauses.append(f"c.document_id IN ({ids})")
    if r.pages is not None:
        low, high = r.pages
        if low is not None:
            clauses.append("c.page >= ?")
            params.append(low)
        if high is not None:
            clauses.append("c.page <= ?")
            params.append(high)
    return " AND ".join(clauses), tuple(params)


def keyword_search(
    db: sqlite3.Connection, match: str, k: int, r: Restriction, heading_weight: float = 1.0
) -> list[tuple[int, float]]:
    """(chunk id, BM25 score — higher is better) best first, for an FTS5 `match` expression."""
    return [(cid, score) for cid, score, _ in keyword_scores(db, match, k, r, heading_weight)]


def keyword_scores(
    db: sqlite3.Connection, match: str, k: int, r: Restriction, heading_weight: float = 1.0
) -> list[tuple[int, float, float]]:
    """(chunk id, BM25 score, BM25 of the text column alone) best first.

    bm25() weights are per column, in declaration order: text, heading. FTS5 weights the
    columns' term frequencies before saturating them (BM25F-like), so what the heading adds
    is the difference of the two scores, not a separate sum.
    """
    rank = f"bm25(chunks_fts, 1.0, {float(heading_weight)!r})"
    text_only = "-bm25(chunks_fts, 1.0, 0.0)"
    if r.document_ids is None and r.pages is None:
        # No join: at 100k chunks it halves the query time (47 vs 101 ms, benchmarks/README).
        # Tombstones (only there until the writer's next checkpoint) are dropped when the
        # caller fetches the texts.
        sql = (
            f"SELECT rowid, -{rank}, {text_only} FROM chunks_fts WHERE chunks_fts MATCH ? "
            f"ORDER BY {rank} LIMIT ?"
        )
        rows = db.execute(sql, (match, k))
    else:
        clause, params = where(r)
        sql = (
            f"SELECT f.rowid, -{rank} AS score, {text_only} FROM chunks_fts f "
            f"JOIN chunks c ON c.id = f.rowid "
            f"WHERE chunks_fts MATCH ? AND {clause} ORDER BY {rank} LIMIT ?"
        )
        rows = db.execute(sql, (match, *params, k))
    return [(int(row[0]), float(row[1]), float(row[2])) for row in rows]


def chunk_ids(db: sqlite3.Connection, r: Restriction) -> np.ndarray:
    """Ids of the visible chunks the restriction allows (the dense retriever's selector)."""
    if r.empty:
        return np.zeros(0, dtype=np.int64)
    clause, params = where(r)
    if r.phrase_match:
        sql = (
            "SELECT c.id FROM chunks_fts f JOIN chunks c ON c.id = f.rowid "
            f"WHERE chunks_fts MATCH ? AND {clause}"
        )
        rows = db.execute(sql, (r.phrase_match, *params))
    else:
        rows = db.execute(f"SELECT c.id FROM chunks c WHERE {clause}", params)
    return np.fromiter((row[0] for row in rows), dtype=np.int64)
