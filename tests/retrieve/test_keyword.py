"""Keyword query construction: safe FTS5 syntax from any input, stopwords, phrases."""

from __future__ import annotations

from pathlib import Path

import pytest

from docchat.retrieve.filters import phrase_expression
from docchat.retrieve.keyword import fts_query, keyword_search
from docchat.retrieve.terms import query_terms
from docchat.service import Docchat
from docchat.store.collection import Collection
from docchat.types import Restriction


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


@pytest.fixture
def coll(service: Docchat, tmp_path: Path) -> Collection:
    root = tmp_path / "kw"
    root.mkdir()
    (root / "rivers.txt").write_text("the rivers are flowing\n", encoding="utf-8")
    (root / "bread.txt").write_text("bread and salt\n", encoding="utf-8")
    (root / "odd.txt").write_text("a b c value col and or not\n", encoding="utf-8")
    list(service.index("kw", [root]))
    return service.open_collection("kw")


@pytest.mark.parametrize("text", ['"unbalanced', "a*b^c", "AND OR NOT", "col:value", "()"])
def test_odd_input_never_raises(coll: Collection, text: str) -> None:
    keyword_search(coll, text, 5, Restriction())


def test_porter_stemming_matches_inflections(coll: Collection) -> None:
    hits = keyword_search(coll, "river flows", 5, Restriction())
    assert [path(coll, cid) for cid, _ in hits] == ["rivers.txt"]
    assert all(score > 0 for _, score in hits)  # higher is better


def test_a_restriction_limits_the_documents(coll: Collection) -> None:
    ids = {Path(p).name: i for i, p in coll.documents()}
    only_bread = Restriction(document_ids=(ids["bread.txt"],))
    assert keyword_search(coll, "river flows", 5, only_bread) == []
    assert [path(coll, c) for c, _ in keyword_search(coll, "salt", 5, only_bread)] == ["bread.txt"]
    assert keyword_search(coll, "salt", 5, Restriction(document_ids=())) == []


def path(coll: Collection, chunk_id: int) -> str:
    return Path(coll.chunks([chunk_id])[chunk_id].path).name
