"""Text for the indexing screen: paths as the user thinks of them, rates, names."""

from __future__ import annotations

import os
import re
from pathlib import Path


def display_path(path: str | Path) -> str:
    """`~/x` under the home folder (shorter, and the same on every run of a test)."""
    text = str(path)
    home = os.path.expanduser("~")
    return "~" + text[len(home) :] if text == home or text.startswith(home + "/") else text


def relative_to_roots(path: Path, roots: list[Path]) -> str:
    for root in roots:
        if path == root or root in path.parents:
            return path.relative_to(root).as_posix() or path.name
    return display_path(path)


def rate_line(files: int, total: int, chunks: int, seconds: float) -> str:
    if seconds < 1 or not files:  # too early for a rate worth showing
        return f"{files}/{total} files · {chunks} chunks"
    fps = files / seconds
    eta = (total - files) / fps if fps > 0 else 0
    return (
        f"{files}/{total} files · {chunks} chunks · {fps:.1f} files/s · "
        f"{chunks / seconds:.0f} chunks/s · ETA {_duration(eta)}"
    )


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def collection_name_for(path: Path) -> str:
    """A valid collection name from a folder's name ('My Papers' -> 'My-Papers')."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", path.name).strip("-._")[:64]
    return name or "docs"
