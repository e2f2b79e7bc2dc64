"""A stored conversation as Markdown, its citations turned into footnotes (file, page, lines).

The footnotes come from what was stored with each answer, not from the live index, so an
export stays right after the documents are re-indexed or removed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from docchat.generate.citations import markers
from docchat.types import MessageRow, SessionRow, Source


def footnote(source: Source) -> str:
    return f"{source.path}, {source.location}"


def _with_footnotes(text: str, answer_no: int, sources: Sequence[Source]) -> tuple[str, list[str]]:
    """Replace "[1, 3]" by "[^2.1][^2.3]" (labels unique across the document) and return the
    footnote lines for the sources actually cited."""
    by_n = {s.n: s for s in sources}
    used: dict[int, None] = {}
    out: list[str] = []
    last = 0
    for start, end, numbers in markers(text):
        known = [n for n in numbers if n in by_n]
        if not known:
            continue  # not a citation of ours (or a made-up number): leave it as written
        out.append(text[last:start])
        out.append("".join(f"[^{answer_no}.{n}]" for n in known))
        used.update(dict.fromkeys(known))
        last = end
    out.append(text[last:])
    notes = [f"[^{answer_no}.{n}]: {footnote(by_n[n])}" for n in used]
    return "".join(out), notes


def to_markdown(session: SessionRow, rows: Sequence[MessageRow], collection: str = "") -> str:
    started = time.strftime("%Y-%m-%d %H:%M", time.localtime(session.created_at))
    where = f"collection *{collection}*, " if collection else ""
    lines = [f"# {session.title}", "", f"*docchat session {session.id}, {where}{started}*", ""]
    notes: list[str] = []
    answer_no = 0
    for row in rows:
        if row.role == "user":
            lines += [f"**You:** {row.content}", ""]
            continue
        answer_no += 1
        text, these = _with_footnotes(row.content, answer_no, row.sources)
        if row.stopped:
            text += " *(stopped)*"
        if row.query and rows and row.query.strip() != _question_before(rows, row):
            lines += [f"*Searched for: {row.query}*", ""]
        lines += [f"**docchat:** {text}", ""]
        notes += these
    if notes:
        lines += ["---", "", *notes, ""]
    return "\n".join(lines)


def _question_before(rows: Sequence[MessageRow], answer: MessageRow) -> str:
    previous = ""
    for row in rows:
        if row.id == answer.id:
            break
        if row.role == "user":
            previous = row.content.strip()
    return previous
