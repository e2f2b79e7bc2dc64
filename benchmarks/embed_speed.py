"""Embedding speed on CPU: sentence-transformers (torch fp32, and bf16 weights) vs ONNX
Runtime fp32 (the query encoder) and dynamic int8 vs OpenVINO (fp32/bf16 arithmetic, and
int8 statically quantised with NNCF: embed.precision = "ov-int8"), on the same chunks in the
same run (rounds interleaved, so machine load hits all alike).

Reports chunks/s for batches of corpus passages, ms for a single query, and each path's mean
cosine to the torch vectors.

    python benchmarks/embed_speed.py /work/shared/data/scifact --texts 128 --rounds 3
        [--paths "torch fp32" "torch bf16" "openvino int8"]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from docchat.embed.base import Embedder


def load(name: str, model: str) -> Embedder:
    if name.startswith("torch"):
        from docchat.embed.sentence_transformers import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(model, device="cpu", precision=name.split()[1])
    if name.startswith("openvino"):
        from docchat.embed.openvino import OpenVinoEmbedder

        return OpenVinoEmbedder(model, {"openvino int8": "ov-int8"}.get(name, name.split()[1]))
    from docchat.embed.onnx import OnnxEmbedder

    return OnnxEmbedder(model, int8=name == "onnx int8")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", help="a BEIR folder")
    ap.add_argument("--model", default="all-MiniLM-L6-v2")
    ap.add_argument("--texts", type=int, default=128)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument(
        "--paths",
        nargs="+",
        default=["torch fp32", "torch bf16", "onnx fp32", "onnx int8", "openvino int8"],
        help="of: torch fp32|bf16, onnx fp32|int8, openvino fp32|bf16|int8",
    )
    args = ap.parse_args()
    folder = Path(args.folder)
    texts = []
    with (folder / "corpus.jsonl").open(encoding="utf-8") as f:
        for line, _ in zip(f, range(args.texts), strict=False):
            rec = json.loads(line)
            texts.append(f"{rec.get('title', '')}\n\n{rec['text']}")
    with (folder / "queries.jsonl").open(encoding="utf-8") as f:
        queries = [
            json.loads(line)["text"] for line, _ in zip(f, range(args.queries), strict=False)
        ]
    names = ["torch fp32", *(p for p in args.paths if p != "torch fp32")]  # the reference
    models = {n: load(n, args.model) for n in names}
    for m in models.values():
        m.embed(texts[:4])  # warm up
    rates: dict[str, list[float]] = {n: [] for n in names}
    query_ms: dict[str, list[float]] = {n: [] for n in names}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(args.rounds):
        for n, m in models.items():
            t0 = time.perf_counter()
            vectors[n] = m.embed(texts, args.batch)
            rates[n].append(len(texts) / (time.perf_counter() - t0))
            for q in queries:
                t0 = time.perf_counter()
                m.embed_query(q)
                query_ms[n].append((time.perf_counter() - t0) * 1000)
    ref = vectors["torch fp32"]
    print(
        f"# {len(texts)} passages (batch {args.batch}), {len(queries)} queries, "
        f"{args.rounds} rounds, median"
    )
    print(
        f"{'path':<12} {'chunks/s':>9} {'speed-up':>9} {'query p50 ms':>13} "
        f"{'cos to torch':>13} {'min cos':>8}"
    )
    base = statistics.median(rates["torch fp32"])
    for n in names:
        rate = statistics.median(rates[n])
        cos = np.sum(vectors[n] * ref, axis=1)
        print(
            f"{n:<12} {rate:>9.1f} {rate / base:>8.2f}x {statistics.median(query_ms[n]):>13.1f} "
            f"{float(np.mean(cos)):>13.4f} {float(np.min(cos)):>8.4f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
