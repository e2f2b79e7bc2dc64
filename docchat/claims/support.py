"""Which offered sources support a claim: measured signals, not the model's own marker.

For each (claim, source) pair three cheap signals are combined into one score in [0, 1]:

- meaning: the highest cosine between the claim and one of the source's sentences, with the
  embedder the collection already has loaded (no second model);
- words: the share of the claim's content words (crudely stemmed) that the source contains,
  less a penalty for each number of the claim that the source lacks ("port 5433" is not
  supported by a passage about port 5432);
- quotes: a code span, a quoted phrase or a run of QUOTE_WORDS words copied from the source.

A claim is supported when its best score reaches SUPPORTED. Its `sources`, best first, are
the sources the model cited in it that reach SUPPORTED (a citation that holds is kept as it
is) or, when none does (a wrong or missing marker), the best source and any within MARGIN of
it. The weights and the threshold were set on shareable data (benchmarks/claims_speed.py and
`docchat eval --answers`, figures in benchmarks/README.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from docchat.claims.split import Span, content_words, numbers, source_sentences, strip_markers
from docchat.embed.base import Embedder
from docchat.generate.citations import markers
from docchat.types import Claim, Source

SUPPORTED = 0.55
MARGIN = 0.08
MAX_SOURCES = 3
EVIDENCE = 2  # sentences of the best source shown as what supports a claim
W_MEANING, W_WORDS = 0.6, 0.4
QUOTE_BONUS = 0.15
NUMBER_PENALTY = 0.3
QUOTE_WORDS = 6
STEM = 5
_QUOTED = re.compile(r"`([^`\n]{2,})`|\"([^\"\n]{4,})\"|“([^”\n]{4,})”")
_PLAIN = re.compile(r"[^\W_]+", re.UNICODE)


def stems(words: Sequence[str]) -> set[str]:
    return {w[:STEM] for w in words}


def _plain_words(text: str) -> list[str]:
    return [w.lower() for w in _PLAIN.findall(text)]


@dataclass
class Evidence:
    """One source made ready for checking: its sentences, their vectors, its words."""

    source: Source
    sentences: list[str]
    vectors: np.ndarray
    stems: set[str]
    numbers: set[str]
    lower: str
    plain: str  # its words joined by single spaces, for finding copied runs


def prepare(embedder: Embedder | None, sources: Sequence[Source]) -> list[Evidence]:
    """Split every source into sentences and embed them all in one batch."""
    per_source = [source_sentences(s.text) or [s.text] for s in sources]
    flat = [t for sents in per_source for t in sents]
    if embedder is not None and flat:
        vectors = embedder.embed_few(flat)
    else:
        vectors = np.zeros((len(flat), 1), dtype=np.float32)
    out: list[Evidence] = []
    row = 0
    for source, sents in zip(sources, per_source, strict=True):
        words = content_words(source.text)
        out.append(
            Evidence(
                source,
                sents,
                vectors[row : row + len(sents)],
                stems(words),
                numbers(source.text),
                source.text.lower(),
                " ".join(_plain_words(source.text)),
            )
        )
        row += len(sents)
    return out


def _quoted(claim: str) -> list[str]:
    return [next(g for g in m.groups() if g) for m in _QUOTED.finditer(claim)]


def _copied(claim_words: list[str], plain: str) -> bool:
    """A run of QUOTE_WORDS consecutive words of the claim appears in the source."""
    for i in range(len(claim_words) - QUOTE_WORDS + 1):
        if " ".join(claim_words[i : i + QUOTE_WORDS]) in f" {plain} ":
            return True
    return False


def score(claim: str, vector: np.ndarray | None, ev: Evidence) -> tuple[float, list[int]]:
    """The claim's support by one source, and its sentences ordered by closeness."""
    text = strip_markers(claim)
    order: list[int] = []
    meaning = 0.0
    if vector is not None and len(ev.sentences):
        sims = ev.vectors @ vector
        order = [int(i) for i in np.argsort(-sims)]
        meaning = max(0.0, float(sims[order[0]]))
    mine = stems(content_words(text))
    words = len(mine & ev.stems) / len(mine) if mine else 0.0
    total = (W_MEANING * meaning + W_WORDS * words) if vector is not None else words
    nums = numbers(text)
    if nums:
        total -= NUMBER_PENALTY * len(nums - ev.numbers) / len(nums)
    quotes = _quoted(text)
    if any(q.lower() in ev.lower for q in quotes) or _copied(_plain_words(text), ev.plain):
        total += QUOTE_BONUS
    return min(1.0, max(0.0, total)), order


def marked_sources(claim: str, n_sources: int) -> tuple[int, ...]:
    found: dict[int, None] = {}
    for _, _, ns in markers(claim):
        found.update({n: None for n in ns if 1 <= n <= n_sources})
    return tuple(found)


def _evidence(ev: Evidence, vector: np.ndarray | None, order: list[int]) -> tuple[str, ...]:
    """The source's sentences that say the claim, closest first: the closest, and the next
    ones while they are nearly as close (a claim that sums up two sentences)."""
    if vector is None or not order:
        return ()
    sims = ev.vectors @ vector
    best = float(sims[order[0]])
    return tuple(ev.sentences[j] for j in order[:EVIDENCE] if float(sims[j]) >= best - 0.1)


def claim_vectors(
    texts: Sequence[str], embedder: Embedder, known: dict[str, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """Vectors of claims (markers stripped), embedding only those not `known` yet."""
    out = dict(known or {})
    missing = list(dict.fromkeys(t for t in texts if t not in out))
    if missing:
        out.update(zip(missing, embedder.embed_few(missing), strict=True))
    return out


def support(
    spans: Sequence[Span],
    evidence: Sequence[Evidence],
    embedder: Embedder | None,
    known: dict[str, np.ndarray] | None = None,
) -> list[Claim]:
    """Each claim with the sources that support it (best first), or flagged unsupported.
    `known`: claim vectors already computed (while the answer streamed)."""
    if not spans:
        return []
    texts = [strip_markers(s.text) for s in spans]
    vectors = claim_vectors(texts, embedder, known) if embedder is not None else None
    claims: list[Claim] = []
    for i, span in enumerate(spans):
        vector = vectors[texts[i]] if vectors is not None else None
        marked = marked_sources(span.text, len(evidence))
        scored = [(score(span.text, vector, ev), ev) for ev in evidence]
        if not scored:
            claims.append(Claim(span.text, span.start, span.end, marked))
            continue
        (best, order), best_ev = max(scored, key=lambda x: x[0][0])
        by_n = {ev.source.n: s for (s, _), ev in scored}
        supported = best >= SUPPORTED
        chosen: list[int] = []
        if supported:
            ranked = sorted(by_n, key=lambda n: -by_n[n])
            confirmed = [n for n in ranked if n in marked and by_n[n] >= SUPPORTED]
            # The model's own citation, where it holds, is kept as it is; otherwise the
            # best source and those nearly as good.
            chosen = confirmed or [n for n in ranked if by_n[n] >= max(SUPPORTED, best - MARGIN)]
            chosen = chosen[:MAX_SOURCES]
        evidence_text = _evidence(best_ev, vector, order)
        claims.append(
            Claim(
                text=span.text,
                start=span.start,
                end=span.end,
                marked=marked,
                sources=tuple(chosen),
                supported=supported,
                score=best,
                evidence=evidence_text if supported else (),
            )
        )
    return claims
