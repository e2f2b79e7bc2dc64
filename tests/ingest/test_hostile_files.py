"""Files that used to give a misleading or raw message, or too much memory (issue 10, F8/F9).
Each test writes the real file (makers in tests/hostile/corpus.py) and parses or indexes it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hostile import corpus

from docchat.errors import ParseError, UnsupportedFile
from docchat.ingest.parsers import parse
from docchat.service import Docchat
from docchat.types import FileDone, IndexStarted, IndexSummary


@pytest.mark.parametrize("name", ["a.docx", "a.epub", "a.pdf", "a.html", "a.ipynb", "a.md"])
def test_every_empty_file_is_skipped_alike(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(UnsupportedFile, match=r"^empty file$"):
        parse(tmp_path / name)


@pytest.mark.parametrize("kind", ["docx", "epub", "pdf"])
def test_random_bytes_are_not_a_valid_file_of_their_kind(tmp_path: Path, kind: str) -> None:
    path = corpus.random_bytes(tmp_path / f"random.{kind}")
    with pytest.raises(ParseError, match=f"^not a valid {kind.upper()} file") as info:
        parse(path)
    assert str(path) not in str(info.value)  # not "Package not found at '<path>'"


def test_a_zip_that_is_no_word_document_says_so(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "archive.docx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(ParseError, match=r"^not a valid DOCX file \(a zip without"):
        parse(path)


def test_html_with_characters_xml_refuses_keeps_its_text(tmp_path: Path) -> None:
    doc = parse(corpus.garbage_html(tmp_path / "garbage.html"))
    text = doc.pages[0].text
    assert "Visible words" in text and "after the garbage" in text
    assert "\x01" not in text and "\x00" not in text


def test_a_hundred_thousand_nested_divs_still_give_their_text(tmp_path: Path) -> None:
    doc = parse(corpus.deep_html(tmp_path / "deep.html", 100_000))
    assert "The treasure is buried under the old oak tree." in doc.pages[0].text


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("nb_cells_are_lists.ipynb", "invalid notebook: cell 1 is a JSON list, not an object"),
        (
            "nb_top_level_list.ipynb",
            "invalid notebook: the top level is a JSON list, not an object",
        ),
        ("nb_cells_not_a_list.ipynb", "invalid notebook: 'cells' is not a list"),
    ],
)
def test_broken_notebooks_say_what_is_wrong(tmp_path: Path, name: str, reason: str) -> None:
    path = corpus.notebook(tmp_path / name, corpus.NOTEBOOKS[name])
    with pytest.raises(ParseError) as info:
        parse(path)
    assert str(info.value) == reason


def test_a_notebook_with_one_malformed_output_keeps_the_rest(tmp_path: Path) -> None:
    name = "nb_bad_outputs.ipynb"
    doc = parse(corpus.notebook(tmp_path / name, corpus.NOTEBOOKS[name]))
    assert "# Results" in doc.pages[0].text and "```text\n1\n```" in doc.pages[0].text


def test_a_notebook_that_is_not_json_says_so(tmp_path: Path) -> None:
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": []})[:-3], encoding="utf-8")
    with pytest.raises(ParseError, match=r"^invalid notebook: not JSON \("):
        parse(path)


@pytest.mark.parametrize("big_endian", [False, True], ids=["le", "be"])
def test_utf16_without_a_bom_is_text(tmp_path: Path, big_endian: bool) -> None:
    doc = parse(corpus.utf16_without_bom(tmp_path / "note.txt", big_endian))
    assert doc.pages[0].text.startswith("Grüße aus Köln.\n")


@pytest.mark.parametrize("kind", ["docx", "epub"])
def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path: Path, kind: str) -> None:
    path = corpus.zip_bomb(tmp_path / f"bomb.{kind}", kind, unpacked_mb=64)
    assert path.stat().st_size < 1_000_000
    with pytest.raises(ParseError, match=r"^compressed content too large: 64\.0 MB unpacked"):
        parse(path)


def test_a_docx_with_a_large_image_is_read(tmp_path: Path) -> None:
    doc = parse(corpus.docx_with_image(tmp_path / "photos.docx", image_mb=4))
    assert "harbour at dawn" in doc.pages[0].text


def test_a_file_deleted_mid_run_is_skipped_as_gone(service: Docchat, tmp_path: Path) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    for name in ("a.md", "b.docx", "c.md"):
        (root / name).write_text(f"# {name}\n\nSome text about {name}.\n", encoding="utf-8")
    events = []
    for event in service.index("t", [str(root)]):
        if isinstance(event, IndexStarted):  # the walk has listed them; now two vanish
            os.remove(root / "b.docx")
            os.remove(root / "c.md")
        events.append(event)
    done = {e.path.name: (e.status, e.reason) for e in events if isinstance(e, FileDone)}
    gone = ("skipped", "gone (deleted during the run)")
    assert done == {"a.md": ("indexed", None), "b.docx": gone, "c.md": gone}
    summary = events[-1]
    assert isinstance(summary, IndexSummary) and summary.failed == []
    assert service.check("t").ok
