"""`docchat status -c NAME [--json] [--failed]`: every file a collection has seen, with what
happened to it and why (the ledger the store keeps), and one line of coverage."""

from __future__ import annotations

import click

from docchat.cli.common import AppContext, print_json, run_guarded
from docchat.presentation import coverage, printable, when
from docchat.types import FileState


@click.command()
@click.option("-c", "--collection", required=True, help="The collection.")
@click.option("--json", "as_json", is_flag=True, help="Print the ledger as JSON.")
@click.option("--failed", "only_failed", is_flag=True, help="Only the files that failed.")
@click.pass_obj
def status(app: AppContext, collection: str, as_json: bool, only_failed: bool) -> None:
    """Which files are indexed, unchanged, skipped, failed or removed, and why."""

    def body() -> int:
        states: tuple[FileState, ...] = ("failed",) if only_failed else ()
        report = app.service().files(collection, states)
        if as_json:
            print_json(report.to_json())
            return 0
        for f in report.files:
            last = when(f.indexed_at) if f.indexed_at else "-"
            reason = f"  ({printable(f.reason)})" if f.reason else ""
            ocr = " ocr" if f.ocr else ""
            click.echo(
                f"{f.state:<9} {f.chunks:>6} chunks  {last}  {printable(f.path)}{ocr}{reason}"
            )
        click.echo(coverage(report.counts))
        return 0

    run_guarded(body)


COMMANDS = [status]
