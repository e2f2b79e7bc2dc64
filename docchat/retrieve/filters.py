"""Query filters (`in:`, `page:`, `"phrase"`) as a Restriction, plain data the store applies.

Both retrievers apply the same restriction: the keyword retriever inside its query, the dense
one as the set of allowed chunk ids handed to FAISS (so filtering happens before top-k).
"""

from __future__ import annotations

from docchat.retrieve.query import ParsedQuery, path_matches
from docchat.store.collection import Collection
from docchat.types import Restriction


def phrase_expression(phrases: tuple[str, ...]) -> str | None:
    """`"a b" AND "c"` — FTS5 phrases match tokens in order (with the table's tokenizer)."""
    quoted = [f'"{p.replace(chr(34), chr(34) * 2)}"' for p in phrases if p.strip()]
    return " AND ".join(quoted) or None


def restriction(coll: Collection, q: ParsedQuery) -> Restriction:
    document_ids = None
    if q.paths:
        document_ids = tuple(
            doc_id
            for doc_id, path in coll.documents()
            if any(path_matches(path, pat) for pat in q.paths)
        )
    return Restriction(document_ids, q.pages, phrase_expression(q.phrases))
