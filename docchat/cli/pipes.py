"""What `ask` and `search` share as shell tools: the question from stdin, `--format md|json|plain`.

stdout carries the payload and nothing else (progress, notes and errors go to stderr), so
`docchat search ... --json | jq` and `docchat ask ... --format md > answer.md` do what a
shell user expects.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from docchat.claims.render import UNSUPPORTED_MARK, UNSUPPORTED_NOTE
from docchat.cli.common import fail
from docchat.presentation import cut_notes, location
from docchat.types import Answer, Hit, Source

FORMATS = ("plain", "md", "json")
F = TypeVar("F", bound=Callable[..., Any])


def format_options(fn: F) -> F:
    """--format md|json|plain, and --json kept as its alias."""
    fn = click.option("--json", "as_json", is_flag=True, help="Same as --format json.")(fn)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        help="Output: plain (default), md (Markdown) or json.",
    )(fn)


def chosen_format(fmt: str | None, as_json: bool) -> str:
    if as_json and fmt not in (None, "json"):
        fail(f"--json and --format {fmt} disagree: give one of them")
    return "json" if as_json else (fmt or "plain")


def text_or_stdin(value: str | None, what: str) -> str:
    """The argument; or standard input when the argument is `-`, or absent and stdin is not a
    terminal (a pipe or a file). Empty -> a one-line error (exit 1)."""
    if value == "-" or (value is None and not sys.stdin.isatty()):
        value = sys.stdin.read()
    if not value or not value.strip():
        fail(f"give a {what}, as an argument or on standard input")
    return value.strip()


def shown_path(path: str) -> str:
    """Relative to the working directory when under it: shorter, and still clickable."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return path if rel.startswith("..") else rel


def _where(path: str, page: int | None, start: int, end: int) -> str:
    return f"`{shown_path(path)}`, {location(page, start, end)}"


def hits_markdown(query: str, hits: list[Hit]) -> str:
    out = [f"# Search: {query}", ""]
    if not hits:
        out += ["No passages found.", ""]
    for h in hits:
        out.append(f"## {h.rank}. {_where(h.path, h.page, h.line_start, h.line_end)}")
        out.append("")
        detail = f"score {h.score:.3f}"
        if h.heading:
            detail = f"*{h.heading}* · {detail}"
        out += [detail, ""]
        out += [f"> {line}".rstrip() for line in h.text.strip().split("\n")]
        out.append("")
    return "\n".join(out)


def answer_heading(question: str) -> str:
    """What md output starts with, before the answer streams in."""
    return f"# {' '.join(question.split())}\n\n"


def answer_markdown_footer(answer: Answer) -> str:
    """After the streamed answer: the stop mark and the sources, cited ones marked."""
    out = [""]
    out += [line for note in cut_notes(answer) for line in ("", f"*[{note}]*")]
    if UNSUPPORTED_MARK in answer.text and any(not c.supported for c in answer.claims):
        out += ["", f"{UNSUPPORTED_MARK} {UNSUPPORTED_NOTE}"]
    if answer.sources:
        out += ["", "## Sources", ""]
        cited = set(answer.cited)
        out += [_source_item(s, s.n in cited) for s in answer.sources]
    return "\n".join(out) + "\n"


def _source_item(s: Source, cited: bool) -> str:
    item = f"- [{s.n}] {_where(s.path, s.page, s.line_start, s.line_end)}"
    if s.heading:
        item += f" — {s.heading}"
    return item + (" (cited)" if cited else "")
