"""Citation markers in every shape small models write them."""

from __future__ import annotations

import pytest

from docchat.generate.citations import markers, parse_citations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Churn rose [1].", [1]),
        ("Both say so [1, 3].", [1, 3]),
        ("Both say so [1][2].", [1, 2]),
        ("See [2; 1 and 3].", [2, 1, 3]),
        ("Pages agree [2-4].", [2, 3, 4]),
        ("An en dash [1–2].", [1, 2]),
        ("Written out [Source 2] and [sources 1, 3].", [2, 1, 3]),
        ("Spaces [ 2 ] count.", [2]),
        ("No markers here.", []),
        ("Repeated [2] then [1] then [2].", [2, 1]),
    ],
)
def test_parses_every_shape_in_order_of_first_use(text: str, expected: list[int]) -> None:
    assert parse_citations(text, 5) == expected


def test_numbers_out_of_range_are_ignored() -> None:
    assert parse_citations("Made up [0] [6] [99] but real [5].", 5) == [5]


def test_brackets_that_are_not_citations_are_ignored() -> None:
    assert parse_citations("list[int] and [a] and [1.5] and [see above]", 5) == []


def test_markers_give_positions_for_rewriting() -> None:
    text = "A [1, 2] b [3]"
    assert [(text[s:e], ns) for s, e, ns in markers(text)] == [("[1, 2]", [1, 2]), ("[3]", [3])]
