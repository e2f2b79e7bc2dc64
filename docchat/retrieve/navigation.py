"""Structure signals over the fused head of a ranking (pure functions, issue 14).

- Navigation-like chunks — tables of contents (dotted leaders, page numbers at line ends),
  indexes, link lists, "see also" blocks: many short lines and few sentences — are kept but
  ranked down (`navigation_score`, `search.navigation_penalty`).
- Page-level evidence: several strong chunks of one page lift its chunks above one lucky
  chunk of another page (`search.page_weight`). Only independent evidence counts
  (`search.page_support`, default "several"): chunks that neither overlap the lifted chunk
  nor sit next to it, and at least two of them — so a passage the chunker cut in two, or a
  short page (an abstract in two or three chunks), is not lifted by its own other half.
- Title match: a chunk whose document's title (or file name) names what the query asks about
  is lifted (`search.title_weight`): "what does the --depth option of git clone do" favours
  git-clone(1) over the glossary. Title words are weighted by how few of the head's documents
  share them, so a word every title has ("git") counts for little.

All work on the first `search.structure_candidates` fused chunks, with the scores of that
head scaled to [0, 1] (its last chunk 0, its first 1), so the same weights mean the same
thing whichever fusion method (or single retriever) produced the scores. The adjustments
are reported back in fused-score units, for --explain.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

# A contents/index line: dotted (or spaced-dot) leaders, or a title that ends in a page
# number or a list of them ("Locking, 13.3, 67"), or a link in Markdown form.
_LEADER = re.compile(r"(?:\.\s?){4,}\s*[\divxlc]+\s*$", re.IGNORECASE)
_NUM = r"\d{1,4}(?:\.\d{1,4})*(?:[-–]\d{1,4})?"
_PAGE_REF = re.compile(rf"\w\)?,\s*{_NUM}(?:,\s*{_NUM})*\s*$")  # "Locking, 13.3, 67"
_LINK = re.compile(r"\[[^\]]+\]\([^)]*\)")
# A line of references only: "git-commit[1], git-diff[1]" or "apt(8), dpkg(1)".
_REFS = re.compile(r"^(?:[\w.:-]+(?:\[\w{1,3}\]|\(\w{1,3}\))[,;.]?\s*)+$")
_SENTENCE_END = re.compile(r"[a-z)\]`'\"][.!?](?:\s|$)")
_BULLET = re.compile(r"^\s*(?:[-*•◦]\s+)?")
# A section number ("1.3.5", "A.2", "Chapter 4") or a capital: how titles start.
_TITLE_START = re.compile(r"^(?:(?:\d+|[A-Z])(?:\.\d+)+\.?\s+|\d+\.?\s+)?[A-Z0-9]")
# Code, tables, options, markup: lines that are short without being titles.
_CODE = re.compile(r"[|{}=;<>$`\\#]|^\s*[-+]{1,2}\w|\w\(|\*\*|^\s*[-+]{3,}")
SHORT_LINE_WORDS = 8  # an entry of a list, not a line of prose
MIN_LINES = 3  # fewer lines than this is not a list at all


@lru_cache(maxsize=20_000)  # the same chunks come back query after query
def navigation_score(text: str) -> float:
    """How much a chunk looks like navigation, 0 (prose) to 1 (a contents page).

    The share of its lines that are list entries — a contents/index line (leaders or page
    numbers at the end), a link, or a short line that does not end a sentence — damped
    when the chunk still reads as sentences (prose with a few short lines is not a list).
    Short lines that are not entries: those in a ``` code block, one ending in ":" (it
    introduces an example), an indented line that is no list item (a syntax synopsis).
    """
    raw = [ln for ln in text.splitlines() if ln.strip()]
    lines = [ln.strip() for ln in raw]
    if len(lines) < MIN_LINES:
        return 0.0
    entries = 0.0
    fenced = False  # inside a ``` code block
    for line, original in zip(lines, raw, strict=True):
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue  # code: an SQL example's short lines are not a list
        item = _BULLET.sub("", line) if line[0] in "-*•◦" else line
        last = item[-1]
        # Cheap tests first: most lines of prose fail them all without a regex.
        if (
            (last.isalnum() and (". ." in item or "...." in item) and _LEADER.search(item))
            or ("](" in item and _LINK.search(item))
            or (last in ")],;." and _REFS.match(item))
        ):
            entries += 1.0  # unmistakably a pointer elsewhere
            continue
        words = len(item.split())
        if last.isdigit() and words <= 2 * SHORT_LINE_WORDS and _PAGE_REF.search(item):
            entries += 1.0  # an index entry
        elif words > SHORT_LINE_WORDS or _CODE.search(item) or not _TITLE_START.match(item):
            continue  # prose, code, a table row, an option, a continued sentence
        elif last == ":" or (original[:2] == "  " and line[0] not in "-*•◦"):
            # "To drop a column:" introduces an example; an indented line that is no list
            # item continues a syntax synopsis or a code block ("    SET WITHOUT CLUSTER").
            continue
        elif not _SENTENCE_END.search(item):
            # A short title-like line: also a table cell or a heading, so only half.
            entries += 0.5
    share = entries / len(lines)
    words = max(1, len(text.split()))
    sentences = len(_SENTENCE_END.findall(text))
    # Prose: about one sentence end per 15-25 words; a list has almost none.
    prose = min(1.0, sentences * 20 / words)
    return round(min(1.0, max(0.0, share - prose)), 4)


