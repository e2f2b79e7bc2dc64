"""`docchat mcp`: the collections as a Model Context Protocol server on stdio.

Coding agents (Claude Code, Cursor, Zed...) start it and call its tools: `search`,
`ask`, `list_collections`, `open_passage` — and `index` only when started with
`--allow-index`; everything else is read-only. Each collection is also a resource.

Startup builds the facade and nothing more: the embedder loads on the first search, the chat
model on the first `ask`. Tool bodies are synchronous and run in worker threads (the SDK does
that), one at a time under a lock, so a search never races a model load. A DocchatError
reaches the client as a tool error carrying the CLI's one-line message.

stdout is the protocol stream, so nothing else may write there: while it serves, the SDK
points fd 1 at stderr, and `stdout_on_stderr()` does the same while the server starts (a
plugin that prints on import, say).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, Literal, ParamSpec, TypeVar, cast

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.types import CallToolResult, Resource, TextContent, ToolAnnotations

from docchat import __version__
from docchat.errors import CollectionError, DocchatError
from docchat.mcp_schema import (
    AnswerClaim,
    AnswerSource,
    AskResult,
    CollectionList,
    CollectionSummary,
    IndexResult,
    Passage,
    PassageText,
    SearchResult,
)
from docchat.service import Docchat
from docchat.types import Answer, IndexSummary

P = ParamSpec("P")
R = TypeVar("R")

INSTRUCTIONS = """\
docchat searches the user's own documents, indexed into named collections on this machine.
Start with list_collections. `search` finds passages (path, page, lines, text) by meaning and
keyword — fast, use it first. `open_passage` returns the exact lines of a passage with context.
`ask` answers a question from a collection with a local model and cites passages as [n]; it is
slower and its answer is only as good as that model."""

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)


# ---------------------------------------------------------------- the server


class DocchatMCP(MCPServer):
    """MCPServer whose resource list also names each collection (they come and go)."""

    def __init__(self, app: DocchatTools, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app = app

    async def list_resources(self) -> list[Resource]:
        static = await super().list_resources()
        names = await anyio.to_thread.run_sync(self.app.collection_names)
        return static + [
            Resource(
                uri=f"docchat://collections/{name}",
                name=name,
                description=f"Collection '{name}': its statistics and documents",
                mime_type="application/json",
            )
            for name in names
        ]


def tool_errors(fn: Callable[P, R]) -> Callable[P, R | CallToolResult]:
    """DocchatError -> an `is_error` result whose text is the CLI's one-line message.

    Returned, not raised as ToolError: the SDK would prefix "Error executing tool NAME: ".
    The SDK passes a CallToolResult through, and reads the schema from the wrapped function.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | CallToolResult:
        try:
            return fn(*args, **kwargs)
        except DocchatError as e:
            return CallToolResult(content=[TextContent(type="text", text=str(e))], is_error=True)

    return wrapper


class DocchatTools:
    """The tool bodies, over one facade; `lock` makes them take turns."""

    def __init__(self, service: Docchat, default_collection: str | None = None) -> None:
        self.service = service
        self.default_collection = default_collection
        self.lock = threading.Lock()

    def collection_names(self) -> list[str]:
        with self.lock:
            return self.service.collection_names()

    def pick(self, collection: str | None) -> str:
        """The collection asked for, else the default, else the only one there is."""
        if collection:
            return collection
        if self.default_collection:
            return self.default_collection
        names = self.service.collection_names()
        if len(names) == 1:
            return names[0]
        if not names:
            raise CollectionError(
                "no collections yet: index a folder first (docchat index FOLDER -c NAME)"
            )
        raise CollectionError(f"give a collection: one of {', '.join(names)}")

    # -------------------------------------------------------------- tools

    @tool_errors
    def search(
        self,
        query: str,
        collection: str | None = None,
        k: int | None = None,
        mode: Literal["hybrid", "dense", "keyword"] | None = None,
    ) -> SearchResult:
        """Find the passages of a collection that best match `query` (hybrid: meaning +
        keywords). Query syntax: in:<glob> limits paths, page:3-9 pages, "quotes" require a
        phrase. Returns up to k passages with path, page, line_start/line_end, heading,
        score and text."""
        with self.lock:
            name = self.pick(collection)
            hits = self.service.search(name, query, k=k and max(1, min(k, 100)), mode=mode)
        return SearchResult(
            collection=name,
            query=query,
            passages=[
                Passage(
                    rank=h.rank,
                    path=h.path,
                    page=h.page,
                    line_start=h.line_start,
                    line_end=h.line_end,
                    heading=h.heading,
                    score=round(h.score, 6),
                    text=h.text,
                )
                for h in hits
            ],
        )

    @tool_errors
    def ask(
        self,
        question: str,
        collection: str | None = None,
        session: str | None = None,
        k: int | None = None,
        cancel: threading.Event | None = None,
    ) -> AskResult:
        answer: Answer | None = None
        with self.lock:
            name = self.pick(collection)
            for item in self.service.ask(
                name, question, session=_session(session), cancel=cancel, k=k
            ):
                if isinstance(item, Answer):
                    answer = item
        assert answer is not None
        cited = set(answer.cited)
        return AskResult(
            answer=answer.text,
            sources=[
                AnswerSource(
                    n=s.n,
                    path=s.path,
                    page=s.page,
                    line_start=s.line_start,
                    line_end=s.line_end,
                    heading=s.heading,
                    score=round(s.score, 6),
                    text=s.text,
                    cited=s.n in cited,
                )
                for s in answer.sources
            ],
            cited=list(answer.cited),
            abstained=answer.abstained,
            stopped=answer.stopped,
            repeated=answer.repeated,
            query=answer.query,
            model=answer.model,
            session=answer.session,
            claims=[AnswerClaim.model_validate(c.to_json()) for c in answer.claims],
            support=answer.support,
        )

    @tool_errors
    def list_collections(self) -> CollectionList:
        """The collections on this machine: name, documents, chunks, embedding model, size
        on disk and when last indexed."""
        with self.lock:
            infos = self.service.collections()
        return CollectionList(
            collections=[
                CollectionSummary(
                    name=i.name,
                    documents=i.documents,
                    chunks=i.chunks,
                    model=i.model,
                    size_bytes=i.size_bytes,
                    last_indexed=i.last_indexed,
                )
                for i in infos
            ]
        )

    @tool_errors
    def open_passage(
        self,
        path: str,
        line_start: int,
        line_end: int | None = None,
        page: int | None = None,
        collection: str | None = None,
        context: int = 3,
    ) -> PassageText:
        """The exact text of lines line_start..line_end (of `page`, for a PDF) of a document
        in the collection, as search and ask number them, with `context` lines around.
        Only documents of an indexed collection can be opened."""
        with self.lock:
            name = self.pick(collection)
            p = self.service.open_passage(name, path, line_start, line_end, page, context)
        return PassageText.model_validate(p.to_json())

    @tool_errors
    def index(self, collection: str, paths: list[str]) -> IndexResult:
        """Index files or folders into a collection (created if new): only new, changed and
        deleted files are touched. Returns the run's summary."""
        summary: IndexSummary | None = None
        with self.lock:
            for event in self.service.index(collection, paths):
                if isinstance(event, IndexSummary):
                    summary = event
        assert summary is not None
        return IndexResult.model_validate(summary.to_json())

    # -------------------------------------------------------------- resources

    def collections_json(self) -> str:
        try:
            with self.lock:
                infos = self.service.collections()
        except DocchatError as e:
            raise ResourceError(str(e)) from None
        return json.dumps([i.to_json() for i in infos], indent=2)

    def collection_json(self, name: str) -> str:
        from docchat.locations import validate_collection_name

        try:
            with self.lock:
                validate_collection_name(name)
                if name not in self.service.collection_names():
                    raise CollectionError(f"no collection named '{name}'")
                coll = self.service.open_collection(name)
                info = coll.info().to_json()
                paths = sorted(coll.document_paths())
        except CollectionError as e:
            raise ResourceNotFoundError(str(e)) from None
        except DocchatError as e:
            raise ResourceError(str(e)) from None
        shown = paths[:MAX_LISTED]
        return json.dumps({**info, "document_paths": shown, "more": len(paths) - len(shown)})


