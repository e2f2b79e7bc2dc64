"""Query syntax: filters and phrases come out, the rest is the text."""

from __future__ import annotations

import pytest

from docchat.retrieve.query import ParsedQuery, parse_query, path_matches


def test_plain_text_passes_through() -> None:
    assert parse_query("dropout  overfitting") == ParsedQuery("dropout overfitting")


def test_filters_and_phrase_are_taken_out() -> None:
    q = parse_query('in:*.md page:10-20 "neural networks" dropout in:notes')
    assert q.text == "dropout"
    assert q.paths == ("*.md", "notes")
    assert q.pages == (10, 20)
    assert q.phrases == ("neural networks",)
    assert q.filtered


@pytest.mark.parametrize(
    ("raw", "pages"),
    [("page:7", (7, 7)), ("page:3-", (3, None)), ("page:-4", (None, 4)), ("page:9-2", (2, 9))],
)
def test_page_ranges(raw: str, pages: tuple[int | None, int | None]) -> None:
    assert parse_query(f"x {raw}").pages == pages


def test_malformed_page_stays_text() -> None:
    q = parse_query("page:abc x")
    assert q.pages is None and q.text == "page:abc x"


def test_quoted_path_and_unclosed_quote() -> None:
    q = parse_query('in:"my docs/*.pdf" "open ended')
    assert q.paths == ("my docs/*.pdf",)
    assert q.phrases == ("open ended",)
    assert q.text == ""
    assert q.ranking_text == "open ended"


def test_keys_are_case_insensitive_and_empty_values_ignored() -> None:
    q = parse_query('IN:*.txt Page:2 "" in:"" word')
    assert q.paths == ("*.txt",) and q.pages == (2, 2) and q.phrases == ()
    assert q.text == "word"
    assert parse_query("in: word").text == "in: word"  # a bare "in:" is just text


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.md", "/home/u/docs/a.md", True),
        ("*.md", "/home/u/docs/a.txt", False),
        ("notes", "/home/u/docs/notes/rivers.rst", True),
        ("notes/*.rst", "/home/u/docs/notes/rivers.rst", True),
        ("docs/notes", "/home/u/docs/notes/rivers.rst", True),
        ("note", "/home/u/docs/notes/rivers.rst", False),
        ("/home/u/docs/*", "/home/u/docs/a.md", True),
        ("a.md", "/home/u/docs/a.md", True),
        ("", "/x", False),
    ],
)
def test_path_matches(pattern: str, path: str, expected: bool) -> None:
    assert path_matches(path, pattern) is expected
