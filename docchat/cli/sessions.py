"""`docchat sessions list|show|export|delete -c NAME`: stored conversations of a collection."""

from __future__ import annotations

from pathlib import Path

import click

from docchat.cli.common import AppContext, print_json, run_guarded
from docchat.presentation import cut_notes, when

collection_option = click.option(
    "-c", "--collection", required=True, help="Collection the conversations belong to."
)


@click.group()
def sessions() -> None:
    """Stored conversations (created by `docchat ask --session new`)."""


@sessions.command("list")
@collection_option
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def list_(app: AppContext, collection: str, as_json: bool) -> None:
    """Conversations, most recent first."""

    def body() -> int:
        rows = app.service().sessions(collection)
        if as_json:
            print_json([r.to_json() for r in rows])
            return 0
        if not rows:
            click.echo(
                f"no sessions yet (start one: docchat ask QUESTION -c {collection} --session new)"
            )
        for r in rows:
            asked = f"{r.messages // 2:>3} questions"
            click.echo(f"{r.id:>4}  {when(r.updated_at)}  {asked}  {r.title}")
        return 0

    run_guarded(body)


@sessions.command()
@click.argument("session_id", type=int)
@collection_option
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def show(app: AppContext, session_id: int, collection: str, as_json: bool) -> None:
    """Print one conversation with the sources of each answer."""

    def body() -> int:
        service = app.service()
        row = service.session(collection, session_id)
        messages = service.session_messages(collection, session_id)
        if as_json:
            print_json({**row.to_json(), "messages": [m.to_json() for m in messages]})
            return 0
        from docchat.cli.ask import source_line

        click.secho(f"# {row.title}  (session {row.id}, {when(row.created_at)})", bold=True)
        for m in messages:
            if m.role == "user":
                click.secho(f"\n> {m.content}", fg="cyan")
                continue
            click.echo(m.content + "".join(f" [{note}]" for note in cut_notes(m)))
            for s in m.sources:
                click.echo(source_line(s, s.n in m.cited))
        return 0

    run_guarded(body)


@sessions.command()
@click.argument("session_id", type=int)
@collection_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE.")
@click.pass_obj
def export(app: AppContext, session_id: int, collection: str, output: str | None) -> None:
    """Export a conversation as Markdown, citations as footnotes (file, page, lines)."""

    def body() -> int:
        text = app.service().export_session(collection, session_id)
        if output:
            Path(output).write_text(text, encoding="utf-8")
            click.echo(f"wrote {output}", err=True)
        else:
            click.echo(text, nl=False)
        return 0

    run_guarded(body)


@sessions.command()
@click.argument("session_id", type=int)
@collection_option
@click.pass_obj
def delete(app: AppContext, session_id: int, collection: str) -> None:
    """Delete a conversation."""

    def body() -> int:
        app.service().delete_session(collection, session_id)
        click.echo(f"deleted session {session_id}", err=True)
        return 0

    run_guarded(body)


COMMANDS = [sessions]
