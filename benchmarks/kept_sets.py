"""The evaluation sets' collections as the ranking benchmarks use them: the ones `docchat eval
--keep` caches (indexed here if missing, through the normal index path), opened with the
embedder that embeds their queries. Shared by ranking_ablation.py and head_rerank.py."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from docchat.config import Settings
from docchat.embed.base import Embedder
from docchat.evaluation import (
    COLLECTION,
    eval_settings,
    load_qrels,
    load_queries,
    resolve_set,
    workspace,
    write_corpus,
)
from docchat.page_eval import Question, corpus_root, index_corpus, load_questions
from docchat.page_eval import workspace as page_workspace
from docchat.service import Docchat
from docchat.store.collection import Collection


@dataclass
class QuestionCorpus:
    """One corpus of a question set: its folder (resolved: hits' paths are relative to it),
    its answerable questions, its kept collection and query embedder."""

    root: Path
    questions: list[Question]
    coll: Collection
    embedder: Embedder | None


@dataclass
class BeirSet:
    """A BEIR set's test queries and qrels, its kept collection and query embedder."""

    name: str  # the set's folder name
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    coll: Collection
    embedder: Embedder | None


def add_set_arguments(ap: argparse.ArgumentParser) -> None:
    """--questions/--docs (a question set and its corpora) and --beir (repeatable)."""
    ap.add_argument("--questions", type=Path, help="question set (JSONL), scored by page")
    ap.add_argument("--docs", type=Path, help="the question set's corpora, one folder each")
    ap.add_argument("--beir", type=Path, action="append", default=[], help="a BEIR folder")


def question_corpora(
    settings: Settings, questions_file: Path, docs: Path
) -> Iterator[QuestionCorpus]:
    """Each corpus of the question set in turn (its collection closed after it)."""
    questions = [q for q in load_questions(questions_file) if q.answerable]
    for corpus in sorted({q.corpus or "" for q in questions}):
        root = corpus_root(docs, corpus or None)
        with page_workspace(root, settings, keep=True) as folder:
            service = Docchat(eval_settings(settings, folder))
            index_corpus(service, root, lambda m: print(m, file=sys.stderr))
            coll = service.open_collection(COLLECTION)
            try:
                mine = [q for q in questions if (q.corpus or "") == corpus]
                yield QuestionCorpus(root.resolve(), mine, coll, service.embedder_for(coll))
            finally:
                coll.close()


def beir_set(settings: Settings, folder_path: Path) -> Iterator[BeirSet]:
    """The BEIR set in `folder_path` (one item; its collection closed after it)."""
    data = resolve_set(str(folder_path), None, None, None)
    qrels = load_qrels(data.qrels)
    queries = load_queries(data.queries, set(qrels))
    qrels = {q: r for q, r in qrels.items() if q in queries}
    with workspace(data, settings, keep=True) as folder:
        write_corpus(data.corpus, folder / "docs")
        service = Docchat(eval_settings(settings, folder))
        for _ in service.index(COLLECTION, [folder / "docs"]):
            pass
        coll = service.open_collection(COLLECTION)
        try:
            yield BeirSet(data.corpus.parent.name, queries, qrels, coll, service.embedder_for(coll))
        finally:
            coll.close()
