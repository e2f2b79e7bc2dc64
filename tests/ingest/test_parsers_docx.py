"""Word files: paragraphs and tables in order, heading styles on the right lines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from docchat.errors import ParseError, UnsupportedFile
from docchat.ingest.parsers import parse
from docchat.types import ParsedDocument

Check = Callable[[ParsedDocument], None]


def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = "Field Guide"
    document.add_heading("Field Guide", level=0)  # the "Title" style
    document.add_paragraph("An introduction to birds.")
    document.add_heading("Owls", level=1)
    owl = document.add_paragraph("Owls hunt at night.")
    owl.add_run().add_break()
    owl.add_run("Second line of the same paragraph.")
    document.add_paragraph("")  # empty paragraphs are dropped
    table = document.add_table(rows=2, cols=3)
    for row, values in zip(
        table.rows, [("Species", "Wingspan", "Diet"), ("Barn owl", "", "Mice")], strict=True
    ):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    merged = document.add_table(rows=1, cols=3)
    merged.cell(0, 0).merge(merged.cell(0, 1)).text = "Spans two"
    merged.cell(0, 2).text = "Alone"
    document.add_heading("Barn owl", level=2)
    document.add_paragraph("Pale and heart-faced.")
    document.save(str(path))
    return path


def test_headings_land_on_their_lines(tmp_path: Path, check_positions: Check) -> None:
    doc = parse(make_docx(tmp_path / "guide.docx"))
    check_positions(doc)
    (page,) = doc.pages
    lines = page.text.split("\n")
    assert doc.kind == "docx" and doc.title == "Field Guide"
    assert [(h.level, h.title) for h in page.headings] == [
        (1, "Field Guide"),
        (1, "Owls"),
        (2, "Barn owl"),
    ]
    for heading in page.headings:
        assert lines[heading.line - 1] == heading.title
    assert "Owls hunt at night.\nSecond line of the same paragraph." in page.text
    assert "Species | Wingspan | Diet\nBarn owl |  | Mice" in page.text
    assert "Spans two | Alone" in page.text  # a merged cell appears once
    assert page.text.index("Diet") < page.text.index("Pale and heart-faced.")


def test_not_a_docx_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "fake.docx"
    path.write_bytes(b"this is not a zip file")
    with pytest.raises(ParseError, match="not a valid DOCX file"):
        parse(path)


def test_zip_that_is_not_a_docx_is_a_parse_error(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "archive.docx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(ParseError):
        parse(path)


def test_empty_document_is_unsupported(tmp_path: Path) -> None:
    import docx

    path = tmp_path / "blank.docx"
    docx.Document().save(str(path))
    with pytest.raises(UnsupportedFile, match="empty"):
        parse(path)


def test_sample_documents(docx_samples: Path, check_positions: Check) -> None:
    paths = sorted(docx_samples.rglob("*.docx"))
    assert len(paths) >= 40
    for path in paths:
        try:
            doc = parse(path)
        except UnsupportedFile:  # several fixtures are deliberately empty
            continue
        check_positions(doc)
    known = parse(docx_samples / "features/steps/test_files/par-known-styles.docx")
    assert [(h.level, h.title) for h in known.pages[0].headings] == [(1, "Heading 1")]
    cells = parse(docx_samples / "features/steps/test_files/tbl-cell-access.docx").pages[0].text
    assert cells.startswith("1 | 2 | 3\n4 | 5 | 6\n7 | 8 | 9")
