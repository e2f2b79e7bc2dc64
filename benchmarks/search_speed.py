"""Query latency of a whole search at N chunks: embed the query, keyword + dense retrieval,
fusion, fetching the texts — `Docchat.search` exactly as the CLI and the TUI call it.

Embedding 100k real chunks would take hours on a 2-core machine, so the collection is built
through the store API with synthetic vectors (clustered, 384-d) and real text (sentences of
a BEIR corpus recombined into ~100-word chunks, so FTS5 posting lists look like real ones).
Queries are the corpus's real queries, embedded by the real model. The collection is cached
in benchmarks/.work/ between runs.

    python benchmarks/search_speed.py /work/shared/data/scifact --chunks 100000 [--words 4]

Cold one-off search (issue 11): a fresh `docchat search` process vs the seed tutorial's
query step (import sentence-transformers and FAISS, load the model, read the index and the
texts, embed the query, search), median of --repeat runs, alternating, with peak RSS; both
over the same pages (the first --limit of a folder of HTML, indexed by each pipeline first):

    python benchmarks/search_speed.py --cold /usr/share/doc/python3.11/html --limit 40
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from docchat.config import load_settings
from docchat.retrieve.dense import dense_search
from docchat.retrieve.keyword import keyword_search
from docchat.service import Docchat
from docchat.store.collection import Collection
from docchat.store.writer import writing
from docchat.types import ChunkSpan, Restriction

WORK = Path(__file__).parent / ".work"
DIM = 384
PER_DOC = 50


def build(folder: Path, corpus: Path, n_chunks: int, model: str) -> None:
    rng = np.random.default_rng(0)
    sentences = [
        s
        for line in corpus.open(encoding="utf-8")
        for s in re.split(r"(?<=[.!?])\s+", json.loads(line)["text"])
        if len(s.split()) > 3
    ]
    centres = rng.normal(size=(2048, DIM)).astype(np.float32)
    coll = Collection.open("speed", str(folder), create=True)
    with writing(coll) as writer:
        writer.use_model(model, DIM, lambda: "synthetic")
        for d in range(n_chunks // PER_DOC):
            chunks, vectors = [], {}
            for c in range(PER_DOC):
                text = " ".join(sentences[i] for i in rng.integers(0, len(sentences), 5))
                h = f"{d}-{c}"
                span = ChunkSpan(text, None, 0, len(text), c * 10 + 1, c * 10 + 9)
                chunks.append((span, h))
                v = centres[rng.integers(0, len(centres))] + rng.normal(0, 0.03, DIM)
                vectors[h] = (v / np.linalg.norm(v)).astype(np.float32)
            writer.put(
                path=f"/synthetic/doc{d}.txt",
                size=1,
                mtime_ns=1,
                content_hash=str(d),
                kind="text",
                title=None,
                pages=None,
                chunks=chunks,
                vectors=vectors,
            )
        writer.finish()
    coll.close()


SEED_QUERY = r"""
import json, sys
from pathlib import Path
import faiss, numpy as np
from sentence_transformers import SentenceTransformer
from docchat.embed.models import resolve_embedding_model
folder, query = Path(sys.argv[1]), sys.argv[2]
model = SentenceTransformer(resolve_embedding_model("all-MiniLM-L6-v2"), device="cpu")
index = faiss.read_index(str(folder / "index.faiss"))
texts = json.loads((folder / "texts.json").read_text())
_, ids = index.search(np.asarray(model.encode([query]), dtype="float32"), 5)
for i in ids[0]:
    print(texts[i][:100].replace("\n", " "))
