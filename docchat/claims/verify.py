"""Checking an answer while it streams. A worker thread starts as soon as the prompt is
built: it embeds the sources' sentences, then each claim as soon as the model has finished
writing it (`feed`); so what is left after the last token (the `verify_ms` of the timings)
is embedding the last claim or two and scoring them all.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence

import numpy as np

from docchat.claims.render import cited, not_said, render
from docchat.claims.split import split_claims, strip_markers
from docchat.claims.support import Evidence, claim_vectors, prepare, support
from docchat.embed.base import Embedder
from docchat.generate.citations import parse_citations
from docchat.types import Source, Verified

_ENDS = frozenset(".!?\n")


class Check:
    """Started with the offered sources; fed the answer's pieces as they come; called with
    the finished text."""

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
        self._vectors: dict[str, np.ndarray] = {}
        self._error: BaseException | None = None
        self._text = ""
        self._sent: set[str] = set()
        self._jobs: queue.SimpleQueue[list[str] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._work, daemon=True, name="claims")
            self._thread.start()
        else:
            self._prepare()

    def _prepare(self) -> None:
        try:
            self._evidence = prepare(self.embedder, self.sources)
        except BaseException as e:  # re-raised in the caller's thread
            self._error = e

    def _work(self) -> None:
        self._prepare()
        while (texts := self._jobs.get()) is not None:
            if self._error is None and self.embedder is not None:
                try:
                    self._vectors = claim_vectors(texts, self.embedder, self._vectors)
                except BaseException as e:
                    self._error = e

    def feed(self, piece: str) -> None:
        """A piece of the answer: claims it completes are embedded in the background (the
        last claim may still grow, so it waits)."""
        self._text += piece
        if self._thread is None or self.embedder is None or not _ENDS.intersection(piece):
            return
        done = [strip_markers(s.text) for s in split_claims(self._text)[:-1]]
        new = [t for t in done if t not in self._sent]
        if new:
            self._sent.update(new)
            self._jobs.put(new)

    def __call__(self, text: str, stopped: bool = False) -> Verified:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error
        claims = tuple(support(split_claims(text), self._evidence, self.embedder, self._vectors))
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
