"""The harness shared by the rerankers built from what ships (maxsim_rerank.py,
llm_rerank.py): each query is searched once with the shipped [search] defaults (k = 30 on a
question set, 300 on a BEIR set), then each variant re-orders the first N hits by
minmax(score) + w · minmax(its own score of each passage) over them (w = inf: its score
alone). Scored as `ranking_ablation.py`: by distinct page on the question set (with the
odd/even halves' MRR@10), by document on a BEIR set."""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from kept_sets import beir_set, question_corpora

from docchat.config import Settings
from docchat.evaluation import score
from docchat.page_eval import Question, mean_metrics, page_metrics, rank_pages, relative_path
from docchat.retrieve.search import search
from docchat.types import Hit

INF = float("inf")

# A variant's name and how it re-orders a query's hits (hits, query text) -> hits.
Variant = tuple[str, Callable[[list[Hit], str], list[Hit]]]
# A scorer: the query and the head's passages -> one score per passage (higher is better).
Scorer = Callable[[str, Sequence[str]], list[float]]


def minmax(values: Sequence[float]) -> list[float]:
    lo, hi = min(values), max(values)
    return [(v - lo) / (hi - lo) if hi > lo else 0.0 for v in values]


def passage(hit: Hit) -> str:
    """What a reranker reads of a hit: its heading path over its text."""
    return f"{hit.heading}\n{hit.text}" if hit.heading else hit.text


def rerank_head(hits: list[Hit], query: str, scorer: Scorer, n: int, w: float) -> list[Hit]:
    """The first `n` hits re-ordered by minmax(score) + w · minmax(scorer); the rest as
    they were."""
    head = hits[:n]
    if len(head) < 2:
        return hits
    theirs = minmax(scorer(query, [passage(h) for h in head]))
    base = minmax([h.score for h in head])
    combined = theirs if w == INF else [b + w * s for b, s in zip(base, theirs, strict=True)]
    order = sorted(range(len(head)), key=lambda i: -combined[i])
    return [head[i] for i in order] + hits[n:]


def names(variants: Sequence[Variant]) -> list[str]:
    return [name for name, _ in variants]


def by_page(q: Question, hits: list[Hit], root: Path) -> dict[str, float]:
    pages = rank_pages(q, ((relative_path(h.path, root), h.page) for h in hits))
    return page_metrics(pages, q.relevant())


def run_questions(
    settings: Settings, questions_file: Path, docs: Path, variants: Sequence[Variant]
) -> None:
    """A table of every variant (and the defaults) on a question set."""
    per: dict[str, list[dict[str, float]]] = {name: [] for name in ["defaults", *names(variants)]}
    for corpus in question_corpora(settings, questions_file, docs):
        for q in corpus.questions:
            hits = search(corpus.coll, corpus.embedder, q.text, 30, "hybrid", settings.search)
            per["defaults"].append(by_page(q, hits, corpus.root))
            for name, reorder in variants:
                per[name].append(by_page(q, reorder(hits, q.text), corpus.root))
    print(f"\n{questions_file.name} on {docs} ({len(per['defaults'])} questions)\n")
    print("| variant | hit@1 | hit@5 | MRR@10 | nDCG@10 | MRR@10 odd / even |")
    print("|---|---:|---:|---:|---:|---|")
    for name, rows in per.items():
        m = mean_metrics(rows)
        odd = statistics.mean(r["mrr@10"] for r in rows[0::2])
        even = statistics.mean(r["mrr@10"] for r in rows[1::2])
        print(
            f"| {name} | {m['hit@1']:.4f} | {m['hit@5']:.4f} | {m['mrr@10']:.4f} | "
            f"{m['ndcg@10']:.4f} | {odd:.4f} / {even:.4f} |"
        )
    sys.stdout.flush()


def run_beir(settings: Settings, folder: Path, variants: Sequence[Variant]) -> None:
    """A table of every variant (and the defaults) on a BEIR set's test queries."""
    runs: dict[str, dict[str, dict[str, float]]] = {
        name: {} for name in ["defaults", *names(variants)]
    }

    def documents(hits: list[Hit]) -> dict[str, float]:
        docs: dict[str, float] = {}
        for h in hits:
            docs.setdefault(Path(h.path).stem, float(300 - len(docs)))
        return docs

    for data in beir_set(settings, folder):
        for qid, text in data.queries.items():
            hits = search(data.coll, data.embedder, text, 300, "hybrid", settings.search)
            runs["defaults"][qid] = documents(hits)
            for name, reorder in variants:
                runs[name][qid] = documents(reorder(hits, text))
        print(f"\n{data.name} (test)\n")
        print("| variant | nDCG@10 | MRR@10 |")
        print("|---|---:|---:|")
        for name, run in runs.items():
            s = score(data.qrels, run)
            print(f"| {name} | {s['ndcg@10']:.4f} | {s['mrr@10']:.4f} |")
    sys.stdout.flush()


def run_sets(args: argparse.Namespace, variants: Sequence[Variant]) -> None:
    """Every variant on the sets the command line names (kept_sets.add_set_arguments)."""
    settings = Settings()
    if args.questions:
        run_questions(settings, args.questions, args.docs, variants)
    for folder in args.beir:
        run_beir(settings, folder, variants)
