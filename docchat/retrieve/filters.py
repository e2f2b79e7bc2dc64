"""Query filters (`in:`, `page:`, `"phrase"`) as SQL over the chunks table.

Both retrievers apply the same restriction: the keyword retriever inside its SQL, the dense
one as the set of allowed chunk ids handed to FAISS (so filtering happens before top-k).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from docchat.retrieve.query import ParsedQuery, path_matches
from docchat.store.collection import REMOVED, Collection

UNRESTRICTED = f"c.state != {REMOVED}"  # the WHERE of a query without filters


@dataclass(frozen=True)
class Restriction:
    """A WHERE fragment over `chunks c` (plus its parameters) and a phrase MATCH, if any."""

    where: str
    params: tuple[object, ...]
    phrase_match: str | None = None  # an FTS5 expression every hit must satisfy
    empty: bool = False  # the filters exclude everything (e.g. no path matches)


def unrestricted() -> Restriction:
    return Restriction(UNRESTRICTED, (), None)


def phrase_expression(phrases: tuple[str, ...]) -> str | None:
    """`"a b" AND "c"` — FTS5 phrases match tokens in order (with the table's tokenizer)."""
    quoted = [f'"{p.replace(chr(34), chr(34) * 2)}"' for p in phrases if p.strip()]
    return " AND ".join(quoted) or None


def restriction(coll: Collection, q: ParsedQuery) -> Restriction:
    clauses = [UNRESTRICTED]
    params: list[object] = []
    if q.paths:
        doc_ids = [
            doc_id
            for doc_id, path in coll.db.execute("SELECT id, path FROM documents")
            if any(path_matches(path, pat) for pat in q.paths)
        ]
        if not doc_ids:
            return Restriction("0", (), None, empty=True)
        # Ids are integers from our own table: inlining them avoids SQLite's variable limit.
        clauses.append(f"c.document_id IN ({','.join(str(int(i)) for i in doc_ids)})")
    if q.pages:
        low, high = q.pages
        if low is not None:
            clauses.append("c.page >= ?")
            params.append(low)
        if high is not None:
            clauses.append("c.page <= ?")
            params.append(high)
    return Restriction(" AND ".join(clauses), tuple(params), phrase_expression(q.phrases))


def allowed_ids(coll: Collection, r: Restriction) -> np.ndarray:
    """Chunk ids that satisfy the restriction (for the dense retriever's FAISS selector)."""
    if r.empty:
        return np.zeros(0, dtype=np.int64)
    if r.phrase_match:
        sql = (
            "SELECT c.id FROM chunks_fts f JOIN chunks c ON c.id = f.rowid "
            f"WHERE chunks_fts MATCH ? AND {r.where}"
        )
        rows = coll.db.execute(sql, (r.phrase_match, *r.params))
    else:
        rows = coll.db.execute(f"SELECT c.id FROM chunks c WHERE {r.where}", r.params)
    return np.fromiter((row[0] for row in rows), dtype=np.int64)
