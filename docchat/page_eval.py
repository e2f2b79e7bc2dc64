"""Retrieval quality by page on a question set ("question → expected file/page", issue 14).

A question set is JSONL: one question per line with the pages that answer it (format in
benchmarks/data/devset/README.md). Unlike the BEIR path (`docchat.evaluation`), the corpus
is a folder of real documents (HTML, PDF…) indexed as it is, one collection per `corpus`.

A user reads pages, not chunks, so hits are scored as *distinct pages*: a page is a file and
a page number (PDF), or the whole file where it has no pages (HTML) or where the question
names the file without pages. Several chunks of one page count once, at the rank of its best
chunk. Relevance is binary; hit@1, hit@5, MRR@10 and nDCG@10 are averaged over the
answerable questions. Unanswerable questions are loaded (for abstention, issue 15) but not
scored here.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from docchat.config import Settings
from docchat.errors import DocchatError
from docchat.evaluation import (
    CHUNKS_PER_QUERY,
    COLLECTION,
    Progress,
    Variant,
    eval_settings,
    percentile,
    variants,
)

if TYPE_CHECKING:
    from docchat.service import Docchat

PAGE_METRICS = ("hit@1", "hit@5", "mrr@10", "ndcg@10")
DEPTH = 10  # distinct pages ranked per question
ALL = "all"  # the row that pools every corpus

PageKey = tuple[str, int | None]  # (path relative to the corpus root, page or None)


@dataclass(frozen=True)
class Answer:
    path: str  # relative to the corpus root, "/" separators
    pages: tuple[int, ...] = ()  # physical 1-based pages; () = the whole file


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    answers: tuple[Answer, ...]
    corpus: str | None = None
    kind: str | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.answers)

    def relevant(self) -> set[PageKey]:
        out: set[PageKey] = set()
        for a in self.answers:
            out.update([(a.path, p) for p in a.pages] if a.pages else [(a.path, None)])
        return out

    def page_key(self, path: str, page: int | None) -> PageKey:
        """A hit's page; a file the question names without pages is one page."""
        whole = {a.path for a in self.answers if not a.pages}
        return (path, None) if path in whole else (path, page)


@dataclass(frozen=True)
class PageRow:
    mode: str
    corpus: str
    questions: int
    metrics: dict[str, float]
    p50_ms: float
    p95_ms: float

    def to_json(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "corpus": self.corpus,
            "questions": self.questions,
            **{m: round(v, 4) for m, v in self.metrics.items()},
            "p50_ms": round(self.p50_ms, 2),
            "p95_ms": round(self.p95_ms, 2),
        }


@dataclass
class PageReport:
    rows: list[PageRow]
    unanswerable: int  # loaded, not scored
    details: list[dict[str, Any]] = field(default_factory=list)  # one per question and mode


# ---------------------------------------------------------------- the question file


def load_questions(path: Path) -> list[Question]:
    """Parse and check a question file; a bad line is an error naming the file and line."""
    if not path.is_file():
        raise DocchatError(f"eval: no such questions file: {path}")
    questions: list[Question] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                q = _question(json.loads(line))
            except (ValueError, TypeError, KeyError) as e:
                raise DocchatError(f"eval: {path}:{n}: {e}") from None
            if q.id in seen:
                raise DocchatError(f"eval: {path}:{n}: duplicate id {q.id!r}")
            seen.add(q.id)
            questions.append(q)
    if not any(q.answerable for q in questions):
        raise DocchatError(f"eval: {path} has no answerable question")
    return questions


def _question(rec: Any) -> Question:
    if not isinstance(rec, dict):
        raise ValueError("each line must be a JSON object")
    qid, text = rec.get("id"), rec.get("question")
    if not isinstance(qid, str) or not qid:
        raise ValueError('"id" must be a non-empty string')
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f'{qid}: "question" must be a non-empty string')
    corpus = rec.get("corpus")
    if corpus is not None:
        _relative(corpus, f"{qid}: corpus")
    answers = tuple(_answer(a, qid) for a in rec.get("answers") or [])
    if bool(rec.get("unanswerable")) == bool(answers):
        raise ValueError(f'{qid}: give "answers", or "unanswerable": true with none')
    kind = rec.get("kind")
    return Question(qid, text, answers, corpus, kind if isinstance(kind, str) else None)


