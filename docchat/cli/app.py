"""`docchat` with no command: the terminal app (imported only then, so the CLI stays light)."""

from __future__ import annotations

from docchat.cli.common import AppContext, fail


def open_app(app: AppContext, collection: str | None, folders: list[str]) -> int:
    try:
        from docchat.ui.app import run_app
    except ModuleNotFoundError as e:
        if e.name and e.name.startswith("docchat.ui"):
            fail("the terminal app is not built yet; use docchat index / search")
        raise
    return run_app(app, collection, folders)
