"""`docchat eval [BEIR_FOLDER] [--corpus/--queries/--qrels]`: retrieval quality per mode."""

from __future__ import annotations

from typing import Any

import click

from docchat.cli.common import AppContext, print_json, run_guarded

MODES = ("dense", "keyword", "hybrid", "default")


@click.command(name="eval")
@click.argument("folder", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--corpus", type=click.Path(exists=True, dir_okay=False), help="corpus.jsonl")
@click.option("--queries", type=click.Path(exists=True, dir_okay=False), help="queries.jsonl")
@click.option("--qrels", type=click.Path(exists=True, dir_okay=False), help="qrels TSV.")
@click.option(
    "--mode",
    "modes",
    multiple=True,
    type=click.Choice(MODES),
    help="Rows to run (repeatable; default: all four).",
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
    modes: tuple[str, ...],
    chunk_tokens: int | None,
    chunk_overlap: int | None,
    model: str | None,
    keep: bool,
    as_json: bool,
) -> None:
    """Measure retrieval quality on a BEIR-format set (nDCG@10, Recall@100, MRR@10, latency).

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
        data = resolve_set(folder, corpus, queries, qrels)
        progress = None if as_json else (lambda msg: click.echo(msg, err=True))
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


COMMANDS = [eval_command]