@dataclass(frozen=True)
class Structure:
    """What to apply to the head of a ranking (0 turns a signal off)."""

    navigation_penalty: float = 0.0
    page_weight: float = 0.0
    candidates: int = 100
    title_weight: float = 0.0
    page_support: str = "several"  # which chunks of a page count as support: PAGE_SUPPORTS

    @property
    def active(self) -> bool:
        return self.navigation_penalty > 0 or self.page_weight > 0 or self.title_weight > 0


@dataclass(frozen=True)
class ChunkFacts:
    """What the structure signals need of a chunk."""

    page: tuple[int, int | None]  # (document id, page number or None)
    text: str
    title: str = ""  # the document's title and file name (for the title match)
    ordinal: int | None = None  # its place in its document (None: unknown)
    span: tuple[int, int] | None = None  # its characters in its document [start, end)
    page_chunks: int = 0  # how many chunks its page has (0: unknown)


PAGE_SUPPORT = 2  # how many other chunks of a page count as its support
MEAN_OF = 3  # "mean": a page scores the mean of its best min(MEAN_OF, chunks on it) chunks
# Which chunks of a page lift a chunk of it (search.page_support):
# - "several": at least PAGE_SUPPORT chunks neither sharing text with it (chunk overlap) nor
#   next to it — a passage cut in two by the chunker is one piece of evidence, not two, and
#   one more matching passage is not yet "several"; so a short page (an abstract of two or
#   three chunks, one PDF page) is not lifted by its own other half, a long page with matches
#   in several places is;
# - "apart": the same, from one such chunk on;
# - "disjoint": chunks that share no text with it (neighbours count);
# - "any": every other chunk of the page (overlapping halves lift each other);
# - "mean": the page scores the mean of its best min(3, n) chunks, n its number of chunks
#   (so a short page is not out-lifted by a long one for its length alone).
PAGE_SUPPORTS = ("several", "apart", "disjoint", "any", "mean")


def _separate(a: ChunkFacts, b: ChunkFacts, adjacent_too: bool) -> bool:
    """Whether chunk b is evidence independent of chunk a: no shared text and (adjacent_too)
    not its neighbour. Unknown spans/ordinals count as separate."""
    if (
        a.span is not None
        and b.span is not None
        and max(a.span[0], b.span[0]) < min(a.span[1], b.span[1])
    ):
        return False  # they share text (chunk overlap)
    if adjacent_too and a.ordinal is not None and b.ordinal is not None:
        return abs(a.ordinal - b.ordinal) >= 2
    return True


