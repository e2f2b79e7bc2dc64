"""Finding the `[n]` citation markers in an answer, and rewriting them (footnotes, links).

Models write citations in many shapes: "[1]", "[1, 3]", "[1][2]", "[1; 2]", "[2-4]",
"[Source 2]". All of them count; numbers that name no offered source are ignored (small
models invent them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container

# A bracket holding only numbers, separated by commas/semicolons/"and", or a range.
_MARKER = re.compile(
    r"\[\s*(?:sources?\s*)?(\d+(?:\s*(?:[,;]|and|[-–])\s*(?:sources?\s*)?\d+)*)\s*\]",
    re.IGNORECASE,
)
_PART = re.compile(r"(\d+)\s*[-–]\s*(\d+)|(\d+)")
MAX_RANGE = 50  # "[1-9999]" is not a citation of 9999 sources


def parse_citations(text: str, n_sources: int) -> list[int]:
    """Source numbers cited in `text`, in order of first appearance, each once, all in
    1..n_sources."""
    seen: dict[int, None] = {}
    for _, _, numbers in markers(text):
        for n in numbers:
            if 1 <= n <= n_sources:
                seen.setdefault(n, None)
    return list(seen)


def markers(text: str) -> list[tuple[int, int, list[int]]]:
    """(start, end, numbers) of each citation marker, for rewriting them (e.g. as footnotes)."""
    found: list[tuple[int, int, list[int]]] = []
    for marker in _MARKER.finditer(text):
        numbers: list[int] = []
        for lo, hi, single in _PART.findall(marker.group(1)):
            if single:
                numbers.append(int(single))
            elif 0 <= int(hi) - int(lo) <= MAX_RANGE:
                numbers.extend(range(int(lo), int(hi) + 1))
            else:
                numbers.extend([int(lo), int(hi)])
        found.append((marker.start(), marker.end(), numbers))
    return found


def rewrite(
    text: str, known: Container[int], replace: Callable[[list[int]], str]
) -> tuple[str, list[int]]:
    """`text` with each marker that names a known source replaced by `replace(its known
    numbers)`; a marker naming none of them (a made-up number) stays as written. Also returns
    the known numbers, each once, in order of first use."""
    used: dict[int, None] = {}
    out: list[str] = []
    last = 0
    for start, end, numbers in markers(text):
        ours = list(dict.fromkeys(n for n in numbers if n in known))
        if not ours:
            continue
        out += [text[last:start], replace(ours)]
        used.update(dict.fromkeys(ours))
        last = end
    out.append(text[last:])
    return "".join(out), list(used)