"""
COLD_QUERIES = [
    "how do I read a file line by line",
    "difference between a list and a tuple",
    "format a date as a string",
    "catch several exceptions in one except clause",
    "run a function in a thread pool",
]


def cold(corpus_dir: Path, limit: int, repeat: int) -> int:
    import os
    import shutil
    import subprocess
    import sys
    import tempfile

    sys.path.insert(0, str(Path(__file__).parent))
    from index_speed import SEED, machine, timed

    work = Path(tempfile.mkdtemp(prefix="docchat-cold-"))
    corpus = work / "corpus"
    for f in sorted(p for p in corpus_dir.rglob("*.html") if p.is_file())[:limit]:
        dest = corpus / f.relative_to(corpus_dir)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dest)
    env = dict(os.environ, HF_HUB_OFFLINE="1", DOCCHAT_DATA_DIR=str(work / "data"))
    docchat = [sys.executable, "-m", "docchat"]
    subprocess.run(
        [sys.executable, "-c", SEED, str(corpus), str(work / "seed")],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*docchat, "index", str(corpus), "-c", "b", "--quiet"],
        env=env,
        check=True,
        capture_output=True,
    )
    # The first search ever builds the ONNX query encoder (cached in the user cache dir).
    _, first, _ = timed([*docchat, "search", COLD_QUERIES[0], "-c", "b"], env)
    seed_s, seed_rss, ours_s, ours_rss = [], [], [], []
    for i in range(repeat):
        q = COLD_QUERIES[i % len(COLD_QUERIES)]
        _, s, rss = timed([sys.executable, "-c", SEED_QUERY, str(work / "seed"), q], env)
        seed_s.append(s)
        seed_rss.append(rss)
        _, s, rss = timed([*docchat, "search", q, "-c", "b"], env)
        ours_s.append(s)
        ours_rss.append(rss)
    seed_m, ours_m = statistics.median(seed_s), statistics.median(ours_s)
    print(
        f"\n# cold one-off search, {limit} pages of {corpus_dir}, median of {repeat}, "
        f"alternating\n# machine: {machine()}"
    )
    print("| query step | median s | min s | peak RSS MiB | speed-up |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| seed (load ST fp32 + FAISS + texts, embed, search) | {seed_m:.2f} | "
        f"{min(seed_s):.2f} | {max(seed_rss):.0f} | 1.00× |"
    )
    print(
        f"| `docchat search` (hybrid, ONNX query encoder) | {ours_m:.2f} | {min(ours_s):.2f} | "
        f"{max(ours_rss):.0f} | {seed_m / ours_m:.1f}× |"
    )
    print(f"\n(first `docchat search` after the index, building the encoder once: {first:.1f} s)")
    shutil.rmtree(work, ignore_errors=True)
    return 0


def _rss_mib() -> float:
    """This process's resident set now, MiB (Linux)."""
    import os

    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", nargs="?", help="a BEIR folder (corpus.jsonl + queries.jsonl)")
    ap.add_argument("--cold", type=Path, help="a folder of HTML pages: cold one-off search")
    ap.add_argument("--limit", type=int, default=40, help="--cold: pages indexed")
    ap.add_argument("--repeat", type=int, default=5, help="--cold: runs of each")
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--words", type=int, default=0, help="keep only the first N words")
    ap.add_argument("--modes", nargs="+", default=["keyword", "dense", "hybrid"])
    args = ap.parse_args()
    if args.cold:
        return cold(args.cold, args.limit, args.repeat)
    if not args.folder:
        ap.error("a BEIR folder, or --cold FOLDER")
    folder = WORK / f"speed-{args.chunks}"
    settings = load_settings(overrides={"data_dir": str(folder)})
    if not (folder / "collections" / "speed" / "docchat.sqlite").exists():
        t0 = time.perf_counter()
        build(folder, Path(args.folder) / "corpus.jsonl", args.chunks, settings.embed.model)
        print(f"# built {args.chunks} chunks in {time.perf_counter() - t0:.0f} s")
    service = Docchat(settings)
    coll = service.open_collection("speed")
    limit = settings.store.approximate_above
    if limit and len(coll.vectors()) > limit and not coll.vectors().approximate:
        t0 = time.perf_counter()
        service.rebuild("speed")  # what an index run past store.approximate_above does
        print(f"# rebuilt as IVF (approximate_above={limit}) in {time.perf_counter() - t0:.0f} s")
    kind = "IVF" if service.open_collection("speed").vectors().approximate else "flat"
    queries = [
        json.loads(line)["text"]
        for line in (Path(args.folder) / "queries.jsonl").open(encoding="utf-8")
    ][: args.queries]
    if args.words:  # short, typed-in-a-search-box queries: the first N words of each
        queries = [" ".join(q.split()[: args.words]) for q in queries]
    service.search("speed", queries[0], mode="hybrid")  # load the model and the index once
    embedder = service.embedder_for(service.open_collection("speed"))
    assert embedder is not None
    embed_ms = []
    for q in queries:
        t0 = time.perf_counter()
        embedder.embed_query(q)
        embed_ms.append((time.perf_counter() - t0) * 1000)
    print(f"# {args.chunks} chunks ({kind} index), {len(queries)} queries, k={settings.search.k}")
    print(f"{'what':<22} {'p50 ms':>7} {'p95 ms':>7}")
    print(
        f"{'embed query only':<22} {statistics.median(embed_ms):>7.1f} "
        f"{statistics.quantiles(embed_ms, n=20)[18]:>7.1f}"
    )
    coll = service.open_collection("speed")
    vectors = [embedder.embed_query(q) for q in queries]
    # The in-memory BM25 copy (store/bm25.py), built here up front and switched on and off
    # per query, so "FTS5" and "in-memory" run alternately in the same process.
    rss0 = _rss_mib()
    t0 = time.perf_counter()
    coll.bm25.start()
    postings = coll.bm25.wait()
    built = time.perf_counter() - t0
    if postings is None:
        print("# in-memory BM25: not built (too big for store.bm25.MAX_INSTANCES?)")
        variants = {"FTS5": False}
    else:
        print(
            f"# in-memory BM25: built in {built:.1f} s, {len(postings.rows):,} postings, "
            f"{postings.nbytes / 2**20:.0f} MiB (arrays + vocabulary estimate); RSS "
            f"{rss0:.0f} -> {_rss_mib():.0f} MiB, peak {_peak_mib():.0f} MiB"
        )
        variants = {"FTS5": False, "in-memory": True}

    def keyword(i: int) -> object:
        return keyword_search(coll, queries[i], settings.search.candidates, Restriction())

    def dense(i: int) -> object:
        return dense_search(coll, vectors[i], settings.search.candidates)

    parts: dict[str, Callable[[int], object]] = {
        "keyword retrieval": keyword,
        "dense retrieval": dense,
    }

    def searcher(mode: str) -> Callable[[int], object]:
        return lambda i: service.search("speed", queries[i], mode=mode)

    for mode in args.modes:
        parts[f"search {mode}"] = searcher(mode)
    print("| what | " + " | ".join(f"{v} p50 | {v} p95" for v in variants) + " |")
    print("|---|" + "---:|---:|" * len(variants))
    for name, fn in parts.items():
        times: dict[str, list[float]] = {v: [] for v in variants}
        for i in range(len(queries)):
            order = list(variants.items())
            if i % 2:
                order.reverse()  # alternate which goes first
            for label, on in order:
                coll.bm25.enabled = on
                t0 = time.perf_counter()
                fn(i)
                times[label].append((time.perf_counter() - t0) * 1000)
        cells = " | ".join(
            f"{statistics.median(t):.1f} | {statistics.quantiles(t, n=20)[18]:.1f}"
            for t in times.values()
        )
        print(f"| {name} | {cells} |")
    coll.bm25.enabled = True
    print(f"# peak RSS {_peak_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
