"""The chunker: spans map back exactly, nothing exceeds the budget, boundaries are sensible."""

from __future__ import annotations

import itertools
import random

from fakes import FakeEmbedder
from hypothesis import given, settings
from hypothesis import strategies as st

from docchat.ingest.chunking import chunk_page
from docchat.types import ChunkSpan, Heading, Page

COUNT = FakeEmbedder().count_tokens


def assert_spans_exact(page: Page, chunks: list[ChunkSpan]) -> None:
    lines = page.text.split("\n")
    for c in chunks:
        assert page.text[c.char_start : c.char_end] == c.text
        # The recorded lines hold the chunk: joined, they contain its text exactly.
        assert c.text in "\n".join(lines[c.line_start - 1 : c.line_end])
        assert lines[c.line_start - 1].strip() and lines[c.line_end - 1].strip()


def test_spans_map_back_to_text_and_fit_budget() -> None:
    rnd = random.Random(1)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    paragraphs = [
        " ".join(rnd.choice(words) for _ in range(rnd.randint(5, 120))) + "." for _ in range(30)
    ]
    text = "\n\n".join(paragraphs)
    page = Page(text, 3)
    chunks = chunk_page(page, COUNT, 50, 10)
    assert len(chunks) > 10
    assert all(COUNT([c.text])[0] <= 50 for c in chunks)
    assert all(c.page == 3 for c in chunks)
    assert_spans_exact(page, chunks)
    # Every word of the page is in some chunk: nothing is dropped between chunks.
    covered: set[int] = set()
    for c in chunks:
        covered.update(range(c.char_start, c.char_end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_overlap_repeats_the_tail_of_the_previous_chunk() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(60))
    chunks = chunk_page(Page(text), COUNT, 40, 12)
    assert len(chunks) > 3
    for a, b in itertools.pairwise(chunks):
        assert b.char_start < a.char_end  # they share text
        assert b.char_start > a.char_start


def test_breaks_at_sentence_not_mid_word() -> None:
    text = "One short sentence here. " * 40
    for c in chunk_page(Page(text.strip()), COUNT, 30, 0):
        assert c.text.endswith(".")
        assert c.text.startswith("One")


def test_headings_become_paths_and_boundaries() -> None:
    text = "# Guide\nintro text\n## Install\npip install it\n## Usage\nrun it now\n"
    headings = (Heading(1, 1, "Guide"), Heading(3, 2, "Install"), Heading(5, 2, "Usage"))
    chunks = chunk_page(Page(text, None, headings), COUNT, 8, 0)
    by_heading = {c.heading: c.text for c in chunks}
    assert by_heading["Guide > Install"].startswith("## Install")
    assert "run it now" in by_heading["Guide > Usage"]
    assert_spans_exact(Page(text), chunks)


def test_a_giant_unbroken_token_is_cut_to_fit() -> None:
    text = "start " + "x" * 5000 + " end"
    count = lambda ts: [max(1, len(t) // 4) for t in ts]  # noqa: E731  (a char-based tokenizer)
    chunks = chunk_page(Page(text), count, 100, 0)
    assert all(count([c.text])[0] <= 100 for c in chunks)
    assert "".join(c.text for c in chunks).replace(" ", "") == text.replace(" ", "")


def test_empty_page_has_no_chunks() -> None:
    assert chunk_page(Page("  \n\n "), COUNT, 50, 5) == []


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab .\n\t#é"), min_size=1, max_size=600))
def test_any_text_chunks_exactly(text: str) -> None:
    page = Page(text)
    chunks = chunk_page(page, COUNT, 12, 3)
    assert_spans_exact(page, chunks)
    assert all(COUNT([c.text])[0] <= 12 for c in chunks)


def test_chinese_breaks_at_sentence_ends_without_spaces() -> None:
    text = "今天天气很好，我们去公园散步。" * 40
    count = lambda ts: [len(t) for t in ts]  # noqa: E731  (one token per character)
    chunks = chunk_page(Page(text), count, 50, 0)
    assert len(chunks) > 5
    assert all(c.text.endswith("。") for c in chunks)
    assert_spans_exact(Page(text), chunks)