def _answer(rec: Any, qid: str) -> Answer:
    if not isinstance(rec, dict) or not isinstance(rec.get("path"), str):
        raise ValueError(f'{qid}: each answer needs a "path"')
    pages = rec.get("pages") or []
    if not isinstance(pages, list) or not all(
        isinstance(p, int) and not isinstance(p, bool) and p >= 1 for p in pages
    ):
        raise ValueError(f'{qid}: "pages" must be a list of page numbers from 1')
    return Answer(_relative(rec["path"], f"{qid}: path"), tuple(sorted(set(pages))))


def _relative(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string")
    p = PurePosixPath(value)
    if not value or p.is_absolute() or ".." in p.parts:
        raise ValueError(f"{what} {value!r} must be relative, inside the corpus")
    return p.as_posix()


# ---------------------------------------------------------------- scoring


def rank_pages(question: Question, hits: Iterable[tuple[str, int | None]]) -> list[PageKey]:
    """Distinct pages in the order of their best chunk, the first DEPTH of them."""
    pages: list[PageKey] = []
    seen: set[PageKey] = set()
    for path, page in hits:
        key = question.page_key(path, page)
        if key not in seen:
            seen.add(key)
            pages.append(key)
            if len(pages) == DEPTH:
                break
    return pages


def first_relevant(ranked: list[PageKey], relevant: set[PageKey]) -> int | None:
    return next((n for n, key in enumerate(ranked, start=1) if key in relevant), None)


def page_metrics(ranked: list[PageKey], relevant: set[PageKey]) -> dict[str, float]:
    """hit@1, hit@5, MRR@10 and nDCG@10 (binary gains) of one question's ranked pages."""
    first = first_relevant(ranked[:DEPTH], relevant)
    dcg = sum(1 / math.log2(n + 1) for n, k in enumerate(ranked[:DEPTH], 1) if k in relevant)
    ideal = sum(1 / math.log2(n + 1) for n in range(1, min(len(relevant), DEPTH) + 1))
    return {
        "hit@1": float(first == 1),
        "hit@5": float(first is not None and first <= 5),
        "mrr@10": 1 / first if first else 0.0,
        "ndcg@10": dcg / ideal if ideal else 0.0,
    }


def mean_metrics(per_question: list[dict[str, float]]) -> dict[str, float]:
    if not per_question:
        return dict.fromkeys(PAGE_METRICS, 0.0)
    return {m: sum(q[m] for q in per_question) / len(per_question) for m in PAGE_METRICS}


# ---------------------------------------------------------------- running


def corpus_root(docs: Path, corpus: str | None) -> Path:
    root = docs / corpus if corpus else docs
    if not root.is_dir():
        raise DocchatError(f"eval: no corpus folder {root}")
    return root


def cache_key(root: Path, settings: Settings) -> str:
    """The kept collection of a corpus folder: its place, the chunking, the model and its
    path (the index itself notices changed files)."""
    from docchat.evaluation import index_key

    h = hashlib.sha256(str(root.resolve()).encode())
    h.update(index_key(settings).encode())
    return "pages-" + h.hexdigest()[:16]


@contextmanager
def workspace(root: Path, settings: Settings, keep: bool) -> Iterator[Path]:
    if keep:
        from platformdirs import user_cache_dir

        folder = Path(user_cache_dir("docchat")) / "eval" / cache_key(root, settings)
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
        return
    tmp = Path(tempfile.mkdtemp(prefix="docchat-eval-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def relative_path(path: str, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:  # outside the corpus (cannot happen for a fresh collection)
        return Path(path).as_posix()


def run_questions(
    service: Docchat, root: Path, questions: list[Question], variant: Variant
) -> tuple[dict[str, list[PageKey]], list[float]]:
    """Each question's ranked pages (paths relative to `root`) and per-question ms."""
    from docchat.retrieve.search import search

    coll = service.open_collection(COLLECTION)
    embedder = service.embedder_for(coll) if variant.mode != "keyword" else None
    resolved = root.resolve()
    ranked: dict[str, list[PageKey]] = {}
    times: list[float] = []
    for q in questions:
        start = time.perf_counter()
        try:
            hits = search(coll, embedder, q.text, CHUNKS_PER_QUERY, variant.mode, variant.search)
        except DocchatError:
            hits = []  # e.g. a question of punctuation only: it simply finds nothing
        times.append((time.perf_counter() - start) * 1000)
        ranked[q.id] = rank_pages(q, ((relative_path(h.path, resolved), h.page) for h in hits))
    return ranked, times


def index_corpus(service: Docchat, root: Path, say: Progress) -> None:
    from docchat.types import IndexSummary

    say(f"indexing {root} …")
    for event in service.index(COLLECTION, [root]):
        if isinstance(event, IndexSummary):
            say(
                f"indexed {event.indexed} (unchanged {event.unchanged}, failed "
                f"{len(event.failed)}), {event.chunks_added} chunks, {event.seconds:.1f} s"
            )
            for path, reason in event.failed[:5]:
                say(f"  failed: {path}: {reason}")


def evaluate_questions(
    settings: Settings,
    questions_file: Path,
    docs: Path,
    modes: list[str],
    keep: bool = False,
    progress: Progress | None = None,
) -> PageReport:
    from docchat.service import Docchat

    say = progress or (lambda _msg: None)
    questions = load_questions(questions_file)
    scored = [q for q in questions if q.answerable]
    corpora = sorted({q.corpus or "" for q in scored})
    roots = {c: corpus_root(docs, c or None) for c in corpora}  # fail before any indexing
    chosen = variants(settings.search, modes)
    per_mode: dict[str, dict[str, list[dict[str, float]]]] = {v.name: {} for v in chosen}
    times: dict[str, dict[str, list[float]]] = {v.name: {} for v in chosen}
    details: list[dict[str, Any]] = []
    for corpus in corpora:
        root = roots[corpus]
        mine = [q for q in scored if (q.corpus or "") == corpus]
        with workspace(root, settings, keep) as folder:
            service = Docchat(eval_settings(settings, folder))
            index_corpus(service, root, say)
            for variant in chosen:
                say(f"running {len(mine)} questions on {corpus or docs}: {variant.name} …")
                ranked, ms = run_questions(service, root, mine, variant)
                times[variant.name][corpus] = ms
                per_mode[variant.name][corpus] = [
                    page_metrics(ranked[q.id], q.relevant()) for q in mine
                ]
                details.extend(_detail(variant.name, q, ranked[q.id]) for q in mine)
            service.open_collection(COLLECTION).close()
    rows = [
        _row(name, label, by_corpus, times[name], corpora)
        for name, by_corpus in per_mode.items()
        for label in ([ALL, *corpora] if len(corpora) > 1 else [ALL])
    ]
    return PageReport(rows, sum(1 for q in questions if not q.answerable), details)


def _row(
    mode: str,
    label: str,
    by_corpus: dict[str, list[dict[str, float]]],
    times: dict[str, list[float]],
    corpora: list[str],
) -> PageRow:
    keys = corpora if label == ALL else [label]
    metrics = [m for c in keys for m in by_corpus[c]]
    ms = [t for c in keys for t in times[c]]
    return PageRow(
        mode,
        label or ".",  # questions without a corpus: the docs folder itself
        len(metrics),
        mean_metrics(metrics),
        percentile(ms, 50),
        percentile(ms, 95),
    )


def _order(key: PageKey) -> tuple[str, int]:
    return (key[0], key[1] or 0)


def _detail(mode: str, q: Question, ranked: list[PageKey]) -> dict[str, Any]:
    relevant = q.relevant()
    return {
        "mode": mode,
        "id": q.id,
        "corpus": q.corpus,
        "kind": q.kind,
        "question": q.text,
        "first_relevant": first_relevant(ranked, relevant),
        "top": [[path, page] for path, page in ranked],
        "relevant": [[path, page] for path, page in sorted(relevant, key=_order)],
    }
