"""`docchat eval [BEIR_FOLDER] [--corpus/--queries/--qrels]`: retrieval quality per mode;
`docchat eval --questions FILE --docs FOLDER`: the same by page on real documents;
`docchat eval --answers --questions FILE --docs FOLDER [--llm MODEL]...`: answer quality."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from docchat.cli.common import AppContext, print_json, run_guarded
from docchat.errors import DocchatError

if TYPE_CHECKING:
    from docchat.config import Settings
    from docchat.evaluation import Progress

MODES = ("dense", "keyword", "hybrid", "default")


@click.command(name="eval")
@click.argument("folder", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--corpus", type=click.Path(exists=True, dir_okay=False), help="corpus.jsonl")
@click.option("--queries", type=click.Path(exists=True, dir_okay=False), help="queries.jsonl")
@click.option("--qrels", type=click.Path(exists=True, dir_okay=False), help="qrels TSV.")
@click.option(
    "--questions",
    type=click.Path(exists=True, dir_okay=False),
    help="Question set (JSONL: question -> expected file/page); scored by page. Needs --docs.",
)
@click.option(
    "--docs",
    type=click.Path(exists=True, file_okay=False),
    help="Folder of the documents the questions are about (one subfolder per corpus).",
)
@click.option(
    "--details",
    type=click.Path(dir_okay=False, writable=True),
    help="With --questions: write each question's ranked pages to this JSONL file.",
)
@click.option(
    "--mode",
    "modes",
    multiple=True,
    type=click.Choice(MODES),
    help="Rows to run (repeatable; default: all four).",
)
@click.option(
    "--answers",
    is_flag=True,
    help="With --questions/--docs: run the full ask path and score the answers (abstention "
    "precision/recall, citation accuracy, claim support, time to first token).",
)
@click.option(
    "--llm",
    "llms",
    multiple=True,
    help="With --answers: answer model (GGUF file, folder or name; repeatable; default: the "
    "configured one).",
)
@click.option("--backend", help="With --answers: generator backend for --llm.")
@click.option(
    "--limit", type=int, help="With --answers: at most N answerable + N unanswerable per corpus."
)
@click.option("--chunk-tokens", type=int, help="Override index.chunk_tokens.")
@click.option("--chunk-overlap", type=int, help="Override index.chunk_overlap.")
@click.option("--model", help="Embedding model (default: the configured one).")
@click.option("--keep", is_flag=True, help="Keep the indexed collection cached for reruns.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as a JSON array.")
@click.pass_obj
def eval_command(
    app: AppContext,
    folder: str | None,
    corpus: str | None,
    queries: str | None,
    qrels: str | None,
    questions: str | None,
    docs: str | None,
    details: str | None,
    modes: tuple[str, ...],
    answers: bool,
    llms: tuple[str, ...],
    backend: str | None,
    limit: int | None,
    chunk_tokens: int | None,
    chunk_overlap: int | None,
    model: str | None,
    keep: bool,
    as_json: bool,
) -> None:
    """Measure retrieval quality on a BEIR-format set (nDCG@10, Recall@100, MRR@10, latency),
    or with --questions/--docs on real documents by distinct page (hit@1, hit@5, MRR@10,
    nDCG@10).

    The corpus is indexed into a throwaway collection through the normal index path; every
    query then runs in each mode. "hybrid" is plain RRF (k=60, equal weights); "default" is
    the configured [search] settings.
    """
    from docchat.evaluation import evaluate_set, resolve_set

    def body() -> int:
        flags: dict[str, Any] = {
            "index.chunk_tokens": chunk_tokens,
            "index.chunk_overlap": chunk_overlap,
            "embed.model": model,
        }
        if chunk_overlap == 0:  # falsy values are dropped by app.service; 0 is meaningful
            flags["index.chunk_overlap"] = None
        settings = app.service(**flags).settings
        if chunk_overlap == 0:
            settings = settings.model_copy(
                update={"index": settings.index.model_copy(update={"chunk_overlap": 0})}
            )
        progress = None if as_json else (lambda msg: click.echo(msg, err=True))
        if details and not questions:
            raise DocchatError("eval: --details goes with --questions")
        if (llms or backend or limit is not None) and not answers:
            raise DocchatError("eval: --llm, --backend and --limit go with --answers")
        if answers:
            if not (questions and docs) or folder or corpus or queries or qrels:
                raise DocchatError("eval: --answers needs --questions and --docs")
            return _answers(
                settings, questions, docs, details, llms, backend, limit, keep, as_json, progress
            )
        if questions or docs:
            if folder or corpus or queries or qrels:
                raise DocchatError("eval: give either a BEIR set or --questions with --docs")
            if not (questions and docs):
                raise DocchatError("eval: --questions and --docs go together")
            return _by_page(settings, questions, docs, details, modes, keep, as_json, progress)
        data = resolve_set(folder, corpus, queries, qrels)
        rows = evaluate_set(settings, data, list(modes or MODES), keep=keep, progress=progress)
        if as_json:
            print_json([r.to_json() for r in rows])
            return 0
        click.echo(
            f"{'mode':<9} {'nDCG@10':>8} {'R@100':>7} {'MRR@10':>7} {'p50 ms':>7} {'p95 ms':>7}"
        )
        for r in rows:
            click.echo(
                f"{r.mode:<9} {r.ndcg10:>8.4f} {r.recall100:>7.4f} {r.mrr10:>7.4f} "
                f"{r.p50_ms:>7.1f} {r.p95_ms:>7.1f}"
            )
        return 0

    run_guarded(body)


def _answers(
    settings: Settings,
    questions: str,
    docs: str,
    details: str | None,
    llms: tuple[str, ...],
    backend: str | None,
    limit: int | None,
    keep: bool,
    as_json: bool,
    progress: Progress | None,
) -> int:
    from docchat.answer_eval import evaluate_answers

    report = evaluate_answers(
        settings,
        Path(questions),
        Path(docs),
        list(llms) or [""],
        backend=backend,
        limit=limit,
        keep=keep,
        progress=progress,
    )
    if details:
        _write_jsonl(details, [d.to_json() for d in report.details])
    if as_json:
        print_json([r.to_json() for r in report.rows])
        return 0
    click.echo(
        f"{'model':<32} {'n':>4} {'answered':>8} {'abst.':>5} {'abst. P':>7} {'abst. R':>7} "
        f"{'cite acc (markers)':>18} {'cite acc (verified)':>19} {'support':>7} "
        f"{'TTFT s':>6} {'total s':>7} {'verify p50/p95 ms':>17}"
    )
    for r in report.rows:
        click.echo(
            f"{r.model[:32]:<32} {r.questions:>4} {r.answered:>8} {r.abstained:>5} "
            f"{r.abstain_precision:>7.2f} {r.abstain_recall:>7.2f} "
            f"{f'{r.citation_accuracy_marked:.2f} ({r.citations_marked})':>18} "
            f"{f'{r.citation_accuracy_verified:.2f} ({r.citations_verified})':>19} "
            f"{r.claim_support:>7.2f} {r.ttft_p50_ms / 1000:>6.2f} {r.total_p50_ms / 1000:>7.2f} "
            f"{f'{r.verify_p50_ms:.0f}/{r.verify_p95_ms:.0f}':>17}"
        )
    return 0


def _write_jsonl(path: str, records: list[dict[str, Any]]) -> None:
    try:
        with open(path, "w", encoding="utf-8") as f:
            for d in records:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
    except OSError as e:
        raise DocchatError(f"eval: cannot write {path}: {e.strerror}") from None


def _by_page(
    settings: Settings,
    questions: str,
    docs: str,
    details: str | None,
    modes: tuple[str, ...],
    keep: bool,
    as_json: bool,
    progress: Progress | None,
) -> int:
    from docchat.page_eval import PAGE_METRICS, evaluate_questions

    report = evaluate_questions(
        settings, Path(questions), Path(docs), list(modes or MODES), keep=keep, progress=progress
    )
    if details:
        _write_jsonl(details, report.details)
    if as_json:
        print_json([r.to_json() for r in report.rows])
        return 0
    if report.unanswerable:
        click.echo(f"({report.unanswerable} unanswerable questions not scored)", err=True)
    heads = " ".join(f"{m:>7}" for m in PAGE_METRICS)
    click.echo(f"{'mode':<9} {'corpus':<18} {'n':>4} {heads} {'p50 ms':>7} {'p95 ms':>7}")
    for r in report.rows:
        values = " ".join(f"{r.metrics[m]:>7.4f}" for m in PAGE_METRICS)
        ms = f"{r.p50_ms:>7.1f} {r.p95_ms:>7.1f}"
        click.echo(f"{r.mode:<9} {r.corpus:<18} {r.questions:>4} {values} {ms}")
    return 0


COMMANDS = [eval_command]
