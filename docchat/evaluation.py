"""Retrieval-quality evaluation on a BEIR-format set, through the real index and search path.

Each corpus record is written to a folder as `<_id>.txt` ("title\\n\\ntext"), indexed with
`Docchat.index` into a throwaway collection, and every query is run through
`docchat.retrieve.search` in each mode. Hits map back to documents by file stem; a document
that yields several chunks takes its best rank. Metrics come from ranx.

With `keep`, the collection lives in the user cache dir under a key of the corpus, the chunk
settings and the embedding model, so repeated runs (tuning) skip the embedding.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from docchat.config import SearchSettings, Settings
from docchat.errors import DocchatError

if TYPE_CHECKING:
    from docchat.service import Docchat

METRICS = ("ndcg@10", "recall@100", "mrr@10")
DEPTH = 100  # documents ranked per query (Recall@100)
CHUNKS_PER_QUERY = 3 * DEPTH  # chunks asked for, so that ~DEPTH distinct documents remain
COLLECTION = "eval"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class EvalSet:
    corpus: Path
    queries: Path
    qrels: Path


@dataclass(frozen=True)
class Variant:
    """One row of the table: a name, a retrieval mode and the search settings it runs with."""

    name: str
    mode: str
    search: SearchSettings


@dataclass(frozen=True)
class Row:
    mode: str
    ndcg10: float
    recall100: float
    mrr10: float
    p50_ms: float
    p95_ms: float

    def to_json(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "ndcg@10": round(self.ndcg10, 4),
            "recall@100": round(self.recall100, 4),
            "mrr@10": round(self.mrr10, 4),
            "p50_ms": round(self.p50_ms, 2),
            "p95_ms": round(self.p95_ms, 2),
        }


# ---------------------------------------------------------------- data


def resolve_set(
    folder: str | None, corpus: str | None, queries: str | None, qrels: str | None
) -> EvalSet:
    """Explicit files win; a BEIR folder fills in the rest (qrels/test.tsv by default)."""
    base = Path(folder).expanduser() if folder else None
    paths = {
        "corpus": Path(corpus) if corpus else (base / "corpus.jsonl" if base else None),
        "queries": Path(queries) if queries else (base / "queries.jsonl" if base else None),
        "qrels": Path(qrels) if qrels else (base / "qrels" / "test.tsv" if base else None),
    }
    for name, path in paths.items():
        if path is None:
            raise DocchatError(f"eval: give a BEIR folder or --{name}")
        if not path.is_file():
            raise DocchatError(f"eval: no such {name} file: {path}")
    return EvalSet(**paths)  # type: ignore[arg-type]


def iter_jsonl(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f):
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3 or (n == 0 and not parts[2].lstrip("-").isdigit()):
                continue  # header
            if int(parts[2]) > 0:
                qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


def load_queries(path: Path, wanted: set[str]) -> dict[str, str]:
    return {r["_id"]: r["text"] for r in iter_jsonl(path) if r["_id"] in wanted}


# ---------------------------------------------------------------- the throwaway collection


def cache_key(data: EvalSet, settings: Settings) -> str:
    h = hashlib.sha256()
    with data.corpus.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    h.update(index_key(settings).encode())
    return h.hexdigest()[:16]


def index_key(settings: Settings) -> str:
    """What makes a kept eval collection: the chunking, the model and the path that embeds
    (auto resolved for this machine — a kept collection of another path would otherwise be
    reused, and its vectors measured in place of this one's)."""
    from docchat.embed.precision import resolve_precision

    cfg, embed = settings.index, settings.embed
    precision = resolve_precision(embed.precision, device=embed.device)
    return f"|{cfg.chunk_tokens}|{cfg.chunk_overlap}|{embed.backend}|{embed.model}|{precision}"


def write_corpus(corpus: Path, folder: Path) -> int:
    """One `<_id>.txt` per record; existing files are left alone (their mtimes too)."""
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for rec in iter_jsonl(corpus):
        n += 1
        path = folder / f"{_safe_stem(rec['_id'])}.txt"
        if not path.exists():
            title = (rec.get("title") or "").strip()
            body = (rec.get("text") or "").strip()
            path.write_text(f"{title}\n\n{body}" if title else body, encoding="utf-8")
    return n


def _safe_stem(doc_id: str) -> str:
    if "/" in doc_id or "\\" in doc_id or doc_id in ("", ".", ".."):
        raise DocchatError(f"eval: document id {doc_id!r} cannot be a file name")
    return doc_id


@contextmanager
def workspace(data: EvalSet, settings: Settings, keep: bool) -> Iterator[Path]:
    """A folder for the corpus files and the collection: cached when `keep`, else temporary."""
    if keep:
        from platformdirs import user_cache_dir

        folder = Path(user_cache_dir("docchat")) / "eval" / cache_key(data, settings)
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
        return
    tmp = Path(tempfile.mkdtemp(prefix="docchat-eval-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def eval_settings(settings: Settings, folder: Path) -> Settings:
    """The user's settings with the collection in `folder`; checkpoints only at the end."""
    return settings.model_copy(
        update={
            "data_dir": str(folder / "data"),
            "index": settings.index.model_copy(update={"checkpoint_seconds": 3600.0}),
        }
    )


# ---------------------------------------------------------------- running


def variants(settings: SearchSettings, modes: list[str]) -> list[Variant]:
    """The table's rows: each single retriever, textbook RRF hybrid, and the defaults."""
    textbook = settings.model_copy(
        update={"fusion": "rrf", "dense_weight": 0.5, "rrf_k": 60, "mmr_lambda": 1.0}
    )
    known = {
        "dense": Variant("dense", "dense", settings),
        "keyword": Variant("keyword", "keyword", settings),
        "hybrid": Variant("hybrid", "hybrid", textbook),
        "default": Variant("default", settings.mode, settings),
    }
    unknown = [m for m in modes if m not in known]
    if unknown:
        raise DocchatError(f"eval: unknown mode {unknown[0]!r} (known: {', '.join(known)})")
    return [known[m] for m in modes]


def run_variant(
    service: Docchat, queries: dict[str, str], variant: Variant
) -> tuple[dict[str, dict[str, float]], list[float]]:
    """Document rankings per query (best chunk rank per document) and per-query ms."""
    run: dict[str, dict[str, float]] = {}
    times: list[float] = []
    for qid, text in queries.items():
        start = time.perf_counter()
        try:
            hits = service.search(
                COLLECTION, text, CHUNKS_PER_QUERY, variant.mode, settings=variant.search
            )
        except DocchatError:
            hits = []  # e.g. a query of punctuation only: it simply finds nothing
        times.append((time.perf_counter() - start) * 1000)
        docs: dict[str, float] = {}
        for hit in hits:
            doc = Path(hit.path).stem
            if doc not in docs:
                docs[doc] = float(CHUNKS_PER_QUERY - len(docs))
                if len(docs) == DEPTH:
                    break
        run[qid] = docs
    return run, times


def score(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> dict[str, float]:
    from ranx import Qrels, Run, evaluate

    # ranx rejects empty result lists; a query that found nothing scores 0 either way.
    nonempty = {q: docs for q, docs in run.items() if docs}
    if not nonempty:
        return dict.fromkeys(METRICS, 0.0)
    result = evaluate(Qrels(qrels), Run(nonempty), list(METRICS), make_comparable=True)
    return {m: float(result[m]) for m in METRICS}  # type: ignore[index]


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def evaluate_set(
    settings: Settings,
    data: EvalSet,
    modes: list[str],
    keep: bool = False,
    progress: Progress | None = None,
) -> list[Row]:
    from docchat.service import Docchat
    from docchat.types import IndexSummary

    say = progress or (lambda _msg: None)
    qrels = load_qrels(data.qrels)
    queries = load_queries(data.queries, set(qrels))
    if not queries:
        raise DocchatError("eval: no query in the queries file has relevance judgments")
    qrels = {q: rel for q, rel in qrels.items() if q in queries}
    rows: list[Row] = []
    with workspace(data, settings, keep) as folder:
        n_docs = write_corpus(data.corpus, folder / "docs")
        service = Docchat(eval_settings(settings, folder))
        say(f"indexing {n_docs} documents in {folder} …")
        for event in service.index(COLLECTION, [folder / "docs"]):
            if isinstance(event, IndexSummary):
                say(
                    f"indexed {event.indexed} (unchanged {event.unchanged}, failed "
                    f"{len(event.failed)}), {event.chunks_added} chunks, {event.seconds:.1f} s"
                )
        for variant in variants(settings.search, modes):
            say(f"running {len(queries)} queries: {variant.name} …")
            run, times = run_variant(service, queries, variant)
            metrics = score(qrels, run)
            rows.append(
                Row(
                    variant.name,
                    metrics["ndcg@10"],
                    metrics["recall@100"],
                    metrics["mrr@10"],
                    percentile(times, 50),
                    percentile(times, 95),
                )
            )
        service.open_collection(COLLECTION).close()
    return rows
