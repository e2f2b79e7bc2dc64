"""Checking an answer while it streams: the sources' sentences are embedded in a background
thread as soon as the prompt is built (the model is busy anyway), so what is left after the
last token is embedding the claims and scoring them — the `verify_ms` of the timings.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from docchat.claims.render import cited, not_said, render
from docchat.claims.split import split_claims
from docchat.claims.support import Evidence, prepare, support
from docchat.embed.base import Embedder
from docchat.generate.citations import parse_citations
from docchat.types import Source, Verified


class Check:
    """Started with the offered sources; called with the finished text."""

    def __init__(
        self,
        embedder: Embedder | None,
        question: str,
        sources: Sequence[Source],
        mode: str = "mark",
        background: bool = True,
    ) -> None:
        self.embedder = embedder
        self.question = question
        self.sources = tuple(sources)
        self.mode = mode
        self._evidence: list[Evidence] = []
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._prepare, daemon=True, name="claims")
            self._thread.start()
        else:
            self._prepare()

    def _prepare(self) -> None:
        try:
            self._evidence = prepare(self.embedder, self.sources)
        except BaseException as e:  # re-raised in the caller's thread
            self._error = e

    def __call__(self, text: str, stopped: bool = False) -> Verified:
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        claims = tuple(support(split_claims(text), self._evidence, self.embedder))
        if not claims:  # nothing a source could support ("Yes.", a heading): as written
            return Verified(text, (), tuple(parse_citations(text, len(self.sources))))
        shown = render(text, claims, self.mode)
        if not stopped and not any(c.supported for c in claims):
            said = not_said(self.question, self.sources)
            shown = f"{said}\n\n{text}" if self.mode == "keep" else said
            return Verified(shown, claims, (), abstained=True)
        return Verified(shown, claims, cited(claims))


def check(
    embedder: Embedder | None, question: str, sources: Sequence[Source], text: str, mode: str
) -> Verified:
    """Check a finished answer in one go (tests, benchmarks, a stored answer)."""
    return Check(embedder, question, sources, mode, background=False)(text)
