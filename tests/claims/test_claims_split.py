"""Cutting answers into claims: sentences, list items, markers, code spans, abbreviations."""

from __future__ import annotations

from docchat.claims.split import source_sentences, split_claims


def texts(answer: str) -> list[str]:
    spans = split_claims(answer)
    assert all(answer[s.start : s.end] == s.text for s in spans)  # places are exact
    return [s.text for s in spans]


def test_sentences_with_abbreviations_numbers_and_initials() -> None:
    answer = (
        "Dropout zeroes activations, e.g. hidden units, during training [1]. It cut the error "
        "by 3.5 percent (see Fig. 2) in J. Smith's runs. Does dropout help? Yes, usually it helps!"
    )
    assert texts(answer) == [
        "Dropout zeroes activations, e.g. hidden units, during training [1].",
        "It cut the error by 3.5 percent (see Fig. 2) in J. Smith's runs.",
        "Does dropout help?",
        "Yes, usually it helps!",
    ]


def test_list_items_are_claims_and_lead_ins_are_not() -> None:
    answer = (
        "Here are the steps:\n\n"
        "1. Save your work with `git stash` [2].\n"
        "2. Pull, then run `git stash pop`. [1]\n"
        "- Conflicts must be resolved by hand.\n"
    )
    assert texts(answer) == [
        "Save your work with `git stash` [2].",
        "Pull, then run `git stash pop`. [1]",
        "Conflicts must be resolved by hand.",
    ]


def test_code_spans_and_fences_do_not_split_or_count() -> None:
    answer = (
        "## Restoring\n"
        "Run `pg_restore -d db file.dump. Then wait` to restore it [1].\n\n"
        "```sh\npg_restore -d db dump.file. Next line.\n```\n"
        "Sure!"
    )
    assert texts(answer) == ["Run `pg_restore -d db file.dump. Then wait` to restore it [1]."]


def test_markers_after_the_full_stop_stay_with_their_sentence() -> None:
    assert texts("VACUUM FULL rewrites the table. [1][3] Plain VACUUM does not [2].") == [
        "VACUUM FULL rewrites the table. [1][3]",
        "Plain VACUUM does not [2].",
    ]


def test_source_sentences_join_wrapped_lines() -> None:
    text = (
        "CREATE INDEX CONCURRENTLY builds\nthe index without locking. It is slower.\n\n"
        "- item one here"
    )
    assert source_sentences(text) == [
        "CREATE INDEX CONCURRENTLY builds\nthe index without locking.",
        "It is slower.",
        "item one here",
    ]
