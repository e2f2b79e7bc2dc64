"""Answers you can check: an answer cut into claims, each tied to the sources that support it.

`split.py` cuts the answer into claims (sentences, list items) and sources into sentences;
`support.py` scores each claim against each offered source (embedding similarity with the
already-loaded embedder, content-word and number overlap, exact quotes); `render.py` shows
the answer with citations corrected and unsupported claims marked, hidden or kept, and words
the "your documents don't say" abstention; `verify.py` runs it alongside generation.
"""

from docchat.claims.render import MODES, UNSUPPORTED_MARK, UNSUPPORTED_NOTE, render
from docchat.claims.split import split_claims
from docchat.claims.support import SUPPORTED, support
from docchat.claims.verify import Check, check

__all__ = [
    "MODES",
    "SUPPORTED",
    "UNSUPPORTED_MARK",
    "UNSUPPORTED_NOTE",
    "Check",
    "check",
    "render",
    "split_claims",
    "support",
]
