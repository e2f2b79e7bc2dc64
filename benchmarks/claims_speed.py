"""Claim checking (docchat/claims): what it costs per answer, and where its threshold sits.

Latency (the default): answers of about 200 words checked against 6 sources (SciFact
abstracts, ~200 words each) with the configured embedder (all-MiniLM-L6-v2). Each answer
has 10 sentences: 6 taken from the sources (half copied, half with words dropped and the
citation number shifted) and 4 made up. Reported per answer, p50/p95 over --runs answers:

  one go                the whole check of a finished answer, nothing done beforehand;
  prepare               of which: splitting and embedding the sources' sentences;
  after the last token  as `ask` runs it (the `verify_ms` of `ask --json`): the sources and
                        each finished claim are embedded in a worker thread while the answer
                        streams in (--rate words/s), so this is the last claim and scoring.

--calibrate: the SciFact test claims (real claims, with the abstracts that support or
refute them) against 6 offered abstracts each — the relevant one(s) plus the abstracts
that share most words with the claim, as a retriever would offer them. Per threshold:
precision and recall of "supported" against "this abstract is the claim's own". A refuting
abstract counts as relevant in BEIR's qrels, so precision is a lower bound.

    python benchmarks/claims_speed.py [--runs 20] [--calibrate --claims 150]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docchat.claims.split import source_sentences  # noqa: E402
from docchat.claims.support import prepare, score  # noqa: E402
from docchat.claims.verify import Check  # noqa: E402
from docchat.config import load_settings  # noqa: E402
from docchat.embed.registry import create_embedder  # noqa: E402
from docchat.types import Source  # noqa: E402

MADE_UP = [
    "The treatment was approved by the regulator in 1987 after a single trial.",
    "Most patients reported no side effects at all during the first week.",
    "Researchers in Norway later found the opposite effect in mice.",
    "This result has since been replicated in more than forty countries.",
    "The protein is mainly found in the liver of adult sheep.",
    "Funding for the project came from a private foundation in Geneva.",
]


def corpus(data: Path) -> dict[str, str]:
    out = {}
    with (data / "scifact" / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            out[rec["_id"]] = f"{rec.get('title', '')}. {rec['text']}".strip()
    return out


def as_sources(texts: list[str]) -> list[Source]:
    return [Source(n, f"doc{n}.txt", None, 1, 10, 1.0, t) for n, t in enumerate(texts, 1)]


def an_answer(rng: random.Random, sources: list[Source]) -> str:
    parts = []
    for s in sources:
        sents = [x for x in source_sentences(s.text) if len(x.split()) > 8] or [s.text]
        sent = rng.choice(sents).rstrip(".")
        if rng.random() < 0.5:
            words = sent.split()
            sent = " ".join(w for i, w in enumerate(words) if i % 7 != 3)
            n = s.n % len(sources) + 1
        else:
            n = s.n
        parts.append(f"{sent} [{n}].")
    parts += [f"{m[:-1]} [{rng.randint(1, 6)}]." for m in rng.sample(MADE_UP, 4)]
    rng.shuffle(parts)
    return " ".join(parts)


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def latency(embedder: object, docs: dict[str, str], runs: int, rate: float) -> None:
    rng = random.Random(7)
    ids = sorted(docs)
    rows: dict[str, list[float]] = {"one go": [], "prepare": [], "after the last token": []}
    words, claims = [], []
    warm = Check(embedder, "q", as_sources([docs[ids[0]]]), background=False)  # type: ignore[arg-type]
    warm("Warm up the model.")
    for _ in range(runs):
        sources = as_sources([docs[i] for i in rng.sample(ids, 6)])
        answer = an_answer(rng, sources)
        words.append(len(answer.split()))
        # Everything after the answer, nothing in the background.
        t0 = time.perf_counter()
        check = Check(embedder, "q", sources, background=False)  # type: ignore[arg-type]
        t1 = time.perf_counter()
        verified = check(answer)
        t2 = time.perf_counter()
        claims.append(len(verified.claims))
        rows["one go"].append((t2 - t0) * 1000)
        rows["prepare"].append((t1 - t0) * 1000)
        # As in `ask`: the sources and each finished claim are embedded while the answer
        # streams in at `rate` words per second; then the check is finished.
        streamed = Check(embedder, "q", sources)  # type: ignore[arg-type]
        for piece in re.findall(r"\s*\S+", answer):
            streamed.feed(piece)
            time.sleep(1 / rate)
        t3 = time.perf_counter()
        streamed(answer, False)
        rows["after the last token"].append((time.perf_counter() - t3) * 1000)
    print(
        f"{runs} answers, {statistics.median(words):.0f} words and "
        f"{statistics.median(claims):.0f} claims (median), 6 sources of "
        f"~{statistics.median(len(s.text.split()) for s in sources):.0f} words; "
        f"streamed at {rate:.0f} words/s\n"
    )
    print("| step | p50 ms | p95 ms |")
    print("|---|---|---|")
    for name, ms in rows.items():
        print(f"| {name} | {pct(ms, 50):.1f} | {pct(ms, 95):.1f} |")


def calibrate(embedder: object, data: Path, docs: dict[str, str], n_claims: int) -> None:
    qrels: dict[str, set[str]] = {}
    with (data / "scifact" / "qrels" / "test.tsv").open(encoding="utf-8") as f:
        next(f)
        for line in f:
            q, d, _ = line.split("\t")
            qrels.setdefault(q, set()).add(d)
    claims_text = {}
    with (data / "scifact" / "queries.jsonl").open(encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec["_id"] in qrels:
                claims_text[rec["_id"]] = rec["text"]
    rng = random.Random(3)
    chosen = rng.sample(sorted(claims_text), min(n_claims, len(claims_text)))
    words = {d: set(t.lower().split()) for d, t in docs.items()}
    scored: list[tuple[float, bool]] = []
    for q in chosen:
        claim = claims_text[q]
        mine = set(claim.lower().split())
        relevant = [d for d in qrels[q] if d in docs][:2]
        pool = rng.sample(sorted(docs), 600)
        near = sorted((d for d in pool if d not in qrels[q]), key=lambda d: -len(mine & words[d]))[
            : 6 - len(relevant)
        ]
        ids = relevant + near
        evidence = prepare(embedder, as_sources([docs[d] for d in ids]))  # type: ignore[arg-type]
        vec = embedder.embed([claim])[0]  # type: ignore[attr-defined]
        for ev, d in zip(evidence, ids, strict=True):
            s, _ = score(claim, vec, ev)
            scored.append((s, d in qrels[q]))
    positives = sum(rel for _, rel in scored)
    print(
        f"{len(chosen)} SciFact claims, {len(scored)} (claim, abstract) pairs, "
        f"{positives} relevant\n"
    )
    print("| threshold | precision | recall | F1 |")
    print("|---|---|---|---|")
    for t in [x / 100 for x in range(30, 81, 5)]:
        tp = sum(1 for s, rel in scored if s >= t and rel)
        fp = sum(1 for s, rel in scored if s >= t and not rel)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / positives if positives else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        print(f"| {t:.2f} | {p:.2f} | {r:.2f} | {f1:.2f} |")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--rate", type=float, default=40.0, help="words/s of the streamed answer")
    ap.add_argument("--calibrate", action="store_true")
    ap.add_argument("--claims", type=int, default=150)
    args = ap.parse_args()
    settings = load_settings()
    from docchat.service import load_plugins

    load_plugins(settings.plugins)
    embedder = create_embedder(settings.embed)
    docs = corpus(Path(args.data))
    print(f"embedder: {embedder.name}\n")
    if args.calibrate:
        calibrate(embedder, Path(args.data), docs, args.claims)
    else:
        latency(embedder, docs, args.runs, args.rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
