"""Calibrate `generate.abstain_below`: the dense cosine under which docchat says "the documents
don't cover that" instead of asking the model.

For each BEIR set in shared/data (SciFact: biomedical claims; Cranfield: aerodynamics), the
corpus is chunked and embedded the way `docchat index` does it (same chunker, same default
embedder, 256-token chunks), and for every query the top-1 cosine over all chunks is taken.
Query sets:
  real      the set's own test queries (all have relevant documents in the corpus)
  asked     the same, phrased as a user would ask: "What do the documents say about ...?"
  other     the other set's test queries (technical, but about another field)
  offtopic  everyday questions unrelated to either corpus (OFF_TOPIC below)
It prints score percentiles per set and a threshold sweep: how many real questions would be
wrongly refused vs how many unrelated ones correctly refused. The pick is the highest
threshold (on a 0.025 grid) that refuses none of the real or asked queries: wrongly refusing
a question the documents answer is worse than passing an unrelated one to the model, which
is told to say so itself, and the grid step leaves a margin below the lowest real score.

    python benchmarks/calibrate_abstention.py [--data /work/shared/data] [--model NAME]

Embeddings are cached in benchmarks/.work/ (numpy .npy files).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OFF_TOPIC = [
    "What's a good recipe for banana bread?",
    "How long should I boil an egg for a soft yolk?",
    "Who won the football World Cup in 2018?",
    "How do I change a flat tyre on my bike?",
    "What is the capital of Australia?",
    "How do I reset my home router password?",
    "What are the best things to see in Rome in two days?",
    "How do I make a pivot table in Excel?",
    "What time does the supermarket close on Sundays?",
    "Can you recommend a good science fiction novel?",
    "How much does a flight from London to New York cost?",
    "What is the plot of the movie Casablanca?",
    "How do I get red wine out of a carpet?",
    "Who painted the Mona Lisa?",
    "What's the difference between a latte and a cappuccino?",
    "How do I write a for loop in JavaScript?",
    "When is the best time to plant tulip bulbs?",
    "How many players are on a basketball team?",
    "What should I pack for a beach holiday?",
    "How do I negotiate a higher salary?",
    "What is the rule for the offside position in soccer?",
    "How do I tie a bow tie?",
    "What year did the Berlin Wall fall?",
    "Which smartphone has the best camera this year?",
    "How do I knit a scarf for beginners?",
    "What are the lyrics of Bohemian Rhapsody?",
    "How do I file my income tax return?",
    "What's the best way to learn to play the guitar?",
    "Where can I watch the new season of my favourite TV show?",
    "How do I train my dog to sit?",
    "What is the exchange rate between euros and dollars?",
    "How do I clean the inside of my oven?",
    "Who is the lead singer of Coldplay?",
    "What are the rules of chess castling?",
    "How do I set up a Python virtual environment?",
    "What is a good name for a pet cat?",
    "How do I fold a fitted sheet?",
    "Which wine goes well with salmon?",
    "How do I replace a light switch?",
    "What are fun things to do with kids on a rainy day?",
    "How do I improve my credit score?",
    "What is the tallest building in the world?",
    "How do I bake sourdough bread at home?",
    "Where is the nearest train station to the city centre?",
    "How many calories are in a slice of pizza?",
    "What board games are good for a party?",
    "How do I unblock a kitchen sink?",
    "What is the history of the Roman Colosseum?",
    "How do I make cold brew coffee?",
    "What are the opening hours of the Louvre museum?",
    "Can you summarise the rules of cricket?",
    "How do I paint a room without streaks?",
    "What's the best route for a road trip along the coast of California?",
    "How do I cancel my gym membership?",
    "What is the difference between a violin and a viola?",
    "How do I grow tomatoes on a balcony?",
    "Which programming language should I learn first?",
    "How do I prepare for a job interview?",
    "What is the meaning of the word serendipity?",
    "How do I defrost a freezer quickly?",
]
SETS = ("scifact", "cranfield")


def load_jsonl(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def test_queries(folder: Path) -> list[str]:
    qrels = (folder / "qrels/test.tsv").read_text(encoding="utf-8").splitlines()[1:]
    judged = {line.split("\t")[0] for line in qrels}
    return [q["text"] for q in load_jsonl(folder / "queries.jsonl") if q["_id"] in judged]


def asked(query: str) -> str:
    body = query.strip().rstrip(" .?")
    return f"What do the documents say about {body[:1].lower() + body[1:]}?"


def corpus_vectors(embedder: object, folder: Path, cache: Path) -> np.ndarray:
    """Chunk vectors of a corpus, chunked and embedded as `docchat index` would."""
    from docchat.config import IndexSettings
    from docchat.embed.base import Embedder
    from docchat.ingest.chunking import chunk_page
    from docchat.types import Page

    assert isinstance(embedder, Embedder)
    if cache.exists():
        return np.load(cache)
    settings = IndexSettings()
    max_tokens = min(settings.chunk_tokens, embedder.max_tokens)
    texts: list[str] = []
    for doc in load_jsonl(folder / "corpus.jsonl"):
        page = Page(f"{doc.get('title', '')}\n\n{doc['text']}".strip())
        for span in chunk_page(page, embedder.count_tokens, max_tokens, settings.chunk_overlap):
            texts.append(span.text)
    print(f"  embedding {len(texts)} chunks of {folder.name} ...", file=sys.stderr)
    vectors = embedder.embed(texts, batch_size=64)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def top1(embedder: object, corpus: np.ndarray, queries: list[str]) -> np.ndarray:
    from docchat.embed.base import Embedder

    assert isinstance(embedder, Embedder)
    q = embedder.embed(queries, batch_size=64)
    return np.asarray((q @ corpus.T).max(axis=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data"))
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--max-false-abstain", type=float, default=0.0)
    args = parser.parse_args()
    data = Path(args.data)
    if not data.is_dir():
        data = Path("/work/shared/data")

    from docchat.config import EmbedSettings
    from docchat.embed.registry import create_embedder

    embedder = create_embedder(EmbedSettings(model=args.model))
    queries = {name: test_queries(data / name) for name in SETS}
    scores: dict[str, np.ndarray] = {}
    for name in SETS:
        safe = args.model.replace("/", "_")
        corpus = corpus_vectors(embedder, data / name, ROOT / f"benchmarks/.work/{name}-{safe}.npy")
        other = next(s for s in SETS if s != name)
        scores[f"{name}/real"] = top1(embedder, corpus, queries[name])
        scores[f"{name}/asked"] = top1(embedder, corpus, [asked(q) for q in queries[name]])
        scores[f"{name}/other ({other})"] = top1(embedder, corpus, queries[other])
        scores[f"{name}/offtopic"] = top1(embedder, corpus, OFF_TOPIC)

    print(f"## Top-1 dense cosine ({args.model})\n")
    print("| corpus / queries | n | min | p1 | p5 | median | p95 | max |")
    print("|---|---|---|---|---|---|---|---|")
    for key, s in scores.items():
        p = np.percentile(s, [1, 5, 50, 95])
        print(
            f"| {key} | {len(s)} | {s.min():.3f} | {p[0]:.3f} | {p[1]:.3f} | {p[2]:.3f} "
            f"| {p[3]:.3f} | {s.max():.3f} |"
        )

    real = np.concatenate([s for k, s in scores.items() if k.endswith(("/real", "/asked"))])
    elsewhere = np.concatenate([s for k, s in scores.items() if "/other" in k])
    off = np.concatenate([s for k, s in scores.items() if k.endswith("/offtopic")])
    print("\n## Threshold sweep (abstain when top-1 cosine < t)\n")
    print("| t | real questions refused (wrong) | other-field refused | off-topic refused |")
    print("|---|---|---|---|")
    best = 0.0
    for t in np.round(np.arange(0.10, 0.61, 0.025), 3):
        wrong = float((real < t).mean())
        if wrong <= args.max_false_abstain:
            best = float(t)
        print(f"| {t:.3f} | {wrong:.1%} | {(elsewhere < t).mean():.1%} | {(off < t).mean():.1%} |")
    print(
        f"\nHighest t refusing at most {args.max_false_abstain:.1%} of real questions: "
        f"{best:.3f} (refuses {(off < best).mean():.0%} of off-topic, "
        f"{(elsewhere < best).mean():.0%} of other-field questions)"
    )


if __name__ == "__main__":
    main()
