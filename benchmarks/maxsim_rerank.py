"""A reranker built from what ships (issue 14 item 3): late-interaction MaxSim over
all-MiniLM-L6-v2's token vectors, on the head of the default ranking. Tables, not a test.

    python benchmarks/maxsim_rerank.py \\
        --questions benchmarks/data/devset/questions.jsonl --docs ~/.cache/docchat/devset \\
        --beir /work/shared/data/scifact --beir /work/shared/data/cranfield

Uses the collections `docchat eval --keep` caches (indexing one if missing) and the
harness of head_rerank.py. For the first N hits of the default ranking, MaxSim(query,
passage) = the mean over the query's tokens of the best cosine with any of the passage's
tokens (ColBERT's score, here with a model not trained for it), token vectors being the last
hidden state of the query encoder's own ONNX fp32 graph, without [CLS]/[SEP] — and, in the
"-stop" rows, without the query's stopword and punctuation tokens (the keyword search's
list, retrieve/terms.py). The head is re-ordered by minmax(score) + w · minmax(MaxSim) over
it (w = inf: MaxSim alone). The last line is the encoder's time per passage, what a query
would pay N times.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import numpy as np
from head_rerank import INF, Scorer, Variant, rerank_head, run_sets
from kept_sets import add_set_arguments

from docchat.embed.local_model import model_inputs
from docchat.embed.onnx import OnnxEmbedder
from docchat.retrieve.terms import STOPWORDS
from docchat.types import Hit


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

    def maxsim(self, drop_stop: bool) -> Scorer:
        def scores(query: str, passages: Sequence[str]) -> list[float]:
            q = self.of([query], drop_stop)[0]
            return [float((q @ p.T).max(axis=1).mean()) for p in self.of(passages)]

        return scores


def variants(tokens: TokenVectors) -> list[Variant]:
    """N in {5, 10, 20} x w in {0.1, 0.2, 0.3, 0.5, 1, MaxSim alone} x stopwords kept/dropped."""
    out: list[Variant] = []
    for n in (5, 10, 20):
        for w in (0.1, 0.2, 0.3, 0.5, 1.0, INF):
            for stop in (False, True):
                name = f"N={n} w={'MaxSim only' if w == INF else w}{' -stop' if stop else ''}"
                scorer = tokens.maxsim(stop)

                def reorder(
                    hits: list[Hit], q: str, n: int = n, w: float = w, s: Scorer = scorer
                ) -> list[Hit]:
                    return rerank_head(hits, q, s, n, w)

                out.append((name, reorder))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_set_arguments(ap)
    args = ap.parse_args()
    tokens = TokenVectors()
    run_sets(args, variants(tokens))
    per = tokens.seconds / max(tokens.encoded, 1) * 1000
    print(f"\ntoken vectors: {tokens.encoded} texts in {tokens.seconds:.1f} s ({per:.1f} ms each)")


if __name__ == "__main__":
    main()
