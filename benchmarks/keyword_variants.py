"""FTS5 tokenizer and query-construction variants, keyword retrieval only.

Copies the chunk texts of a kept eval collection (`docchat eval ... --keep`) into in-memory
FTS5 tables with different tokenizers and runs the real query builder against each:

    python benchmarks/keyword_variants.py /work/shared/data/scifact
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import time
from pathlib import Path

from docchat.config import load_settings
from docchat.evaluation import (
    COLLECTION,
    eval_settings,
    load_qrels,
    load_queries,
    resolve_set,
    score,
    workspace,
)
from docchat.retrieve.keyword import fts_query
from docchat.service import Docchat
from docchat.types import Restriction

TOKENIZERS = ("porter unicode61", "unicode61", "porter unicode61 remove_diacritics 2")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--queries")
    ap.add_argument("--qrels")
    args = ap.parse_args()
    settings = load_settings()
    data = resolve_set(args.folder, None, args.queries, args.qrels)
    qrels = load_qrels(data.qrels)
    queries = load_queries(data.queries, set(qrels))
    qrels = {q: r for q, r in qrels.items() if q in queries}
    with workspace(data, settings, keep=True) as folder:
        coll = Docchat(eval_settings(settings, folder)).open_collection(COLLECTION)
        chunks = coll.chunks(coll.chunk_ids(Restriction()).tolist())
        rows = [(cid, r.text, r.heading, r.path) for cid, r in chunks.items()]
    doc_of = {cid: Path(path).stem for cid, _, _, path in rows}
    head = f"{'nDCG@10':>8} {'R@100':>7} {'MRR@10':>7} {'p50 ms':>7}"
    print(f"{'tokenizer':<38} {'stopwords':<9} {head}")
    for tokenizer in TOKENIZERS:
        db = sqlite3.connect(":memory:")
        db.execute(f"CREATE VIRTUAL TABLE t USING fts5(text, heading, tokenize='{tokenizer}')")
        db.executemany("INSERT INTO t(rowid, text, heading) VALUES (?,?,?)", [r[:3] for r in rows])
        for drop in (True, False):
            run: dict[str, dict[str, float]] = {}
            times = []
            for qid, text in queries.items():
                t0 = time.perf_counter()
                hits = db.execute(
                    "SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT 300",
                    (fts_query(text, drop),),
                ).fetchall()
                times.append((time.perf_counter() - t0) * 1000)
                docs: dict[str, float] = {}
                for (cid,) in hits:
                    if doc_of[cid] not in docs:
                        docs[doc_of[cid]] = 1000.0 - len(docs)
                run[qid] = dict(list(docs.items())[:100])
            m = score(qrels, run)
            print(
                f"{tokenizer:<38} {'dropped' if drop else 'kept':<9} {m['ndcg@10']:>8.4f} "
                f"{m['recall@100']:>7.4f} {m['mrr@10']:>7.4f} {statistics.median(times):>7.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
