"""Keyword retrieval through the collection's FTS5 table (BM25 ranking)."""

from __future__ import annotations

import re

from docchat.store.collection import REMOVED, Collection

_TERM = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str:
    """Free text -> an FTS5 OR-query of quoted terms (no syntax errors from user input)."""
    terms = dict.fromkeys(t.lower() for t in _TERM.findall(text))
    return " OR ".join(f'"{t}"' for t in terms)


def keyword_search(coll: Collection, query: str, k: int) -> list[tuple[int, float]]:
    """(chunk id, BM25 score — higher is better) best first."""
    match = fts_query(query)
    if not match:
        return []
    rows = coll.db.execute(
        "SELECT f.rowid, -bm25(chunks_fts) AS score FROM chunks_fts f "
        "JOIN chunks c ON c.id = f.rowid "
        f"WHERE chunks_fts MATCH ? AND c.state != {REMOVED} ORDER BY bm25(chunks_fts) LIMIT ?",
        (match, k),
    ).fetchall()
    return [(int(r[0]), float(r[1])) for r in rows]
