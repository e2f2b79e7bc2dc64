"""Completing folder paths in an Input (accept a completion with → or End)."""

from __future__ import annotations

import os
from pathlib import Path

from textual.suggester import Suggester


class PathSuggester(Suggester):
    def __init__(self, dirs_only: bool = True) -> None:
        # Paths are case-sensitive and the tree changes under us, so no casefold, no cache.
        super().__init__(use_cache=False, case_sensitive=True)
        self.dirs_only = dirs_only

    async def get_suggestion(self, value: str) -> str | None:
        return complete_path(value, self.dirs_only)


def complete_path(value: str, dirs_only: bool = True) -> str | None:
    if not value:
        return None
    expanded = os.path.expanduser(value)
    parent, _, prefix = expanded.rpartition("/")
    folder = Path(parent or ("/" if expanded.startswith("/") else "."))
    try:
        names = sorted(e.name for e in os.scandir(folder) if not dirs_only or e.is_dir())
    except OSError:
        return None
    show_hidden = prefix.startswith(".")
    for name in names:
        if name.startswith(prefix) and name != prefix and (show_hidden or not name.startswith(".")):
            rest = name[len(prefix) :]
            slash = "/" if (folder / name).is_dir() else ""
            return value + rest + slash
    return None