def page_support(
    cid: int, members: Sequence[tuple[float, int]], facts: Mapping[int, ChunkFacts], rule: str
) -> float:
    """What a page's chunks in the head (`members`: scaled score and id, best first) give
    chunk `cid` of that page as evidence, 0 to 1; `rule` one of PAGE_SUPPORTS."""
    if rule == "mean":
        n = facts[cid].page_chunks or len(members)
        best = [s for s, _ in members[: min(MEAN_OF, n)]]
        return sum(best) / min(MEAN_OF, n)
    me = facts[cid]
    others = [
        s
        for s, c in members
        if c != cid and (rule == "any" or _separate(me, facts[c], rule != "disjoint"))
    ]
    if rule == "several" and len(others) < PAGE_SUPPORT:
        return 0.0
    return sum(others[:PAGE_SUPPORT]) / PAGE_SUPPORT


_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> set[str]:
    """Lower-cased words of a title or query, numbers left out, a plural 's' dropped (a
    title says "Tables", a question "table")."""
    out = set()
    for w in _WORD.findall(text.lower()):
        if w.isdigit():
            continue
        out.add(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return out


def title_matches(query: str, titles: Mapping[int, str]) -> dict[int, float]:
    """Per document id, the share of its title's words the query names (0 to 1), each word
    weighted by log(1 + documents / documents whose title has it): a title word every
    document shares carries little."""
    asked = words(query)
    bags = {doc: words(t) for doc, t in titles.items()}
    bags = {doc: bag for doc, bag in bags.items() if bag}
    if not asked or not bags:
        return {}
    df: dict[str, int] = {}
    for bag in bags.values():
        for w in bag:
            df[w] = df.get(w, 0) + 1
    n = len(bags)
    out = {}
    for doc, bag in bags.items():
        weight = {w: math.log(1 + n / df[w]) for w in bag}
        hit = sum(v for w, v in weight.items() if w in asked)
        out[doc] = round(hit / sum(weight.values()), 4) if hit else 0.0
    return out


def restructure(
    ranked: Sequence[tuple[int, float]],
    facts: Mapping[int, ChunkFacts],
    how: Structure,
    query: str = "",
) -> tuple[list[tuple[int, float]], dict[int, dict[str, float]]]:
    """The ranking with its head re-scored, and per chunk the signals' contributions.

    Only chunks in the head with known facts are re-scored; the rest keep their order
    below the head (their scores untouched).
    """
    head = [(cid, s) for cid, s in ranked[: how.candidates] if cid in facts]
    if not how.active or len(head) < 2:
        return list(ranked), {}
    top, low = head[0][1], min(s for _, s in head)
    spread = top - low if top > low else 1.0
    norm = {cid: (s - low) / spread for cid, s in head}
    explain: dict[int, dict[str, float]] = {}
    penalised: dict[int, float] = {}
    for cid, _ in head:
        nav = navigation_score(facts[cid].text) if how.navigation_penalty > 0 else 0.0
        cut = how.navigation_penalty * nav * norm[cid]
        penalised[cid] = norm[cid] - cut
        explain[cid] = {"navigation": nav, "navigation_penalty": round(-cut * spread, 6) + 0.0}
    if how.title_weight > 0:
        docs = {facts[cid].page[0]: facts[cid].title for cid, _ in head}
        matched = title_matches(query, docs)
        for cid, _ in head:
            match = matched.get(facts[cid].page[0], 0.0)
            boost = how.title_weight * match
            explain[cid]["title_match"] = match
            explain[cid]["title_boost"] = round(boost * spread, 6)
            penalised[cid] += boost
    if how.page_weight > 0:
        by_page: dict[tuple[int, int | None], list[tuple[float, int]]] = {}
        for cid, _ in head:
            by_page.setdefault(facts[cid].page, []).append((penalised[cid], cid))
        for members in by_page.values():
            members.sort(reverse=True)
            for score, cid in members:
                boost = how.page_weight * page_support(cid, members, facts, how.page_support)
                explain[cid]["page_boost"] = round(boost * spread, 6)
                penalised[cid] = score + boost
    rescored = sorted(
        ((cid, low + penalised[cid] * spread) for cid, _ in head),
        key=lambda item: (-item[1], item[0]),
    )
    kept = {cid for cid, _ in head}
    return rescored + [(cid, s) for cid, s in ranked if cid not in kept], explain
