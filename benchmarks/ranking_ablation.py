"""Each ranking signal of issue 14 on and off: a table per set.

    OMP_NUM_THREADS=1 python benchmarks/ranking_ablation.py \\
        --questions benchmarks/data/devset/questions.jsonl --docs ~/.cache/docchat/devset-subset \\
        --beir /work/shared/data/cranfield

Uses the collections `docchat eval --keep` caches (indexing one if missing), embeds each
query once, then runs `docchat.retrieve.search` with each variant of the [search] settings:
`off` (every issue-14 signal off: the ranking before it), each signal alone, and `all` (the
shipped defaults). A variant starts from `off`, which keeps the other settings' defaults
(`page_support` included: give it in `--variant` to compare page rules). Scores: by
distinct page on a question set (hit@1, MRR@10, nDCG@10, as `docchat eval --questions`),
by document on a BEIR set (nDCG@10, MRR@10, as `docchat eval`);
p50 is the search() time per query with the query vector cached (so it is the ranking cost,
not the embedding).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from kept_sets import add_set_arguments, beir_set, question_corpora

from docchat.config import SearchSettings, Settings
from docchat.errors import DocchatError
from docchat.evaluation import score
from docchat.page_eval import first_relevant, mean_metrics, page_metrics, rank_pages, relative_path
from docchat.retrieve.search import search

OFF: dict[str, Any] = {
    "title_weight": 0.0,
    "navigation_penalty": 0.0,
    "page_weight": 0.0,
    "heading_weight": 1.0,
    "phrase_fallback": False,
}


def variants(defaults: SearchSettings, extra: list[str]) -> dict[str, SearchSettings]:
    off = defaults.model_copy(update=OFF)
    rows: dict[str, dict[str, Any]] = {
        "off": {},
        "nav 0.25": {"navigation_penalty": 0.25},
        "nav 0.5": {"navigation_penalty": 0.5},
        "nav 1.0": {"navigation_penalty": 1.0},
        "heading 2": {"heading_weight": 2.0},
        "heading 4": {"heading_weight": 4.0},
        "page 0.3": {"page_weight": 0.3},
        "page 0.6": {"page_weight": 0.6},
        "phrase fallback": {"phrase_fallback": True},
        "title 0.3": {"title_weight": 0.3},
        "title 0.6": {"title_weight": 0.6},
    }
    out = {name: off.model_copy(update=upd) for name, upd in rows.items()}
    for spec in extra:  # name=key:value,key:value
        name, _, body = spec.partition("=")
        upd = {}
        for pair in body.split(","):
            key, _, value = pair.partition(":")
            upd[key] = (
                type(getattr(off, key))(value)
                if value not in ("true", "false")
                else (value == "true")
            )
        out[name] = off.model_copy(update=upd)
    out["all (defaults)"] = defaults
    return out


class CachedQueries:
    """Embeds each query once (the variants differ only after retrieval)."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder
        self.memo: dict[str, np.ndarray] = {}

    def embed_query(self, text: str) -> np.ndarray:
        if text not in self.memo:
            self.memo[text] = self.embedder.embed_query(text)
        return self.memo[text]


def timed(fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    try:
        out = fn(*args)
    except DocchatError:
        out = []
    return out, (time.perf_counter() - start) * 1000


def run_questions(
    settings: Settings,
    questions_file: Path,
    docs: Path,
    chosen: dict[str, SearchSettings],
    details: list[dict[str, Any]],
) -> dict[str, tuple[dict[str, float], float]]:
    per: dict[str, list[dict[str, float]]] = {name: [] for name in chosen}
    ms: dict[str, list[float]] = {name: [] for name in chosen}
    for corpus in question_corpora(settings, questions_file, docs):
        emb: Any = CachedQueries(corpus.embedder)
        for q in corpus.questions:
            emb.embed_query(q.text)
        for name, s in chosen.items():
            for q in corpus.questions:
                hits, t = timed(search, corpus.coll, emb, q.text, 30, "hybrid", s)
                ranked = rank_pages(q, ((relative_path(h.path, corpus.root), h.page) for h in hits))
                per[name].append(page_metrics(ranked, q.relevant()))
                first = first_relevant(ranked, q.relevant())
                details.append({"variant": name, "id": q.id, "first": first, "top": ranked[:5]})
                ms[name].append(t)
    return {n: (mean_metrics(per[n]), statistics.median(ms[n])) for n in chosen}


def run_beir(
    settings: Settings,
    folder: Path,
    chosen: dict[str, SearchSettings],
    details: list[dict[str, Any]],
) -> dict[str, tuple[dict[str, float], float]]:
    out: dict[str, tuple[dict[str, float], float]] = {}
    for data in beir_set(settings, folder):
        emb: Any = CachedQueries(data.embedder)
        for text in data.queries.values():
            emb.embed_query(text)
        for name, s in chosen.items():
            run: dict[str, dict[str, float]] = {}
            ms: list[float] = []
            for qid, text in data.queries.items():
                hits, t = timed(search, data.coll, emb, text, 300, "hybrid", s)
                ms.append(t)
                docs: dict[str, float] = {}
                for h in hits:
                    doc = Path(h.path).stem
                    if doc not in docs:
                        docs[doc] = float(300 - len(docs))
                run[qid] = docs
                details.append(
                    {"set": data.name, "variant": name, "id": qid, "top": list(docs)[:10]}
                )
            out[name] = (score(data.qrels, run), statistics.median(ms))
    return out


def table(
    title: str, results: dict[str, tuple[dict[str, float], float]], keys: Sequence[str]
) -> None:
    print(f"\n{title}\n")
    print("| variant | " + " | ".join(keys) + " | p50 ms |")
    print("|---|" + "---:|" * (len(keys) + 1))
    for name, (m, p50) in results.items():
        print(f"| {name} | " + " | ".join(f"{m[k]:.4f}" for k in keys) + f" | {p50:.1f} |")
    sys.stdout.flush()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_set_arguments(ap)
    ap.add_argument("--only", action="append", default=[], help="variant names to run")
    ap.add_argument("--variant", action="append", default=[], help="name=key:value,...")
    ap.add_argument(
        "--details",
        type=Path,
        help="JSONL: per variant, each question's first relevant rank and top pages; each "
        "BEIR query's top 10 documents",
    )
    args = ap.parse_args()
    settings = Settings()
    chosen = variants(settings.search, args.variant)
    if args.only:
        chosen = {n: s for n, s in chosen.items() if n in args.only}
    details: list[dict[str, Any]] = []
    if args.questions:
        res = run_questions(settings, args.questions, args.docs, chosen, details)
        table(f"{args.questions.name} on {args.docs}", res, ("hit@1", "hit@5", "mrr@10", "ndcg@10"))
    for folder in args.beir:
        res = run_beir(settings, folder, chosen, details)
        table(f"{folder.name} (test)", res, ("ndcg@10", "mrr@10", "recall@100"))
    if args.details:
        with args.details.open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(d) + "\n" for d in details)


if __name__ == "__main__":
    main()
