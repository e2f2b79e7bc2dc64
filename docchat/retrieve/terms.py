"""The words of a query that matter: what keyword search ranks by and what the UI highlights.

English stopwords are dropped when something else is left: they carry almost no BM25 weight,
yet their posting lists are the longest, so they cost most of the query time (measured in
benchmarks/README.md).
"""

from __future__ import annotations

import re

_TERM = re.compile(r"\w+", re.UNICODE)

# A common short English list (the usual BM25/Lucene-style one, plus a few question words):
# short on purpose, since a word that matters in some domain must not vanish.
_STOPWORD_TEXT = """
    a an and are as at be but by for if in into is it no not of on or such that the their
    then there these they this to was will with what which who whom how why when where do does
    did has have had been being were its than so can could would should may might i we you
    he she them our your his her from about all any each"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def query_terms(text: str, drop_stopwords: bool = True) -> list[str]:
    """Distinct lower-cased terms, in order; stopwords dropped unless nothing else is left."""
    terms = list(dict.fromkeys(t.lower() for t in _TERM.findall(text)))
    if drop_stopwords:
        content = [t for t in terms if t not in STOPWORDS]
        if content:
            return content
    return terms