MAX_LISTED = 1000  # document paths in a collection resource


def _session(session: str | None) -> str | int | None:
    if session is None or session in ("new", "last"):
        return session
    try:
        return int(session)
    except ValueError:
        raise DocchatError(f"session: give new, last or a number, not {session!r}") from None


def build_server(
    service: Docchat, *, allow_index: bool = False, default_collection: str | None = None
) -> DocchatMCP:
    tools = DocchatTools(service, default_collection)
    server = DocchatMCP(
        tools,
        name="docchat",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level="WARNING",
    )
    server.add_tool(tools.search, annotations=READ_ONLY)
    server.add_tool(tools.list_collections, annotations=READ_ONLY)
    server.add_tool(tools.open_passage, annotations=READ_ONLY)

    async def ask(
        question: str,
        collection: str | None = None,
        session: str | None = None,
        k: int | None = None,
    ) -> AskResult:
        """Answer a question from a collection's documents with a local model, citing
        passages as [n] (listed in `sources`). `session`: omit for a one-off; "new" starts
        a stored conversation, "last" or its id continues one (follow-ups are rewritten
        into standalone searches). Slower than search: it runs a language model."""
        cancel = threading.Event()
        call = functools.partial(tools.ask, question, collection, session, k, cancel)
        try:
            # abandon_on_cancel: a client's cancellation returns at once; the event then
            # stops the model mid-answer, as Ctrl-C does in the CLI.
            result = await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
            # An error comes back as a CallToolResult, which the SDK passes through as is
            # (the annotation stays AskResult: the SDK derives the output schema from it).
            return cast(AskResult, result)
        except anyio.get_cancelled_exc_class():
            cancel.set()
            raise

    server.add_tool(
        ask,
        annotations=ToolAnnotations(
            read_only_hint=False,  # a session stores the conversation; documents are untouched
            destructive_hint=False,
            open_world_hint=False,
        ),
    )
    if allow_index:
        server.add_tool(
            tools.index,
            annotations=ToolAnnotations(
                destructive_hint=False, idempotent_hint=True, open_world_hint=False
            ),
        )
    server.resource(
        "docchat://collections",
        name="collections",
        description="Every collection: name, documents, chunks, model, size, last indexed",
        mime_type="application/json",
    )(tools.collections_json)
    server.resource(
        "docchat://collections/{name}",
        name="collection",
        description="One collection's statistics and document paths",
        mime_type="application/json",
    )(tools.collection_json)
    for handler in logging.getLogger().handlers:  # the SDK's stderr handler: problems only
        handler.setLevel(logging.WARNING)
    return server


@contextlib.contextmanager
def stdout_on_stderr() -> Iterator[None]:
    """Anything written to stdout (Python's or fd 1, by C code too) goes to stderr inside."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def serve(server: DocchatMCP) -> None:
    """Serve on stdin/stdout until the client closes stdin."""
    anyio.run(server.run_stdio_async)
