"""Ranking weights learned on half of a question set, checked on the other half and on BEIR.

    OMP_NUM_THREADS=2 python benchmarks/tune_ranking.py \\
        --questions benchmarks/data/devset/questions.jsonl --docs ~/.cache/docchat/devset \\
        --train odd --beir /work/shared/data/scifact --beir /work/shared/data/cranfield

Coordinate ascent over the [search] settings in GRID, starting from the shipped defaults:
each round tries every value of one setting with the others fixed and keeps the best by
MRR@10 (then hit@1) on the training half (the questions with odd, or even, numbers — as
benchmarks/devset_split.py); a setting changes only when that beats the current training
score. Prints each step with the training and held-out MRR@10, then the defaults and the
tuned settings on the training half, the held-out half, the whole set and each --beir set
(nDCG@10). A learned setting is worth shipping only if it also wins on the held-out half
and does not lower the BEIR sets. Uses the collections `docchat eval --keep` caches, as
ranking_ablation.py does; each query is embedded once.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from ranking_ablation import CachedQueries, run_beir

from docchat.config import SearchSettings, Settings
from docchat.errors import DocchatError
from docchat.evaluation import COLLECTION, eval_settings
from docchat.page_eval import (
    corpus_root,
    index_corpus,
    load_questions,
    mean_metrics,
    page_metrics,
    rank_pages,
    relative_path,
)
from docchat.page_eval import workspace as page_workspace
from docchat.retrieve.search import search
from docchat.service import Docchat

GRID: dict[str, list[Any]] = {
    "fusion": ["zscore", "minmax", "rrf"],
    "dense_weight": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
    "title_weight": [0.0, 0.15, 0.3, 0.45, 0.6, 0.9],
    "page_weight": [0.0, 0.3, 0.6, 0.8, 1.0, 1.5],
    "navigation_penalty": [0.0, 0.25, 0.5, 0.75, 1.0],
    "heading_weight": [0.0, 0.5, 1.0, 2.0, 4.0],
    "structure_candidates": [30, 50, 100, 200],
    "page_support": ["several", "apart", "mean", "disjoint"],
}


class QuestionSet:
    """The question set's collections, opened once; `metrics(settings)` per question."""

    def __init__(self, settings: Settings, questions: Path, docs: Path) -> None:
        qs = [q for q in load_questions(questions) if q.answerable]
        self.parts: list[tuple[Any, Any, Path, list[Any]]] = []
        self._spaces = []
        for corpus in sorted({q.corpus or "" for q in qs}):
            root = corpus_root(docs, corpus or None)
            space = page_workspace(root, settings, keep=True)
            folder = space.__enter__()
            self._spaces.append(space)
            service = Docchat(eval_settings(settings, folder))
            index_corpus(service, root, lambda m: print(m, file=sys.stderr))
            coll = service.open_collection(COLLECTION)
            mine = [q for q in qs if (q.corpus or "") == corpus]
            self.parts.append(
                (coll, CachedQueries(service.embedder_for(coll)), root.resolve(), mine)
            )

    def metrics(self, s: SearchSettings) -> dict[str, dict[str, float]]:
        out = {}
        for coll, emb, resolved, mine in self.parts:
            for q in mine:
                try:
                    hits = search(coll, emb, q.text, 30, "hybrid", s)
                except DocchatError:
                    hits = []
                ranked = rank_pages(q, ((relative_path(h.path, resolved), h.page) for h in hits))
                out[q.id] = page_metrics(ranked, q.relevant())
        return out

    def close(self) -> None:
        for coll, *_ in self.parts:
            coll.close()
        for space in self._spaces:
            space.__exit__(None, None, None)


def halves(ids: list[str], train: str) -> tuple[list[str], list[str]]:
    odd = [q for q in ids if (m := re.search(r"\d+$", q)) and int(m.group()) % 2]
    even = [q for q in ids if q not in set(odd)]
    return (odd, even) if train == "odd" else (even, odd)


def key(m: dict[str, float]) -> tuple[float, float]:
    return (round(m["mrr@10"], 6), round(m["hit@1"], 6))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=Path, required=True)
    ap.add_argument("--docs", type=Path, required=True)
    ap.add_argument("--train", choices=("odd", "even"), default="odd")
    ap.add_argument("--beir", type=Path, action="append", default=[])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    settings = Settings()
    qset = QuestionSet(settings, args.questions, args.docs)

    def evaluate(s: SearchSettings) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
        per = qset.metrics(s)
        train, held = halves(sorted(per), args.train)
        return (
            mean_metrics([per[q] for q in train]),
            mean_metrics([per[q] for q in held]),
            mean_metrics(list(per.values())),
        )

    start = current = settings.search
    first = best = evaluate(current)
    print(f"start: train MRR {best[0]['mrr@10']:.4f}, held-out {best[1]['mrr@10']:.4f}")
    for n in range(args.rounds):
        changed = False
        for name, values in GRID.items():
            tried = {v: evaluate(current.model_copy(update={name: v})) for v in values}
            print(
                f"[{n}] {name}: "
                + "  ".join(
                    f"{v}: {m[0]['mrr@10']:.4f}/{m[1]['mrr@10']:.4f}" for v, m in tried.items()
                ),
                flush=True,
            )
            pick = max(values, key=lambda v: (key(tried[v][0]), v == getattr(current, name)))
            if key(tried[pick][0]) > key(best[0]):
                current, best, changed = current.model_copy(update={name: pick}), tried[pick], True
                print(f"    -> {name} = {pick}", flush=True)
        if not changed:
            break
    qset.close()
    learned = {k: getattr(current, k) for k in GRID if getattr(current, k) != getattr(start, k)}
    print(f"\nlearned on the {args.train} half: {learned or 'nothing (the defaults)'}\n")
    print(
        "| settings | train hit@1 | train MRR@10 | held-out hit@1 | held-out MRR@10 | all MRR@10 |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for label, (tr, ho, al) in (("defaults", first), ("tuned", best)):
        print(
            f"| {label} | {tr['hit@1']:.4f} | {tr['mrr@10']:.4f} | {ho['hit@1']:.4f} | "
            f"{ho['mrr@10']:.4f} | {al['mrr@10']:.4f} |"
        )
    for folder in args.beir:
        res = run_beir(settings, folder, {"defaults": start, "tuned": current}, [])
        print(
            f"{folder.name} nDCG@10: defaults {res['defaults'][0]['ndcg@10']:.4f}, "
            f"tuned {res['tuned'][0]['ndcg@10']:.4f}"
        )


if __name__ == "__main__":
    main()
