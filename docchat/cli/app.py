"""`docchat` with no command: the terminal app (imported only then, so the CLI stays light)."""

from __future__ import annotations

from docchat.cli.common import AppContext


def open_app(app: AppContext, collection: str | None, folders: list[str]) -> int:
    from docchat.ui.app import run_app

    return run_app(app.service, collection, folders)
