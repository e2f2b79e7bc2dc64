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


class RecentRate:
    """Throughput over the last `window` seconds, so a rate and its ETA follow the run as it
    is now (a slow model load or one huge file early on no longer skews them for good)."""

    def __init__(self, window: float = 10.0) -> None:
        self.window = window
        self.samples: list[tuple[float, float, float]] = []  # (time, files, chunks)

    def add(self, at: float, files: float, chunks: float) -> None:
        self.samples.append((at, files, chunks))
        while len(self.samples) > 2 and at - self.samples[1][0] >= self.window:
            self.samples.pop(0)

    def rates(self) -> tuple[float, float] | None:
        """(files/s, chunks/s) over the window; None until a second of it has passed."""
        if len(self.samples) < 2:
            return None
        (t0, f0, c0), (t1, f1, c1) = self.samples[0], self.samples[-1]
        if t1 - t0 < 1:
            return None
        return (f1 - f0) / (t1 - t0), (c1 - c0) / (t1 - t0)


def progress_line(files: float, total: int, chunks: int, rates: tuple[float, float] | None) -> str:
    """'12/60 files · 340 chunks · 3.1 files/s · 88 chunks/s · ETA 15s' (rates: recent)."""
    head = f"{int(files)}/{total} files · {chunks} chunks"
    if rates is None:
        return head
    fps, cps = rates
    eta = f" · ETA {_duration((total - files) / fps)}" if fps > 0 else ""
    return f"{head} · {fps:.1f} files/s · {cps:.0f} chunks/s{eta}"


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
