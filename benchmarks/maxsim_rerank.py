"""A reranker built from what ships (issue 14 item 3): late-interaction MaxSim over
all-MiniLM-L6-v2's token vectors, on the head of the default ranking. Tables, not a test.

    python benchmarks/maxsim_rerank.py \\
        --questions benchmarks/data/devset/questions.jsonl --docs ~/.cache/docchat/devset \\
        --beir /work/shared/data/scifact --beir /work/shared/data/cranfield

Uses the collections `docchat eval --keep` caches (indexing one if missing). Each query is
searched once with the shipped [search] defaults (k = 30 on the question set, 300 on a BEIR
set); then for the first N hits, MaxSim(query, passage) = the mean over the query's tokens
of the best cosine with any of the passage's tokens (ColBERT's score, here with a model not
trained for it), token vectors being the last hidden state of the query encoder's own ONNX
fp32 graph, without [CLS]/[SEP] — and, in the "-stop" rows, without the query's stopword
and punctuation tokens (the keyword search's list, retrieve/terms.py). The head is
re-ordered by minmax(score) + w · minmax(MaxSim) over it (w = inf: MaxSim alone). Scores as
`ranking_ablation.py`: by distinct page on the question set (with the odd/even halves'
MRR@10), by document on BEIR. The last line is the encoder's time per passage, what a
query would pay N times.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from kept_sets import add_set_arguments, beir_set, question_corpora

from docchat.config import Settings
from docchat.embed.local_model import model_inputs
from docchat.embed.onnx import OnnxEmbedder
from docchat.evaluation import score
from docchat.page_eval import Question, mean_metrics, page_metrics, rank_pages, relative_path
from docchat.retrieve.search import search
from docchat.retrieve.terms import STOPWORDS
from docchat.types import Hit

INF = float("inf")
# (head size N, weight w, drop the query's stopwords)
GRID = [
    (n, w, stop)
    for n in (5, 10, 20)
    for w in (0.1, 0.2, 0.3, 0.5, 1.0, INF)
    for stop in (False, True)
]


def label(variant: object) -> str:
    if not isinstance(variant, tuple):
        return str(variant)
    n, w, stop = variant
    return f"N={n} w={'MaxSim only' if w == INF else w}{' -stop' if stop else ''}"


class TokenVectors:
    """Unit token vectors of texts, cached (a passage is in many queries' heads)."""

    def __init__(self) -> None:
        self.encoder = OnnxEmbedder("all-MiniLM-L6-v2", int8=False)
        self.cache: dict[tuple[str, bool], np.ndarray] = {}
        self.seconds = 0.0
        self.encoded = 0

    def of(self, texts: Sequence[str], drop_stop: bool = False) -> list[np.ndarray]:
        todo = [t for t in dict.fromkeys(texts) if (t, drop_stop) not in self.cache]
        started = time.perf_counter()
        tokenizer = self.encoder._encoder
        for i in range(0, len(todo), 16):
            part = todo[i : i + 16]
            feeds, mask = model_inputs(tokenizer, part, self.encoder.inputs)
            hidden = self.encoder.session.run(["last_hidden_state"], feeds)[0]
            encodings = tokenizer.encode_batch(part)
            for j, text in enumerate(part):
                inner = list(range(1, int(mask[j].sum()) - 1))  # no [CLS] / [SEP]
                keep = inner
                if drop_stop:
                    tokens = encodings[j].tokens
                    words = [k for k in inner if tokens[k].isalnum() and tokens[k] not in STOPWORDS]
                    keep = words or inner
                v = hidden[j, keep]
                self.cache[(text, drop_stop)] = v / np.linalg.norm(v, axis=1, keepdims=True)
        self.seconds += time.perf_counter() - started
        self.encoded += len(todo)
        return [self.cache[(t, drop_stop)] for t in texts]


def minmax(values: list[float]) -> list[float]:
    lo, hi = min(values), max(values)
    return [(v - lo) / (hi - lo) if hi > lo else 0.0 for v in values]


def rerank(hits: list[Hit], query: np.ndarray, tokens: TokenVectors, n: int, w: float) -> list[Hit]:
    head = hits[:n]
    if len(head) < 2:
        return hits
    passages = tokens.of([f"{h.heading}\n{h.text}" if h.heading else h.text for h in head])
    late = minmax([float((query @ p.T).max(axis=1).mean()) for p in passages])
    base = minmax([h.score for h in head])
    combined = late if w == INF else [b + w * m for b, m in zip(base, late, strict=True)]
    order = sorted(range(len(head)), key=lambda i: -combined[i])
    return [head[i] for i in order] + hits[n:]


def by_page(q: Question, hits: list[Hit], root: Path) -> dict[str, float]:
    pages = rank_pages(q, ((relative_path(h.path, root), h.page) for h in hits))
    return page_metrics(pages, q.relevant())


def run_questions(
    settings: Settings, questions_file: Path, docs: Path, tokens: TokenVectors
) -> None:
    per: dict[object, list[dict[str, float]]] = {"defaults": []} | {g: [] for g in GRID}
    for corpus in question_corpora(settings, questions_file, docs):
        for q in corpus.questions:
            hits = search(corpus.coll, corpus.embedder, q.text, 30, "hybrid", settings.search)
            per["defaults"].append(by_page(q, hits, corpus.root))
            for g in GRID:
                n, w, stop = g
                ranked = rerank(hits, tokens.of([q.text], stop)[0], tokens, n, w)
                per[g].append(by_page(q, ranked, corpus.root))
    print(f"\n{questions_file.name} on {docs} ({len(per['defaults'])} questions)\n")
    print("| variant | hit@1 | hit@5 | MRR@10 | nDCG@10 | MRR@10 odd / even |")
    print("|---|---:|---:|---:|---:|---|")
    for variant, rows in per.items():
        m = mean_metrics(rows)
        odd = statistics.mean(r["mrr@10"] for r in rows[0::2])
        even = statistics.mean(r["mrr@10"] for r in rows[1::2])
        print(
            f"| {label(variant)} | {m['hit@1']:.4f} | {m['hit@5']:.4f} | {m['mrr@10']:.4f} | "
            f"{m['ndcg@10']:.4f} | {odd:.4f} / {even:.4f} |"
        )
    sys.stdout.flush()


def run_beir(settings: Settings, folder: Path, tokens: TokenVectors) -> None:
    runs: dict[object, dict[str, dict[str, float]]] = {"defaults": {}} | {g: {} for g in GRID}

    def documents(hits: list[Hit]) -> dict[str, float]:
        docs: dict[str, float] = {}
        for h in hits:
            docs.setdefault(Path(h.path).stem, float(300 - len(docs)))
        return docs

    for data in beir_set(settings, folder):
        for qid, text in data.queries.items():
            hits = search(data.coll, data.embedder, text, 300, "hybrid", settings.search)
            runs["defaults"][qid] = documents(hits)
            for g in GRID:
                n, w, stop = g
                runs[g][qid] = documents(rerank(hits, tokens.of([text], stop)[0], tokens, n, w))
        print(f"\n{data.name} (test)\n")
        print("| variant | nDCG@10 | MRR@10 |")
        print("|---|---:|---:|")
        for variant, run in runs.items():
            s = score(data.qrels, run)
            print(f"| {label(variant)} | {s['ndcg@10']:.4f} | {s['mrr@10']:.4f} |")
    sys.stdout.flush()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_set_arguments(ap)
    args = ap.parse_args()
    settings = Settings()
    tokens = TokenVectors()
    if args.questions:
        run_questions(settings, args.questions, args.docs, tokens)
    for folder in args.beir:
        run_beir(settings, folder, tokens)
    per = tokens.seconds / max(tokens.encoded, 1) * 1000
    print(f"\ntoken vectors: {tokens.encoded} texts in {tokens.seconds:.1f} s ({per:.1f} ms each)")


if __name__ == "__main__":
    main()
