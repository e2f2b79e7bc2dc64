"""`docchat ask QUESTION -c NAME`: stream a cited answer, then list its sources.

Ctrl-C stops the model at once (the partial answer is kept, marked stopped, and stored when
in a session); a second Ctrl-C aborts outright.
"""

from __future__ import annotations

import os
import sys
import threading

import click

from docchat.cli.common import (
    EXIT_INTERRUPTED,
    AppContext,
    first_ctrl_c_sets,
    print_json,
    run_guarded,
)
from docchat.cli.pipes import (
    answer_heading,
    answer_markdown_footer,
    chosen_format,
    format_options,
    shown_path,
    text_or_stdin,
)
from docchat.errors import DocchatError
from docchat.presentation import REPEATED_NOTE, claim_notes, place
from docchat.types import Answer, Source


def source_line(source: Source, cited: bool) -> str:
    where = place(shown_path(source.path), source.page, source.line_start, source.line_end)
    return f"  [{source.n}] {where}{'  ← cited' if cited else ''}"


def read_question(question: str | None) -> str:
    return text_or_stdin(question, "question")


def print_checked(answer: Answer, streamed: bool) -> None:
    """After a streamed answer: what checking its claims changed (unsupported claims, corrected
    citations), or the "your documents don't say" that replaces it."""
    if not answer.verified or not streamed:
        return
    if answer.abstained:
        click.echo()
        click.secho(answer.text, fg="yellow")
        return
    notes = claim_notes(answer)
    if notes:
        click.secho("\nChecked against the sources:", dim=True)
        for line in notes:
            click.echo(f"  {line}")


def print_footer(answer: Answer) -> None:
    if answer.stopped:
        click.secho("[stopped]", fg="yellow", err=True)
    if answer.sources:
        click.echo("\nSources:")
        cited = set(answer.cited)
        for source in answer.sources:
            click.echo(source_line(source, source.n in cited))
    print_footer_facts(answer)


def print_footer_facts(answer: Answer) -> None:
    """Model, timings and session, on stderr: about the run, not part of the answer."""
    t = answer.timings
    facts = [answer.model] if answer.model and not answer.abstained else []
    if t.retrieval_ms is not None:
        facts.append(f"search {t.retrieval_ms:.0f} ms")
    if t.ttft_ms is not None:
        facts.append(f"first token {t.ttft_ms / 1000:.2f} s")
    if t.tokens_per_s is not None:
        facts.append(f"{t.tokens_per_s:.1f} tokens/s")
    if answer.repeated:  # (the stream held the repeat back: none of it was shown)
        facts.append(REPEATED_NOTE)
    if answer.session is not None:
        facts.append(f"session {answer.session}")
    if facts:
        click.secho(" · ".join(facts), dim=True, err=True)


@click.command()
@click.argument("question", required=False)
@click.option("-c", "--collection", required=True, help="Collection to answer from.")
@click.option("--session", metavar="new|last|ID", help="Start or continue a stored conversation.")
@click.option("--backend", help="Generator backend: llama-cpp, transformers, openai, ...")
@click.option(
    "--model",
    help="GGUF file, model folder, or a name `docchat models` lists (default: bundled).",
)
@click.option("--gpu-layers", type=int, help="Layers offloaded to the GPU (llama-cpp; -1 = all).")
@click.option("--n-ctx", type=int, help="Context window in tokens.")
@click.option("--max-tokens", type=int, help="Longest answer, in tokens.")
@click.option("--temperature", type=float, help="Sampling temperature (0 = greedy).")
@click.option("-k", type=int, help="Passages retrieved and offered to the model.")
@format_options
@click.pass_obj
def ask(
    app: AppContext,
    question: str | None,
    collection: str,
    session: str | None,
    backend: str | None,
    model: str | None,
    gpu_layers: int | None,
    n_ctx: int | None,
    max_tokens: int | None,
    temperature: float | None,
    k: int | None,
    fmt: str | None,
    as_json: bool,
) -> None:
    """Answer QUESTION from a collection's documents, citing them.

    QUESTION may come on standard input (give `-`, or leave it out when piping).
    """
    output = chosen_format(fmt, as_json)
    as_json = output == "json"

    def body() -> int:
        text = read_question(question)
        cancel = threading.Event()
        overrides = {
            "backend": backend,
            "model": os.path.expanduser(model) if model else model,
            "n_gpu_layers": gpu_layers,
            "n_ctx": n_ctx,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }

        def show_query(query: str) -> None:
            if not as_json:
                click.secho(f"(searching for: {query})", fg="cyan", err=True)

        answer: Answer | None = None
        settings = app.service().settings.answer
        # The text is shown once it is checked where it would otherwise have to be taken back:
        # unsupported claims hidden, or Markdown (a document, not a live view).
        live = not as_json and not (
            settings.verify and (settings.unsupported == "hide" or output == "md")
        )
        # md starts with the question as a title, written with the first output, so a
        # failure before it (no such collection, say) leaves stdout empty.
        heading = answer_heading(text) if output == "md" else ""
        streamed = False
        try:
            with first_ctrl_c_sets(cancel):
                for item in app.service().ask(
                    collection,
                    text,
                    session=session,
                    cancel=cancel,
                    k=k,
                    on_query=show_query,
                    on_sources=None,
                    **overrides,
                ):
                    if heading and not as_json:
                        click.echo(heading, nl=False)
                        heading = ""
                    if isinstance(item, Answer):
                        answer = item
                    elif live:
                        click.echo(item, nl=False)
                        sys.stdout.flush()
                        streamed = True
        except DocchatError:
            if streamed:  # the model crashed mid-answer: end the partial line first
                click.echo()
            raise
        assert answer is not None
        if as_json:
            print_json(answer.to_json())
        elif output == "md":
            if not live:
                click.echo(answer.text, nl=False)
            click.echo(answer_markdown_footer(answer), nl=False)
            print_footer_facts(answer)
        else:
            if not live:
                click.echo(answer.text, nl=False)
            click.echo()
            print_checked(answer, streamed)
            print_footer(answer)
        return EXIT_INTERRUPTED if answer.stopped else 0

    run_guarded(body)


COMMANDS = [ask]
