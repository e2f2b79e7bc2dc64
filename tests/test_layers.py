"""The layers hold (import-linter checks the contracts in pyproject.toml with `make lint`);
these two checks are the ones its contracts cannot express."""

from __future__ import annotations

import re
from pathlib import Path

import grimp

PACKAGE = Path(__file__).parent.parent / "docchat"


def test_no_import_cycles_between_docchat_modules() -> None:
    graph = grimp.build_graph("docchat")
    imports = {
        module: {m for m in graph.find_modules_directly_imported_by(module) if m in graph.modules}
        for module in graph.modules
    }
    cycles = [c for c in strongly_connected(imports) if len(c) > 1]
    assert cycles == []


def test_no_sql_outside_the_store() -> None:
    """Only docchat/store/ runs SQL (a Collection's connection never leaves it)."""
    sql = re.compile(r"\.(execute|executemany|executescript)\(|\.db\.")
    leaks = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if p.relative_to(PACKAGE).parts[0] != "store" and sql.search(p.read_text("utf-8"))
    ]
    assert leaks == []


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, todo = work[-1]
            step = next(todo, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = len(index)
                    stack.append(step)
                    on_stack.add(step)
                    work.append((step, iter(sorted(edges[step]))))
                elif step in on_stack:
                    low[node] = min(low[node], index[step])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(sorted(component))
    return found
