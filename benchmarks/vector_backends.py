"""FAISS vs Milvus (Lite, or a server by URI) through docchat's own vector stores.

`scale`: synthetic 384-d vectors around 4,096 centres (as benchmarks/faiss_index.py), for
each size and store: ingest vectors/s (upserts of 10k rows, then whatever makes them
searchable: a flush, the index build), p50/p95 ms of one k=10 query at a time (as docchat
searches), recall@10 against the exact answer, and memory (resident-set growth of the
process holding the vectors: this one for FAISS and Milvus Lite, the server's for a server).
Each store runs in a fresh subprocess so memory figures do not mix.

    python benchmarks/vector_backends.py scale --sizes 100000 1000000
    python benchmarks/vector_backends.py scale --sizes 100000 --stores server-hnsw \\
        --server-uri http://127.0.0.1:19530 --server-pid PID

`parity`: SciFact through the real pipeline: the corpus indexed into a FAISS (exact)
collection with the bundled all-MiniLM-L6-v2, every test query's dense top-10 taken, the
collection migrated to Milvus Lite (FLAT) and the same queries asked again; prints the
mean top-10 overlap (the bar: >= 0.99) and how often the order is identical. The collection
is kept in benchmarks/.work/parity (embedding the corpus is the slow part).

    python benchmarks/vector_backends.py parity /work/shared/data/scifact
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from faiss_index import DIM, synthetic

WORK = Path(__file__).parent / ".work"
STORES = {
    # name: (backend, milvus index type, build params, search params)
    "faiss-flat": ("faiss", "", {}, {}),
    "faiss-ivf": ("faiss", "IVF", {}, {}),
    "lite-flat": ("milvus", "FLAT", {}, {}),
    "lite-ivf": ("milvus", "IVF_FLAT", {"nlist": 1024}, {"nprobe": 32}),
    "lite-hnsw": ("milvus", "HNSW", {"M": 16, "efConstruction": 200}, {"ef": 128}),
    "server-flat": ("milvus", "FLAT", {}, {}),
    "server-ivf": ("milvus", "IVF_FLAT", {"nlist": 1024}, {"nprobe": 32}),
    "server-hnsw": ("milvus", "HNSW", {"M": 16, "efConstruction": 200}, {"ef": 128}),
    "server-diskann": ("milvus", "DISKANN", {}, {"search_list": 100}),
}


def rss_mb(pid: int | None = None) -> float:
    import psutil

    proc = psutil.Process(pid or os.getpid())
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 1e6


def data_for(n: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4096, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    return synthetic(n, rng, centres), synthetic(queries, rng, centres)


def exact_top10(data: np.ndarray, queries: np.ndarray) -> np.ndarray:
    scores = queries @ data.T
    return np.argsort(-scores, axis=1)[:, :10]


# ---------------------------------------------------------------- one store (a subprocess)


def open_store(name: str, folder: Path, server_uri: str):  # type: ignore[no-untyped-def]
    from docchat.config import StoreSettings
    from docchat.store.vector_backends import OpenRequest
    from docchat.store.vector_backends import open_store as open_backend
    from docchat.store.vector_store import VectorConfig, fresh_name

    backend, index, build, search = STORES[name]
    settings = StoreSettings(approximate_above=1 if index == "IVF" else 0)
    if backend == "faiss":
        config = VectorConfig()
    else:
        uri = server_uri if name.startswith("server") else str(folder / "bench.db")
        consistency = os.environ.get("BENCH_CONSISTENCY", "Strong")  # see --consistency
        config = VectorConfig("milvus", uri, fresh_name(), index, build, search, consistency)
    request = OpenRequest(folder, DIM, settings, create=True, fresh=True)
    return open_backend(config, request)


def measure(
    name: str, n: int, queries_n: int, server_uri: str, server_pid: int
) -> dict[str, object]:
    from docchat.store.vector_store import VectorRows

    data, queries = data_for(n, queries_n)
    truth = np.load(WORK / f"truth-{n}-{queries_n}.npy")
    ids = np.arange(n, dtype=np.int64)
    zeros = np.zeros(n, dtype=np.int64)
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        holder = server_pid or None
        before = rss_mb(holder)
        store = open_store(name, Path(tmp), server_uri)
        t0 = time.perf_counter()
        if name == "faiss-ivf":  # IVF is trained on the data: docchat builds it whole
            from docchat.store.vectors import VectorIndex

            store.index = VectorIndex.build(DIM, ids, data, approximate_above=1)
        else:
            for start in range(0, n, 10_000):
                part = slice(start, start + 10_000)
                store.upsert(VectorRows(ids[part], data[part], zeros[part], zeros[part] - 1))
        inserted = time.perf_counter() - t0
        store.persist()
        _ready(store)
        ready = time.perf_counter() - t0
        for q in queries[:5]:  # warm up (first searches load segments, build caches)
            store.search(q, 10)
        times, found = [], []
        for q in queries:
            t1 = time.perf_counter()
            _, got = store.search(q, 10)
            times.append((time.perf_counter() - t1) * 1000)
            found.append(got[0])
        memory = rss_mb(holder) - before
        recall = float(
            np.mean(
                [
                    len(set(f.tolist()) & set(t.tolist())) / 10
                    for f, t in zip(found, truth, strict=True)
                ]
            )
        )
        if hasattr(store, "drop") and name.startswith("server"):
            store.drop()
        store.close()
    return {
        "store": name,
        "n": n,
        "insert_per_s": n / inserted,
        "ready_s": ready,
        "p50": statistics.median(times),
        "p95": statistics.quantiles(times, n=20)[18],
        "recall": recall,
        "memory_mb": memory,
    }


def _ready(store) -> None:  # type: ignore[no-untyped-def]
    """A Milvus server builds its index after the data is sealed: wait for it."""
    client = getattr(store, "client", None)
    if client is None or getattr(store, "lite", True):
        return
    client.flush(store.name)
    while True:
        info = client.describe_index(store.name, "vector")
        if int(info.get("pending_index_rows", 0)) == 0 and int(info.get("indexed_rows", 0)) > 0:
            break
        time.sleep(1)  # polling the server's build progress, not timing anything
    client.refresh_load(store.name)


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for pkg in ("faiss-cpu", "pymilvus", "milvus-lite"):
        try:
            out.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            out.append(f"{pkg} -")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"# {'; '.join(out)}; {os.cpu_count()} CPUs, load average {load}"


def scale(args: argparse.Namespace) -> int:
    WORK.mkdir(parents=True, exist_ok=True)
    os.environ["BENCH_CONSISTENCY"] = args.consistency  # read by each store's subprocess
    print(versions() + f"; Milvus consistency {args.consistency}")
    print(
        f"{'n':>9} {'store':<12} {'ingest/s':>9} {'ready s':>8} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'R@10':>6} {'mem MB':>7}"
    )
    for n in args.sizes:
        truth_file = WORK / f"truth-{n}-{args.queries}.npy"
        if not truth_file.exists():
            data, queries = data_for(n, args.queries)
            np.save(truth_file, exact_top10(data, queries))
            del data
        for name in args.stores:
            cmd = [sys.executable, __file__, "one", name, str(n), str(args.queries)]
            cmd += [args.server_uri or "-", str(args.server_pid or 0)]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode:
                print(f"{n:>9} {name:<12} failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{n:>9} {name:<12} {r['insert_per_s']:>9.0f} {r['ready_s']:>8.1f} "
                f"{r['p50']:>7.2f} {r['p95']:>7.2f} {r['recall']:>6.3f} {r['memory_mb']:>7.0f}",
                flush=True,
            )
    return 0


# ---------------------------------------------------------------- SciFact parity


def parity(args: argparse.Namespace) -> int:
    from docchat.config import load_settings
    from docchat.evaluation import iter_jsonl, load_qrels, load_queries, write_corpus
    from docchat.service import Docchat

    data = Path(args.data)
    folder = WORK / "parity"
    settings = load_settings(
        overrides={
            "data_dir": str(folder / "data"),
            "store": {
                "vector_backend": "faiss",
                "approximate_above": 0,  # exact
                "milvus_uri": args.milvus_uri,  # where the migration goes
                "milvus_index_type": "FLAT",
            },
            "index": {"checkpoint_seconds": 3600.0},
        }
    )
    svc = Docchat(settings)
    if "scifact" not in svc.collection_names():
        if args.seed_from:
            seed(Path(args.seed_from), folder / "data" / "collections" / "scifact")
            print(f"collection copied from {args.seed_from}; FAISS rebuilt exact from it")
        else:
            write_corpus(data / "corpus.jsonl", folder / "docs")
            t0 = time.perf_counter()
            list(svc.index("scifact", [folder / "docs"]))
            print(f"indexed the corpus in {time.perf_counter() - t0:.0f} s")
        svc.rebuild("scifact")  # exact (approximate_above = 0), whatever the source had
    if svc.collections()[0].vector_backend != "faiss":  # a run stopped half way
        list(svc.migrate("scifact", "faiss"))
    qrels = load_qrels(data / "qrels" / "test.tsv")
    queries = load_queries(data / "queries.jsonl", set(qrels))
    coll = svc.open_collection("scifact")
    embedder = svc.embedder_for(coll)
    assert embedder is not None
    vectors = {qid: embedder.embed_query(text) for qid, text in queries.items()}
    faiss_top = {qid: coll.dense_search(v, 10) for qid, v in vectors.items()}
    t0 = time.perf_counter()
    list(svc.migrate("scifact", "milvus"))
    moved = time.perf_counter() - t0
    config = coll.vector_config()
    milvus_top = {qid: coll.dense_search(v, 10) for qid, v in vectors.items()}
    overlap = [
        len({c for c, _ in faiss_top[q]} & {c for c, _ in milvus_top[q]}) / 10 for q in vectors
    ]
    same_order = [[c for c, _ in faiss_top[q]] == [c for c, _ in milvus_top[q]] for q in vectors]
    gap = max(
        abs(a - b)
        for q in vectors
        for (_, a), (_, b) in zip(faiss_top[q], milvus_top[q], strict=False)
    )
    list(svc.migrate("scifact", "faiss"))  # back, so the next run starts the same way
    chunks = svc.collections()[0].chunks
    docs = sum(1 for _ in iter_jsonl(data / "corpus.jsonl"))
    print(f"SciFact: {docs} documents, {chunks} chunks, {len(vectors)} test queries")
    print(f"Milvus: {config.uri or 'Milvus Lite file in the collection folder'}, index")
    print(f"        {config.index_type}, migrated from FAISS in {moved:.1f} s")
    print(f"{'dense top-10 overlap, mean':<34} {np.mean(overlap):.4f}")
    print(f"{'dense top-10 overlap, worst query':<34} {min(overlap):.2f}")
    print(f"{'queries with identical order':<34} {np.mean(same_order):.4f}")
    print(f"{'largest cosine difference':<34} {gap:.2e}")
    svc.close()
    return 0 if np.mean(overlap) >= 0.99 else 1


def seed(source: Path, folder: Path) -> None:
    """A consistent copy of another collection's SQLite (e.g. one `docchat eval --keep`
    made of the same corpus), so the corpus need not be embedded again."""
    import sqlite3

    folder.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(folder / "docchat.sqlite")
    src.backup(dst)
    dst.execute(
        "DELETE FROM meta WHERE key IN ('vector_backend', 'vector_store', 'vector_pending')"
    )
    dst.commit()
    src.close()
    dst.close()


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "one":  # the subprocess side of `scale`
        name, n, q, uri, pid = sys.argv[2:7]
        result = measure(name, int(n), int(q), "" if uri == "-" else uri, int(pid))
        print(json.dumps(result))
        return 0
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    sc = sub.add_parser("scale")
    sc.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    sc.add_argument("--queries", type=int, default=200)
    sc.add_argument(
        "--stores",
        nargs="+",
        default=["faiss-flat", "faiss-ivf", "lite-flat", "lite-ivf", "lite-hnsw"],
        choices=list(STORES),
    )
    sc.add_argument("--server-uri", default="", help="a Milvus server, for the server-* stores")
    sc.add_argument("--server-pid", type=int, default=0, help="its pid, to measure its memory")
    sc.add_argument(
        "--consistency",
        default="Strong",
        choices=["Strong", "Bounded", "Session", "Eventually"],
        help="Milvus searches' consistency level (docchat's default: Strong)",
    )
    pa = sub.add_parser("parity")
    pa.add_argument("data", help="a BEIR folder, e.g. /work/shared/data/scifact")
    pa.add_argument(
        "--seed-from",
        help="the docchat.sqlite of a collection of this corpus to copy instead of indexing "
        "(e.g. one `docchat eval DATA --keep` made)",
    )
    pa.add_argument("--milvus-uri", default="", help="a Milvus server (default: Milvus Lite)")
    args = ap.parse_args()
    return scale(args) if args.cmd == "scale" else parity(args)


if __name__ == "__main__":
    raise SystemExit(main())
