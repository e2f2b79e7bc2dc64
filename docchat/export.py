"""A stored conversation as Markdown, its citations turned into footnotes (file, page, lines).

The footnotes come from what was stored with each answer, not from the live index, so an
export stays right after the documents are re-indexed or removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from docchat.claims.render import UNSUPPORTED_MARK, UNSUPPORTED_NOTE
from docchat.generate.citations import rewrite
from docchat.presentation import cut_notes, place, when
from docchat.types import MessageRow, SessionRow, Source


def to_markdown(session: SessionRow, rows: Sequence[MessageRow], collection: str = "") -> str:
    started = when(session.created_at)
    # One line of plain words each: a title spread over lines or nested `*` broke the header.
    where = f"collection `{collection}`, " if collection else ""
    title = " ".join(session.title.split()) or f"Session {session.id}"
    lines = [f"# {title}", "", f"_docchat session {session.id}, {where}{started}_", ""]
    notes: list[str] = []
    answer_no = 0
    unsupported = False
    for row in rows:
        if row.role == "user":
            lines += [f"**You:** {row.content}", ""]
            continue
        answer_no += 1
        by_n = {s.n: s for s in row.sources}
        text, cited = rewrite(row.content, by_n, partial(_labels, answer_no))
        these = [f"[^{answer_no}.{n}]: {_footnote(by_n[n])}" for n in cited]
        if f" {UNSUPPORTED_MARK}" in text:  # a claim the check found in none of the sources
            text = text.replace(f" {UNSUPPORTED_MARK}", "[^?]")
            unsupported = True
        text += "".join(f" *({note})*" for note in cut_notes(row))
        if row.query and rows and row.query.strip() != _question_before(rows, row):
            lines += [f"*Searched for: {row.query}*", ""]
        lines += [f"**docchat:** {text}", ""]
        notes += these
    if unsupported:
        notes.append(f"[^?]: {UNSUPPORTED_NOTE}")
    if notes:
        lines += ["---", "", *notes, ""]
    return "\n".join(lines)


def _labels(answer_no: int, numbers: list[int]) -> str:
    """ "[1, 3]" in answer 2 becomes "[^2.1][^2.3]": labels unique across the document."""
    return "".join(f"[^{answer_no}.{n}]" for n in numbers)


def _footnote(s: Source) -> str:
    return place(s.path, s.page, s.line_start, s.line_end)


def _question_before(rows: Sequence[MessageRow], answer: MessageRow) -> str:
    previous = ""
    for row in rows:
        if row.id == answer.id:
            break
        if row.role == "user":
            previous = row.content.strip()
    return previous
