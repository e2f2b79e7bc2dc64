"""One file cannot hang a run (issue 10, F3): chunking is linear, data is refused, chunks are
capped and identical ones kept once. Each test writes a real file and parses it, and asserts
on work counters (characters tokenized, tokenizer calls, chunks made), never on time."""

from __future__ import annotations

import base64
import random
from pathlib import Path

import pytest
from fakes import FakeEmbedder

from docchat.config import Settings
from docchat.errors import UnsupportedFile
from docchat.ingest.chunking import chunk_document
from docchat.ingest.parsers import parse
from docchat.ingest.prepare import PreparedFile, prepare_chunks
from docchat.types import Page, ParsedDocument

COUNT = FakeEmbedder().count_tokens
LIMITS = Settings().index
SENTENCE = "The quick brown fox jumps over the lazy dog. "


def prepare(
    path: Path, max_chunks: int = LIMITS.max_chunks_per_file, max_tokens: int = 64
) -> PreparedFile:
    return prepare_chunks(
        parse(path),
        COUNT,
        max_tokens,
        8,
        max_chunks=max_chunks,
        max_text_chars=LIMITS.max_text_chars,
    )


def words(n: int, seed: int = 1) -> str:
    """n distinct-looking words in sentences and paragraphs, as prose has."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        word = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 9)))
        out.append(word + (".\n\n" if i % 97 == 96 else ". " if i % 13 == 12 else " "))
    return "".join(out)


def test_ten_megabytes_of_base64_on_one_line_is_skipped_as_not_prose(tmp_path: Path) -> None:
    path = tmp_path / "bundle.js"
    path.write_bytes(base64.b64encode(random.Random(3).randbytes(7_500_000)))
    with pytest.raises(UnsupportedFile, match=r"^not prose: one line of 10\.0 million characters"):
        prepare(path)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        # A PEM-like dump: lines of 76 base64 characters, so there are line breaks.
        ("dump.txt", "\n".join(["QUJD" * 19] * 20_000), "mostly unbroken strings"),
        ("minified.json", '{"k":[' + ",".join(["1234567"] * 200_000) + "]}", "without spaces"),
        ("zeros.txt", "0 " * 100_000, "too repetitive"),
    ],
    ids=["base64-lines", "minified", "repetitive"],
)
def test_other_data_is_skipped_as_not_prose(
    tmp_path: Path, name: str, content: str, reason: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UnsupportedFile, match=f"^not prose: .*{reason}"):
        prepare(path)


def test_a_long_line_of_data_if_chunked_costs_linear_work() -> None:
    """The chunker itself (no prose check) on 1 MB of base64: each character is tokenized a
    bounded number of times (the old halving re-tokenized it ~log2(n) times)."""
    text = base64.b64encode(random.Random(4).randbytes(750_000)).decode()
    result = chunk_document(ParsedDocument((Page(text),)), COUNT, 64)
    stats = result.stats
    assert stats.chars_tokenized <= 3 * len(text)
    assert stats.tokenizer_calls <= 3 * stats.texts_tokenized // 2048 + 10
    assert "".join(s.text for s in result.spans) == text  # nothing lost, nothing repeated


def test_ten_megabytes_of_one_repeated_sentence_give_a_handful_of_chunks(tmp_path: Path) -> None:
    path = tmp_path / "repeated.txt"
    path.write_text(SENTENCE * 222_000, encoding="utf-8")  # 9.99 million characters
    prepared = prepare(path)
    assert 1 <= len(prepared.spans) <= 10
    assert len({s.text for s in prepared.spans}) == len(prepared.spans)
    assert prepared.stats.duplicates_dropped > 10_000
    # Each distinct word is tokenized once, then each distinct chunk once.
    assert prepared.stats.chars_tokenized < 100_000
    assert prepared.notes == []


def test_work_grows_linearly_with_the_text() -> None:
    def work(n: int) -> tuple[int, int]:
        doc = ParsedDocument((Page(words(n)),))
        stats = chunk_document(doc, COUNT, 64, 8).stats
        return stats.chars_tokenized, stats.chunks_made

    small, big = work(20_000), work(80_000)
    assert big[0] <= 4.4 * small[0] and big[1] <= 4.4 * small[1]


def test_a_long_file_is_capped_and_the_cap_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "long.md"
    path.write_text(words(60_000), encoding="utf-8")
    prepared = prepare(path, max_chunks=50)
    assert len(prepared.spans) == 50
    assert prepared.note == (
        "capped at 50 chunks (index.max_chunks_per_file); the rest is not indexed"
    )
    # Only the chunks kept are counted again with the real tokenizer.
    assert prepared.stats.texts_tokenized < 60_000


def test_pages_past_the_cap_are_not_chunked() -> None:
    pages = tuple(Page(words(300, seed=i), number=i) for i in range(1, 1001))
    result = chunk_document(ParsedDocument(pages), COUNT, 64, 8, max_chunks=20)
    assert result.capped and len(result.spans) == 20
    assert result.stats.chunks_made < 60  # a few pages' worth, not a thousand


def test_text_past_max_text_chars_is_cut_and_reported() -> None:
    doc = ParsedDocument((Page(words(2000), number=1), Page(words(2000, seed=2), number=2)))
    first = len(doc.pages[0].text)
    prepared = prepare_chunks(doc, COUNT, 64, 8, max_chunks=None, max_text_chars=first + 10)
    assert {s.page for s in prepared.spans} == {1, 2}
    assert max(s.char_end for s in prepared.spans if s.page == 2) <= 10
    assert prepared.note is not None and "index.max_text_chars" in prepared.note


def test_ordinary_prose_and_code_are_not_refused(tmp_path: Path) -> None:
    prose = tmp_path / "essay.md"
    prose.write_text(words(5000), encoding="utf-8")
    code = tmp_path / "tool.py"
    code.write_text(
        "\n".join(f"def f{i}(x):\n    return x * {i}  # scale\n" for i in range(500)),
        encoding="utf-8",
    )
    assert prepare(prose).spans and prepare(code).spans


@pytest.mark.parametrize(
    "sentence",
    [
        "今天天气很好，我们去公园散步，看见了许多盛开的花。",
        "きょうはいいてんきですね、こうえんにいきましょう。",
    ],
    ids=["chinese", "japanese"],
)
def test_prose_without_spaces_between_words_is_not_refused(tmp_path: Path, sentence: str) -> None:
    """Chinese and Japanese put no spaces between words; that alone must not read as data."""
    path = tmp_path / "notes.md"
    path.write_text("".join(f"{sentence}{i}" * 3 for i in range(400)), encoding="utf-8")
    assert prepare(path).spans  # one long line without a single space
