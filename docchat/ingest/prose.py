"""Is extracted text worth embedding? Minified code, base64 and one-line data dumps are not.

Such files are common on a real disk (bundled .js, data: URLs, dumps named .txt) and cost
far more than they give: one 10 MB line of base64 made 31,000 chunks that no question will
ever match. They are skipped with a reason that says what was seen. The tests are cheap: the
whole text is only scanned with `str.count`; the rest looks at an evenly spread sample.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from docchat.types import ParsedDocument

MIN_CHARS = 4096  # shorter texts cost little to index, whatever they hold
_SAMPLE_WINDOWS = 32
_SAMPLE_WINDOW_CHARS = 8192
_MIN_SPACE_SHARE = 0.01  # prose has a space every ~6 characters; base64 and minified code not
_LONG_RUN = re.compile(r"\S{64,}")  # no word, URL or path is normally this long
_MAX_LONG_RUN_SHARE = 0.5
_MAX_NON_ASCII_SHARE = 0.2  # above this the text is in a script the space tests do not fit
_MIN_ENTROPY_BITS = 2.0  # English is ~4.1 bits per character; "=====" or "0 0 0" far less


def not_prose(doc: ParsedDocument) -> str | None:
    """Why `doc`'s text should not be indexed ("not prose: ..."), or None when it is fine."""
    texts = [page.text for page in doc.pages]
    total = sum(len(t) for t in texts)
    if total < MIN_CHARS:
        return None
    sample = _sample(texts)
    # Chinese, Japanese or Thai prose has no spaces between words: the space tests are for
    # text in ASCII, which is what encoded data and minified code are written in.
    non_ascii = len(sample) - len(sample.encode("ascii", "ignore"))
    if non_ascii / len(sample) < _MAX_NON_ASCII_SHARE:
        spaces = sum(t.count(" ") + t.count("\n") + t.count("\t") for t in texts)
        if spaces / total < _MIN_SPACE_SHARE:
            if len(texts) == 1 and "\n" not in texts[0].strip():
                return f"not prose: one line of {_size(total)} without spaces"
            return (
                f"not prose: {_size(total)} with almost no spaces (minified code or encoded data?)"
            )
        long_runs = sum(m.end() - m.start() for m in _LONG_RUN.finditer(sample))
        if long_runs / len(sample) > _MAX_LONG_RUN_SHARE:
            return (
                "not prose: mostly unbroken strings of 64+ characters "
                "(encoded data or minified code?)"
            )
    bits = _entropy(sample)
    if bits < _MIN_ENTROPY_BITS:
        return f"not prose: too repetitive ({bits:.1f} bits per character)"
    return None


def _sample(texts: list[str]) -> str:
    """Evenly spaced windows of the joined text (all of it when short)."""
    joined_len = sum(len(t) for t in texts)
    if joined_len <= _SAMPLE_WINDOWS * _SAMPLE_WINDOW_CHARS:
        return "\n".join(texts)
    text = "\n".join(texts)  # a copy, but only of text already held in memory once
    step = len(text) // _SAMPLE_WINDOWS
    return "\n".join(text[i : i + _SAMPLE_WINDOW_CHARS] for i in range(0, len(text), step))[
        : _SAMPLE_WINDOWS * (_SAMPLE_WINDOW_CHARS + 1)
    ]


def _entropy(text: str) -> float:
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _size(chars: int) -> str:
    if chars >= 1_000_000:
        return f"{chars / 1_000_000:.1f} million characters"
    return f"{chars:,} characters"
