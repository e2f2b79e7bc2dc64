"""`docchat mcp`: the real server in a subprocess, driven over stdio by the MCP SDK's client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

from docchat.service import Docchat

TESTS = Path(__file__).parent
HEAVY = ("torch", "transformers", "sentence_transformers", "llama_cpp", "onnxruntime")


@pytest.fixture
def research(service: Docchat, docs: Path) -> str:
    list(service.index("research", [str(docs)]))
    return "research"


def server(tmp_path: Path, *args: str, embed: str = "noisy") -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCCHAT_", "FAKE_"))}
    env.update(
        PYTHONPATH=f"{TESTS}{os.pathsep}{env.get('PYTHONPATH', '')}",
        DOCCHAT_DATA_DIR=str(tmp_path / "data"),
        DOCCHAT_CONFIG=str(tmp_path / "none.toml"),
        DOCCHAT_PLUGINS="fakes,noisy_plugin",
        DOCCHAT_EMBED_BACKEND=embed,
        DOCCHAT_EMBED_MODEL="fake-embedder",
        DOCCHAT_GENERATE_BACKEND="fake",
        DOCCHAT_GENERATE_ABSTAIN_BELOW="0.0",
    )
    return StdioServerParameters(
        command=sys.executable, args=["-m", "docchat", "mcp", *args], env=env, cwd=str(tmp_path)
    )


def run_client(params: StdioServerParameters, script: Any) -> Any:
    """Start the server, initialize a session, run `script(session)`; stderr is captured."""

    async def main() -> Any:
        with params_log(params).open("w") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                init = await session.initialize()
                assert init.server_info.name == "docchat"
                return await script(session)

    return anyio.run(main)


def params_log(params: StdioServerParameters) -> Path:
    return Path(str(params.cwd)) / "server-stderr.log"


def text(result: Any) -> str:
    return "".join(c.text for c in result.content if c.type == "text")


def test_search_ask_list_and_open_over_stdio(research: str, tmp_path: Path, docs: Path) -> None:
    async def script(session: ClientSession) -> dict[str, Any]:
        out: dict[str, Any] = {}
        tools = (await session.list_tools()).tools
        out["tools"] = {t.name: t for t in tools}
        out["collections"] = await session.call_tool("list_collections", {})
        out["search"] = await session.call_tool(
            "search", {"query": "dropout overfitting", "collection": "research", "k": 2}
        )
        out["search_default"] = await session.call_tool("search", {"query": "Danube"})
        out["missing"] = await session.call_tool("search", {"query": "x", "collection": "nope"})
        out["ask"] = await session.call_tool("ask", {"question": "How do I bake sourdough?"})
        hit = out["search"].structured_content["passages"][0]
        out["open"] = await session.call_tool(
            "open_passage",
            {"path": hit["path"], "line_start": hit["line_start"], "line_end": hit["line_end"]},
        )
        out["outside"] = await session.call_tool(
            "open_passage", {"path": str(tmp_path / "none.toml"), "line_start": 1}
        )
        out["resources"] = (await session.list_resources()).resources
        out["resource"] = await session.read_resource("docchat://collections/research")
        try:
            await session.read_resource("docchat://collections/nope")
        except MCPError as e:
            out["resource_error"] = str(e)
        return out

    out = run_client(server(tmp_path), script)

    tools = out["tools"]
    assert set(tools) == {"search", "ask", "list_collections", "open_passage"}  # no index
    assert tools["search"].input_schema["required"] == ["query"]
    assert set(tools["search"].input_schema["properties"]) == {"query", "collection", "k", "mode"}
    assert tools["search"].annotations.read_only_hint is True

    listed = out["collections"].structured_content["collections"]
    assert [(c["name"], c["documents"]) for c in listed] == [("research", 3)]

    passages = out["search"].structured_content["passages"]
    assert len(passages) == 2 and passages[0]["path"] == str(docs / "dropout.md")
    assert set(passages[0]) == {
        "rank", "path", "page", "line_start", "line_end", "heading", "score", "text"
    }  # fmt: skip
    assert "Dropout" in passages[0]["text"] and passages[0]["page"] is None
    # Without a collection, the only one there is.
    assert out["search_default"].structured_content["passages"][0]["path"].endswith("rivers.rst")

    # Errors: the CLI's one-line message, as a tool error.
    assert out["missing"].is_error
    assert text(out["missing"]) == "no collection named 'nope' (collections: research)"

    answer = out["ask"].structured_content
    assert answer["answer"].startswith("The documents say:") and answer["cited"] == [1]
    assert answer["sources"][0]["path"].endswith("bread.txt") and answer["sources"][0]["cited"]
    assert answer["claims"][0]["supported"] and answer["claims"][0]["sources"] == [1]
    assert answer["support"] == 1.0
    assert answer["sources"][0]["text"] and answer["session"] is None

    opened = out["open"].structured_content
    lines = (docs / "dropout.md").read_text().split("\n")
    hit = passages[0]
    assert opened["text"] == "\n".join(lines[hit["line_start"] - 1 : hit["line_end"]])
    assert opened["changed_since_indexed"] is False
    assert out["outside"].is_error
    assert (
        text(out["outside"])
        == f"{tmp_path / 'none.toml'} is not a document of collection 'research'"
    )

    uris = [str(r.uri) for r in out["resources"]]
    assert uris == ["docchat://collections", "docchat://collections/research"]
    body = json.loads(out["resource"].contents[0].text)
    assert body["name"] == "research" and str(docs / "bread.txt") in body["document_paths"]
    assert out["resource_error"] == "no collection named 'nope'"

    # The noisy plugin wrote to stdout at import and on every embedding batch: all of it
    # went to stderr, and the protocol stream stayed clean (or nothing above would parse).
    log = params_log(server(tmp_path)).read_text()
    assert "noisy plugin: import (print)" in log and "noisy plugin: import (fd 1)" in log
    assert "noisy plugin: embedding (fd 1)" in log


def test_index_tool_only_with_allow_index(tmp_path: Path, docs: Path) -> None:
    async def script(session: ClientSession) -> dict[str, Any]:
        names = {t.name for t in (await session.list_tools()).tools}
        summary = await session.call_tool("index", {"collection": "mine", "paths": [str(docs)]})
        found = await session.call_tool("search", {"query": "Danube", "collection": "mine"})
        return {"names": names, "summary": summary, "found": found}

    out = run_client(server(tmp_path, "--allow-index", embed="fake"), script)
    assert "index" in out["names"]
    summary = out["summary"].structured_content
    assert (summary["collection"], summary["indexed"], summary["failed"]) == ("mine", 3, 0)
    assert out["found"].structured_content["passages"][0]["path"].endswith("rivers.rst")


def test_startup_loads_no_model_library(research: str, tmp_path: Path) -> None:
    """Building the server, listing collections and reading a resource import neither torch
    nor any model runtime: those wait for the first search (embedder) or ask (generator)."""
    code = f"""
import sys, anyio
from docchat.config import load_settings
from docchat.mcp_server import build_server
from docchat.service import Docchat
server = build_server(Docchat(load_settings()))
anyio.run(server.call_tool, "list_collections", {{}})
anyio.run(server.read_resource, "docchat://collections/research")
print([m for m in {HEAVY!r} if m in sys.modules])
"""
    env = {**os.environ, "PYTHONPATH": f"{TESTS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
