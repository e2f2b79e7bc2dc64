"""`docchat collections list|check|rebuild|migrate|rm|reembed`."""

from __future__ import annotations

import sys

import click

from docchat.cli.common import AppContext, print_json, run_guarded
from docchat.presentation import size, when


@click.group()
def collections() -> None:
    """Manage collections."""


@collections.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_(app: AppContext, as_json: bool) -> None:
    """Name, documents, chunks, model, dimension, size on disk, last indexed, vector store."""

    def body() -> int:
        infos, problems = app.service().collections_readable()
        for problem in problems:  # the others are still listed; the exit code says it
            click.echo(f"docchat: {problem}", err=True)
        if as_json:
            print_json([i.to_json() for i in infos])
            return 1 if problems else 0
        if not infos and not problems:
            click.echo("no collections yet — try: docchat index FOLDER -c NAME")
        from docchat.ingest.prepare import READER

        for i in infos:
            # (files read by an older docchat: `index --reread` reads them the way it now does)
            older = "  (read by an older docchat: index --reread)" if i.reader < READER else ""
            click.echo(
                f"{i.name:<20} {i.documents:>7} docs {i.chunks:>8} chunks  "
                f"{i.model or '-'} ({i.dimension or '-'}d)  {size(i.size_bytes):>9}  "
                f"{when(i.last_indexed or 0)}  {i.vector_backend}{older}"
            )
        return 1 if problems else 0

    run_guarded(body)


@collections.command()
@click.argument("name")
@click.pass_obj
def check(app: AppContext, name: str) -> None:
    """Verify that SQLite and the vector store agree; exit 1 and say what is wrong if not."""

    def body() -> int:
        report = app.service().check(name)
        if report.ok:
            click.echo(f"{name}: ok ({report.chunks} chunks, {report.vectors} vectors)")
            return 0
        for p in report.problems:
            click.echo(f"{name}: {p}", err=True)
        click.echo(f"repair with: docchat collections rebuild {name}", err=True)
        return 1

    run_guarded(body)


@collections.command()
@click.argument("name")
@click.pass_obj
def rebuild(app: AppContext, name: str) -> None:
    """Refill the vector store (FAISS file or Milvus collection) from SQLite."""
    run_guarded(lambda: click.echo(f"{name}: rebuilt, {app.service().rebuild(name)} vectors"))


@collections.command()
@click.argument("name")
@click.option("--model", required=True, help="The embedding model to switch to.")
@click.pass_obj
def reembed(app: AppContext, name: str, model: str) -> None:
    """Re-embed a collection with another model."""

    def body() -> int:
        total = 0
        for done, total in app.service().reembed(name, model):
            click.echo(f"\r{done}/{total} chunks", nl=False, err=True)
        click.echo(f"\n{name}: re-embedded {total} chunks with {model}")
        return 0

    run_guarded(body)


@collections.command()
@click.argument("name")
@click.option("--to", "backend", type=click.Choice(["faiss", "milvus"]), required=True)
@click.option("--milvus-uri", help="Milvus to move to (default: store.milvus_uri).")
@click.option(
    "--index-type",
    type=click.Choice(["auto", "FLAT", "IVF_FLAT", "IVF_SQ8", "HNSW", "DISKANN", "AUTOINDEX"]),
    help="Milvus index of the new collection (default: store.milvus_index_type).",
)
@click.pass_obj
def migrate(
    app: AppContext, name: str, backend: str, milvus_uri: str | None, index_type: str | None
) -> None:
    """Move a collection's vectors to FAISS or Milvus, from SQLite (resumable: if it is
    stopped, run it again)."""

    def body() -> int:
        service = app.service(
            **{"store.milvus_uri": milvus_uri, "store.milvus_index_type": index_type}
        )
        total = 0
        for step in service.migrate(name, backend):
            if isinstance(step, str):
                click.echo(f"\ndocchat: {name}: {step}", err=True)
                continue
            done, total = step
            click.echo(f"\r{done}/{total} vectors", nl=False, err=True)
        click.echo("", err=True)  # ends the progress line
        click.echo(f"{name}: {total} vectors now in {backend}")
        return 0

    run_guarded(body)


@collections.command("rm")
@click.argument("name")
@click.option("-y", "--yes", is_flag=True, help="Do not ask.")
@click.pass_obj
def rm(app: AppContext, name: str, yes: bool) -> None:
    """Delete a collection (its index only; your files are untouched)."""

    def body() -> int:
        from docchat.errors import CollectionError
        from docchat.locations import validate_collection_name

        validate_collection_name(name)  # "invalid name" before "no such collection"
        service = app.service()
        if name not in service.collection_names():
            raise CollectionError(f"no collection named '{name}'")
        if not yes and sys.stdin.isatty():
            click.confirm(f"delete collection '{name}'?", abort=True)
        for note in service.remove(name):
            click.echo(f"docchat: {name}: {note}", err=True)
        click.echo(f"removed collection '{name}'")
        return 0

    run_guarded(body)


COMMANDS = [collections]
