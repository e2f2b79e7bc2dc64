"""Keyword query construction: safe FTS5 syntax from any input, stopwords, phrases."""

from __future__ import annotations

import sqlite3

import pytest

from docchat.retrieve.filters import Restriction, phrase_expression, unrestricted
from docchat.retrieve.keyword import fts_query, keyword_search, query_terms


def test_terms_are_distinct_lowercase_without_stopwords() -> None:
    assert query_terms("What is the Dropout of the dropout?") == ["dropout"]


def test_all_stopwords_are_kept_rather_than_nothing() -> None:
    assert query_terms("to be or not to be") == ["to", "be", "or", "not"]


def test_stopwords_can_be_kept() -> None:
    assert query_terms("the river", drop_stopwords=False) == ["the", "river"]


def test_fts_query_quotes_terms_so_operators_are_words() -> None:
    assert fts_query("cats NOT dogs NEAR(x)") == '"cats" OR "dogs" OR "near" OR "x"'


def test_fts_query_with_phrases() -> None:
    phrase = phrase_expression(("black sea", 'say "hi"'))
    assert phrase == '"black sea" AND "say ""hi"""'
    assert fts_query("danube", phrase_match=phrase) == f'({phrase}) AND ("danube")'
    assert fts_query("", phrase_match=phrase) == phrase
    assert fts_query("?!") == ""


@pytest.mark.parametrize("text", ['"unbalanced', "a*b^c", "AND OR NOT", "col:value", "()"])
def test_odd_input_never_raises(text: str) -> None:
    db = sqlite3.connect(":memory:")
    db.executescript(
        "CREATE TABLE chunks(id INTEGER PRIMARY KEY, text TEXT, heading TEXT, state INT);"
        "CREATE VIRTUAL TABLE chunks_fts USING fts5(text, heading, content='chunks', "
        "content_rowid='id', tokenize='porter unicode61');"
        "INSERT INTO chunks VALUES (1, 'a b c value col and or not', NULL, 0);"
        "INSERT INTO chunks_fts(chunks_fts) VALUES('rebuild');"
    )
    keyword_search(db, text, 5, unrestricted())


def test_porter_stemming_matches_inflections() -> None:
    db = sqlite3.connect(":memory:")
    db.executescript(
        "CREATE TABLE chunks(id INTEGER PRIMARY KEY, text TEXT, heading TEXT, state INT);"
        "CREATE VIRTUAL TABLE chunks_fts USING fts5(text, heading, content='chunks', "
        "content_rowid='id', tokenize='porter unicode61');"
        "INSERT INTO chunks VALUES (1, 'the rivers are flowing', NULL, 0);"
        "INSERT INTO chunks VALUES (2, 'bread and salt', NULL, 0);"
        "INSERT INTO chunks VALUES (3, 'a flowing river', NULL, 2);"  # a tombstone
        "INSERT INTO chunks_fts(chunks_fts) VALUES('rebuild');"
    )
    # Unfiltered queries skip the join (the caller drops tombstones when fetching texts) ...
    hits = keyword_search(db, "river flows", 5, unrestricted())
    assert sorted(cid for cid, _ in hits) == [1, 3]
    assert all(score > 0 for _, score in hits)  # higher is better
    # ... filtered ones apply the restriction in SQL.
    hits = keyword_search(db, "river flows", 5, Restriction("c.state != 2 AND c.id < 10", ()))
    assert [cid for cid, _ in hits] == [1]
