"""`docchat mcp`: serve the collections to MCP clients (coding agents) over stdio."""

from __future__ import annotations

import click

from docchat.cli.common import AppContext, run_guarded


@click.command()
@click.option("-c", "--collection", help="Default collection for tools called without one.")
@click.option(
    "--allow-index", is_flag=True, help="Offer an `index` tool (off: the server is read-only)."
)
@click.pass_obj
def mcp(app: AppContext, collection: str | None, allow_index: bool) -> None:
    """Run a Model Context Protocol server on stdin/stdout for coding agents.

    Tools: search, ask, list_collections, open_passage (and index with --allow-index);
    each collection is also a resource. See README, "docchat as an MCP server".
    """

    def body() -> int:
        from docchat.mcp_server import build_server, serve, stdout_on_stderr

        with stdout_on_stderr():
            service = app.service()  # the facade only: models load on first use
            if collection:
                service.open_collection(collection)  # a wrong name fails now, not per call
            server = build_server(service, allow_index=allow_index, default_collection=collection)
        serve(server)
        return 0

    run_guarded(body)


COMMANDS = [mcp]
