"""`docchat index PATH... -c NAME`: progress bar, then a summary (or --json)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import click

from docchat.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_PARTIAL,
    AppContext,
    first_ctrl_c_sets,
    print_json,
    run_guarded,
)
from docchat.presentation import coverage, index_summary, printable
from docchat.types import FileDone, IndexEvent, IndexStarted, IndexSummary, OcrProgress

STOPPING = "\nstopping after the current file… (Ctrl-C again to abort)"


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("-c", "--collection", required=True, help="Collection to index into.")
@click.option("--model", help="Embedding model (new collections only).")
@click.option("--exclude", multiple=True, help="Gitignore-style pattern to leave out.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Read again files that failed or had nothing to index before (even unchanged).",
)
@click.option(
    "--reread",
    is_flag=True,
    help="Read every file again, changed or not (after an upgrade that reads files better); "
    "only texts that come out different are embedded again.",
)
@click.pass_obj
def index(
    app: AppContext,
    paths: tuple[str, ...],
    collection: str,
    model: str | None,
    exclude: tuple[str, ...],
    as_json: bool,
    quiet: bool,
    retry_failed: bool,
    reread: bool,
) -> None:
    """Index files and folders into a collection (only changes are redone)."""

    def body() -> int:
        service = app.service(**{"embed.model": model})
        if exclude:  # added to the configured patterns, not instead of them
            service.settings.index.exclude = [*service.settings.index.exclude, *exclude]
        cancel = threading.Event()
        with first_ctrl_c_sets(cancel, STOPPING):
            events = service.index(
                collection, paths, cancel, retry_failed=retry_failed, reread=reread
            )
            summary = _drive(events, quiet or as_json)
        if as_json:
            print_json(summary.to_json())
        else:
            _print_summary(summary)
            click.echo(coverage(service.file_counts(collection)))
        if summary.cancelled:
            return EXIT_INTERRUPTED
        return EXIT_PARTIAL if summary.failed else 0

    run_guarded(body)


def _drive(events: Iterator[IndexEvent], quiet: bool) -> IndexSummary:
    if quiet:  # (no bar to draw: rich is not even imported)
        *_, last = events
        assert isinstance(last, IndexSummary)
        return last
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    summary: IndexSummary | None = None
    started = time.perf_counter()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rates]}"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[current]}", style="dim"),
    )
    # On stderr: stdout carries only the summary (or the JSON), and nothing at all when the
    # run fails (a transient bar ends with a newline of its own).
    console = Console(stderr=True)
    with Progress(*columns, transient=True, console=console) as progress:
        task = progress.add_task("indexing", total=None, rates="", current="")
        for event in events:
            if isinstance(event, IndexStarted):
                progress.update(task, total=event.files_total)
            elif isinstance(event, FileDone):
                dt = max(time.perf_counter() - started, 1e-6)
                rates = f"{event.files_done / dt:.1f} files/s {event.chunks_done / dt:.0f} chunks/s"
                name = printable(event.path.name)[-40:]
                progress.update(task, completed=event.files_done, rates=rates, current=name)
                if event.status == "failed":
                    shown = escape(f"{printable(str(event.path))}: {printable(event.reason or '')}")
                    progress.console.print(f"[red]failed[/] {shown}")
            elif isinstance(event, OcrProgress):
                name = printable(event.path.name)[-30:]
                progress.update(task, current=f"OCR {name}: {event.pages} pages read")
            elif isinstance(event, IndexSummary):
                summary = event
    assert summary is not None
    return summary


def print_notes(s: IndexSummary) -> None:
    """A run's notes (a file cut short by a limit, a re-embed, the reread hint), a line each."""
    for path, note in s.notes:
        click.echo(f"  note: {printable(path)}: {printable(note)}")


def _print_summary(s: IndexSummary) -> None:
    click.echo(index_summary(s))
    reasons: dict[str, int] = {}
    for _, reason in s.skipped:
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, n in sorted(reasons.items(), key=lambda r: -r[1]):
        click.echo(f"  skipped {n}: {printable(reason)}")
    print_notes(s)
    for path, error in s.failed:
        click.echo(f"  failed: {printable(path)}: {printable(error)}", err=True)


COMMANDS = [index]
