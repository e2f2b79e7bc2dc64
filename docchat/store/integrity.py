"""`collections check`: verify that SQLite and the vector store (FAISS file or Milvus
collection) agree.

The invariant (see store/writer.py): live chunks ⊆ vector-store ids ⊆ all chunk ids, plus
SQLite's own integrity, the FTS5 index matching its content table, and every chunk having a
stored embedding. Added/tombstoned chunks left by a killed writer are allowed. For Milvus,
every id it holds is read back (Strong consistency) and compared with SQLite's.
"""

from __future__ import annotations

import sqlite3

from docchat.errors import DocchatError
from docchat.store.collection import ADDED, LIVE, REMOVED, Collection
from docchat.types import CheckReport


def check_collection(coll: Collection) -> CheckReport:
    """Verify SQLite and the vector store agree (see the invariant in the module doc)."""
    problems: list[str] = []
    quick = coll.db.execute("PRAGMA quick_check").fetchone()[0]
    if quick != "ok":
        problems.append(f"SQLite integrity: {quick}")
    # FTS5 runs its check as an INSERT, which a collection opened read-only (on a full
    # disk) refuses although it writes nothing: there, the rest is checked.
    if coll.read_only_because is None:
        try:
            coll.db.execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES('integrity-check', 1)")
        except sqlite3.DatabaseError as e:
            problems.append(f"keyword index out of sync with chunks ({e}); run rebuild")
    states = dict(coll.db.execute("SELECT state, count(*) FROM chunks GROUP BY state"))
    n_visible = states.get(LIVE, 0) + states.get(ADDED, 0)
    no_vec = coll.db.execute(
        "SELECT count(*) FROM chunks WHERE text_hash NOT IN (SELECT text_hash FROM embeddings)"
    ).fetchone()[0]
    if no_vec:
        problems.append(f"{no_vec} chunks have no stored embedding")
    orphans = coll.db.execute(
        "SELECT count(*) FROM chunks WHERE state != ? AND document_id NOT IN "
        "(SELECT id FROM documents)",
        (REMOVED,),
    ).fetchone()[0]
    if orphans:
        problems.append(f"{orphans} chunks belong to no document")
    n_vectors = 0
    if coll.dimension is not None:
        if coll.vector_file_lost():
            problems.append(f"vector file missing: {coll.vectors_path}")
        else:
            try:
                ids = coll.vectors().ids()
            except DocchatError as e:  # an unreachable server, a missing Milvus collection
                problems.append(f"vector store: {e}")
                return CheckReport(coll.name, problems, n_visible, n_vectors)
            n_vectors = len(ids)
            held = set(ids.tolist())
            if len(held) != len(ids):
                problems.append("the vector store holds duplicate ids")
            live = {r[0] for r in coll.db.execute("SELECT id FROM chunks WHERE state=?", (LIVE,))}
            every = {r[0] for r in coll.db.execute("SELECT id FROM chunks")}
            if live - held:
                problems.append(f"{len(live - held)} chunks are missing from the vector store")
            if held - every:
                problems.append(f"{len(held - every)} vectors belong to no chunk")
    return CheckReport(coll.name, problems, n_visible, n_vectors)
