"""`docchat search QUERY -c NAME`: ranked hits, or --json."""

from __future__ import annotations

import click

from docchat.cli.common import AppContext, print_json, run_guarded
from docchat.cli.pipes import chosen_format, format_options, hits_markdown, text_or_stdin
from docchat.presentation import place


@click.command()
@click.argument("query", required=False)
@click.option("-c", "--collection", required=True, help="Collection to search.")
@click.option("-k", type=int, help="Number of hits.")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "keyword"]), help="Retrieval mode.")
@click.option("--explain", is_flag=True, help="Show each retriever's rank and score.")
@format_options
@click.pass_obj
def search(
    app: AppContext,
    query: str | None,
    collection: str,
    k: int | None,
    mode: str | None,
    explain: bool,
    fmt: str | None,
    as_json: bool,
) -> None:
    """Find the passages that best match QUERY (`-`, or left out in a pipe: standard input).

    --format json prints a JSON array of hits; md a Markdown list; plain (default) a listing.
    """
    output = chosen_format(fmt, as_json)

    def body() -> int:
        text = text_or_stdin(query, "query")
        hits = app.service().search(collection, text, k=k, mode=mode)
        if output == "json":
            print_json([h.to_json() for h in hits])
            return 0
        if output == "md":
            click.echo(hits_markdown(text, hits))
            return 0
        if not hits:
            click.echo("no hits", err=True)
        for h in hits:
            where = place(h.path, h.page, h.line_start, h.line_end)
            click.secho(f"{h.rank:>2}. {where}  ({h.score:.3f})", bold=True)
            if h.heading:
                click.secho(f"    § {h.heading}", fg="cyan")
            if explain:
                detail = "  ".join(f"{k}={_fmt(v)}" for k, v in h.explain.items())
                click.secho(f"    {detail}", fg="yellow")
            snippet = " ".join(h.text.split())
            click.echo(f"    {snippet[:300]}{'…' if len(snippet) > 300 else ''}")
        return 0

    run_guarded(body)


def _fmt(v: object) -> str:
    if v is None:  # the retriever did not find this chunk
        return "-"
    return f"{v:.4f}" if isinstance(v, float) else str(v)


COMMANDS = [search]
