"""`docchat watch [PATH...] -c NAME [--rescan SECONDS]`: index, then follow the folders'
changes until Ctrl-C or SIGTERM (which finish the batch in progress, checkpoint and exit 0)."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator

import click

from docchat.cli.common import AppContext, first_ctrl_c_sets, run_guarded
from docchat.cli.index import _drive, _print_summary, print_notes
from docchat.presentation import coverage, index_summary, printable
from docchat.types import FileDone, IndexEvent, IndexSummary, WatchEvent, WatchStatus

STOPPING = "\nstopping after the current batch… (Ctrl-C again to abort)"


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-c", "--collection", required=True, help="Collection to keep in step.")
@click.option(
    "--rescan",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="Also walk the folders this often (default: index.rescan_seconds; 0 = only when "
    "file events are lost or unavailable).",
)
@click.option("--model", help="Embedding model (new collections only).")
@click.option("--exclude", multiple=True, help="Gitignore-style pattern to leave out.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line per event.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar for the first run.")
@click.pass_obj
def watch(
    app: AppContext,
    paths: tuple[str, ...],
    collection: str,
    rescan: float | None,
    model: str | None,
    exclude: tuple[str, ...],
    as_json: bool,
    quiet: bool,
) -> None:
    """Index folders, then follow their changes (without PATHs: the folders the collection
    was indexed from). Ctrl-C or SIGTERM stops after the current batch."""

    def body() -> int:
        service = app.service(**{"embed.model": model})
        if exclude:
            service.settings.index.exclude = [*service.settings.index.exclude, *exclude]
        stop = threading.Event()
        with first_ctrl_c_sets(stop, "" if as_json else STOPPING, (signal.SIGINT, signal.SIGTERM)):
            events = service.watch(collection, paths, stop, rescan=rescan)
            if as_json:
                for event in events:
                    _print_json(event)
                return 0
            summary = _drive(_first_run(events), quiet)
            _print_summary(summary)
            click.echo(coverage(service.file_counts(collection)))
            if not summary.cancelled:
                folders = service.folders(collection) if not paths else list(paths)
                _follow(events, len(folders))
        return 0

    run_guarded(body)


def _first_run(events: Iterator[WatchEvent]) -> Iterator[IndexEvent]:
    """The first index run's events (no watch status comes before its summary)."""
    for event in events:
        if not isinstance(event, WatchStatus):
            yield event
        if isinstance(event, IndexSummary):
            return


def _follow(events: Iterator[WatchEvent], folders: int) -> None:
    changed = 0
    told = False
    for event in events:
        if isinstance(event, WatchStatus):
            if event.state == "notice":
                click.echo(f"docchat: {printable(event.message or '')}", err=True)
            elif event.state == "synced" and not told:
                told = True
                many = "s" if folders != 1 else ""
                click.echo(f"watching {folders} folder{many} for changes (Ctrl-C to stop)")
            elif event.state == "indexing":
                changed = event.changed
            elif event.state == "rescanning":
                changed = 0
        elif isinstance(event, FileDone) and event.status == "failed":
            click.echo(f"failed: {printable(str(event.path))}: {printable(event.reason or '')}")
        elif isinstance(event, IndexSummary):
            what = f"{changed} changed" if changed else "rescan"
            stamp = time.strftime("%H:%M:%S")
            click.echo(f"{stamp} {what}: {index_summary(event)}")
            print_notes(event)


def _print_json(event: WatchEvent) -> None:
    if isinstance(event, WatchStatus):
        line: dict[str, object] = {"event": event.state}
        if event.changed:
            line["changed"] = event.changed
        if event.message:
            line["message"] = event.message
    elif isinstance(event, IndexSummary):
        line = {"event": "summary", **event.to_json()}
    else:
        return
    click.echo(json.dumps(line, ensure_ascii=False))


COMMANDS = [watch]
