"""Answer quality on a question set (issue 15): `docchat eval --answers`.

The question set is the one `docchat eval --questions` scores retrieval on (question →
expected file/page, plus unanswerable questions; benchmarks/data/devset/README.md). Each
question runs the full ask path (search, abstention threshold, prompt, model, claim check)
with each model given, and the answers are scored:

- abstention: precision and recall of "abstained" as a prediction of "unanswerable" (an
  abstention is the retrieval threshold's or the claim check's "your documents don't say");
- citation accuracy: the share of cited sources that are an expected page of the question,
  over the answerable questions that were answered — with the model's own markers
  (`raw_answer`) and with the verified citations (`cited`);
- claim support: the share of claims some offered source supports;
- time to first token and total time per question (medians), and the check's own time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docchat.config import Settings
from docchat.errors import DocchatError
from docchat.evaluation import COLLECTION, Progress, eval_settings, percentile
from docchat.generate.citations import parse_citations
from docchat.page_eval import (
    Question,
    corpus_root,
    index_corpus,
    load_questions,
    relative_path,
    workspace,
)
from docchat.types import Answer, Source

if TYPE_CHECKING:
    from docchat.service import Docchat


@dataclass(frozen=True)
class Scored:
    """One question answered by one model."""

    id: str
    model: str
    answerable: bool
    abstained: bool
    marked: tuple[int, ...]  # the model's own citations
    marked_right: int  # of them, expected pages
    cited: tuple[int, ...]  # after the check
    cited_right: int
    claims: int
    supported: int
    ttft_ms: float | None
    total_ms: float | None
    verify_ms: float | None
    answer: str = ""
    raw_answer: str = ""

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class AnswerRow:
    model: str
    questions: int
    answered: int
    abstained: int
    abstain_precision: float
    abstain_recall: float
    citation_accuracy_marked: float
    citation_accuracy_verified: float
    citations_marked: int
    citations_verified: int
    claim_support: float
    ttft_p50_ms: float
    total_p50_ms: float
    verify_p50_ms: float
    verify_p95_ms: float

    def to_json(self) -> dict[str, Any]:
        return {
            k: round(v, 4) if isinstance(v, float) else v
            for k, v in ((k, getattr(self, k)) for k in self.__dataclass_fields__)
        }


@dataclass
class AnswerReport:
    rows: list[AnswerRow]
    details: list[Scored] = field(default_factory=list)


def right_citations(
    q: Question, cited: Sequence[int], sources: Sequence[Source], root: Path
) -> int:
    by_n = {s.n: s for s in sources}
    relevant = q.relevant()
    resolved = root.resolve()
    return sum(
        q.page_key(relative_path(by_n[n].path, resolved), by_n[n].page) in relevant
        for n in cited
        if n in by_n
    )


def score_answer(q: Question, answer: Answer, root: Path) -> Scored:
    raw = answer.raw_answer if answer.raw_answer is not None else answer.text
    marked = tuple(parse_citations(raw, len(answer.sources))) if not _declined(answer) else ()
    cited = answer.cited if not answer.abstained else ()
    t = answer.timings
    return Scored(
        id=q.id,
        model=answer.model,
        answerable=q.answerable,
        abstained=answer.abstained,
        marked=marked,
        marked_right=right_citations(q, marked, answer.sources, root),
        cited=cited,
        cited_right=right_citations(q, cited, answer.sources, root),
        claims=len(answer.claims),
        supported=sum(c.supported for c in answer.claims),
        ttft_ms=t.ttft_ms,
        total_ms=t.total_ms,
        verify_ms=t.verify_ms,
        answer=answer.text,
        raw_answer=raw,
    )


def _declined(answer: Answer) -> bool:
    """Declined before the model was asked (the retrieval threshold)."""
    return answer.abstained and answer.raw_answer is None


def summarise(model: str, scored: Sequence[Scored]) -> AnswerRow:
    abstained = [s for s in scored if s.abstained]
    unanswerable = [s for s in scored if not s.answerable]
    true_abstentions = sum(not s.answerable for s in abstained)
    answered = [s for s in scored if s.answerable and not s.abstained]
    marked = sum(len(s.marked) for s in answered)
    cited = sum(len(s.cited) for s in answered)
    claims = sum(s.claims for s in scored)
    supported = sum(s.supported for s in scored)

    def med(values: list[float | None], q: float = 50) -> float:
        return percentile([v for v in values if v is not None], q)

    return AnswerRow(
        model=model,
        questions=len(scored),
        answered=len(scored) - len(abstained),
        abstained=len(abstained),
        abstain_precision=true_abstentions / len(abstained) if abstained else 0.0,
        abstain_recall=true_abstentions / len(unanswerable) if unanswerable else 0.0,
        citation_accuracy_marked=sum(s.marked_right for s in answered) / marked if marked else 0.0,
        citation_accuracy_verified=sum(s.cited_right for s in answered) / cited if cited else 0.0,
        citations_marked=marked,
        citations_verified=cited,
        claim_support=supported / claims if claims else 0.0,
        ttft_p50_ms=med([s.ttft_ms for s in scored]),
        total_p50_ms=med([s.total_ms for s in scored]),
        verify_p50_ms=med([s.verify_ms for s in scored]),
        verify_p95_ms=med([s.verify_ms for s in scored], 95),
    )


def chosen(questions: list[Question], limit: int | None) -> list[Question]:
    """At most `limit` answerable and `limit` unanswerable questions of each corpus."""
    if limit is None:
        return questions
    taken: dict[tuple[str, bool], int] = {}
    out = []
    for q in questions:
        key = (q.corpus or "", q.answerable)
        if taken.get(key, 0) < limit:
            taken[key] = taken.get(key, 0) + 1
            out.append(q)
    return out


def ask_one(service: Docchat, q: Question, overrides: dict[str, Any]) -> Answer:
    answer: Answer | None = None
    for item in service.ask(COLLECTION, q.text, **overrides):
        if isinstance(item, Answer):
            answer = item
    assert answer is not None
    return answer


def evaluate_answers(
    settings: Settings,
    questions_file: Path,
    docs: Path,
    models: Sequence[str] = ("",),
    backend: str | None = None,
    limit: int | None = None,
    keep: bool = False,
    progress: Progress | None = None,
) -> AnswerReport:
    """Ask every chosen question with each model ("" = the configured one) and score it."""
    from docchat.service import Docchat

    say = progress or (lambda _msg: None)
    questions = chosen(load_questions(questions_file), limit)
    corpora = sorted({q.corpus or "" for q in questions})
    roots = {c: corpus_root(docs, c or None) for c in corpora}
    settings = settings.model_copy(
        update={"answer": settings.answer.model_copy(update={"verify": True})}
    )
    per_model: dict[str, list[Scored]] = {m: [] for m in models}
    for corpus in corpora:
        root = roots[corpus]
        mine = [q for q in questions if (q.corpus or "") == corpus]
        with workspace(root, settings, keep) as folder:
            service = Docchat(eval_settings(settings, folder))
            index_corpus(service, root, say)
            for model in models:
                overrides = {"backend": backend, "model": model or None}
                label = model or settings.generate.model or "the configured model"
                say(f"asking {len(mine)} questions on {corpus or docs} with {label} …")
                for i, q in enumerate(mine, start=1):
                    try:
                        answer = ask_one(service, q, overrides)
                    except DocchatError as e:
                        raise DocchatError(f"eval: {q.id}: {e}") from None
                    per_model[model].append(score_answer(q, answer, root))
                    if i % 5 == 0 or i == len(mine):
                        say(f"  {i}/{len(mine)}")
            service.open_collection(COLLECTION).close()
    rows = []
    details: list[Scored] = []
    for model, scored in per_model.items():
        name = next((s.model for s in scored if s.model), model or "default")
        rows.append(summarise(name, scored))
        details += scored
    return AnswerReport(rows, details)
