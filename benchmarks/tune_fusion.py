"""Grid over fusion settings on a kept eval collection (run `docchat eval ... --keep` first).

Each query's dense and keyword candidate lists are computed once, deep, with the real
retrievers; every fusion setting is then applied with the real `fuse` to prefixes of those
lists, mapped to documents (best chunk per document) and scored with ranx. Tune on a train
split, report on test with `docchat eval`.

    python benchmarks/tune_fusion.py /work/shared/data/scifact \
        --queries /work/shared/data/scifact/extra/queries_train.jsonl \
        --qrels /work/shared/data/scifact/extra/qrels_train.tsv
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

from docchat.config import load_settings
from docchat.evaluation import (
    COLLECTION,
    EvalSet,
    eval_settings,
    load_qrels,
    load_queries,
    resolve_set,
    score,
    workspace,
)
from docchat.retrieve.dense import dense_search
from docchat.retrieve.fusion import fuse
from docchat.retrieve.keyword import keyword_search
from docchat.service import Docchat
from docchat.types import Restriction

DEEP = 1000


def doc_run(ranked: list[tuple[int, float]], doc_of: dict[int, str]) -> dict[str, float]:
    docs: dict[str, float] = {}
    for cid, _ in ranked:
        doc = doc_of.get(cid)
        if doc is not None and doc not in docs:
            docs[doc] = float(1000 - len(docs))
            if len(docs) == 100:
                break
    return docs


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--queries")
    ap.add_argument("--qrels")
    ap.add_argument("--chunk-tokens", type=int)
    ap.add_argument("--chunk-overlap", type=int)
    args = ap.parse_args()
    over: dict[str, dict[str, int]] = {"index": {}}
    if args.chunk_tokens:
        over["index"]["chunk_tokens"] = args.chunk_tokens
    if args.chunk_overlap is not None:
        over["index"]["chunk_overlap"] = args.chunk_overlap
    settings = load_settings(overrides=over)
    data: EvalSet = resolve_set(args.folder, None, args.queries, args.qrels)
    qrels = load_qrels(data.qrels)
    queries = load_queries(data.queries, set(qrels))
    qrels = {q: r for q, r in qrels.items() if q in queries}
    with workspace(data, settings, keep=True) as folder:
        if not (folder / "data").exists():
            sys.exit(f"no kept collection in {folder}: run docchat eval --keep first")
        service = Docchat(eval_settings(settings, folder))
        coll = service.open_collection(COLLECTION)
        embedder = service.embedder_for(coll)
        assert embedder is not None
        chunks = coll.chunks(coll.chunk_ids(Restriction()).tolist())
        doc_of = {cid: Path(row.path).stem for cid, row in chunks.items()}
        where = Restriction()
        t0 = time.perf_counter()
        dense, kw, kw_all = {}, {}, {}
        for qid, text in queries.items():
            dense[qid] = dense_search(coll, embedder.embed_query(text), DEEP)
            kw[qid] = keyword_search(coll, text, DEEP, where, drop_stopwords=True)
            kw_all[qid] = keyword_search(coll, text, DEEP, where, drop_stopwords=False)
        print(f"# {len(queries)} queries, candidate lists in {time.perf_counter() - t0:.0f} s")

    def evaluate(fn: object) -> dict[str, float]:
        run = {q: doc_run(fn(q), doc_of) for q in queries}  # type: ignore[operator]
        return score(qrels, run)

    rows: list[tuple[str, dict[str, float]]] = []
    rows.append(("dense", evaluate(lambda q: dense[q][:100])))
    rows.append(("keyword stopwords dropped", evaluate(lambda q: kw[q][:100])))
    rows.append(("keyword all terms", evaluate(lambda q: kw_all[q][:100])))
    for method, cands in itertools.product(("rrf", "minmax", "zscore"), (20, 50, 100, 200, 300)):
        for w in (0.3, 0.4, 0.5, 0.6, 0.7):
            for rrf_k in (10, 60) if method == "rrf" else (60,):

                def fused(
                    q: str, m: str = method, c: int = cands, w: float = w, k: int = rrf_k
                ) -> list[tuple[int, float]]:
                    lists = {"dense": dense[q][:c], "keyword": kw[q][:c]}
                    return fuse(lists, m, w, k)

                name = f"{method} cands={cands} w_dense={w}" + (
                    f" k={rrf_k}" if method == "rrf" else ""
                )
                rows.append((name, evaluate(fused)))
    print(f"{'setting':<40} {'nDCG@10':>8} {'R@100':>7} {'MRR@10':>7}")
    for name, m in rows:
        print(f"{name:<40} {m['ndcg@10']:>8.4f} {m['recall@100']:>7.4f} {m['mrr@10']:>7.4f}")
    best = max(rows[3:], key=lambda r: r[1]["ndcg@10"])
    print(f"# best: {best[0]} nDCG@10={best[1]['ndcg@10']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
