"""PDFs: physical page numbers, encryption, broken files, and pypdf's own test corpus."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from docchat.errors import ParseError, UnsupportedFile
from docchat.ingest.parsers import parse
from docchat.types import ParsedDocument

Check = Callable[[ParsedDocument], None]


def pdf_bytes(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF with one Helvetica text line per string (an empty list = blank)."""
    count = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, lines in enumerate(pages):
        ops = "".join(f"({line}) Tj T* " for line in lines)
        content = f"BT /F1 12 Tf 14 TL 72 720 Td {ops}ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


def write_pdf(path: Path, pages: list[list[str]], *, outline: dict[str, int] | None = None,
              user_password: str | None = None, title: str | None = None) -> Path:  # fmt: skip
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(pages))))
    for heading, page_index in (outline or {}).items():
        writer.add_outline_item(title=heading, page_number=page_index)
    if title:
        writer.add_metadata({"/Title": title})
    if user_password is not None:
        # RC4 needs no extra crypto library, so this runs wherever pypdf does.
        writer.encrypt(user_password, owner_password="owner", algorithm="RC4-128")
    with path.open("wb") as f:
        writer.write(f)
    return path


def test_pages_keep_physical_numbers_when_some_are_blank(
    tmp_path: Path, check_positions: Check
) -> None:
    path = write_pdf(
        tmp_path / "report.pdf",
        [["Cover page"], [], ["Chapter One", "It begins."], [], ["Chapter Two", "The end."]],
        outline={"Chapter One": 2, "Chapter Two": 4, "Missing Heading": 0},
        title="Annual Report",
    )
    doc = parse(path)
    check_positions(doc)
    assert doc.kind == "pdf"
    assert doc.title == "Annual Report"
    assert [p.number for p in doc.pages] == [1, 3, 5]
    assert "It begins." in doc.pages[1].text
    assert [(h.line, h.level, h.title) for h in doc.pages[1].headings] == [(1, 1, "Chapter One")]
    assert doc.pages[0].headings == ()  # the bookmark's text is not on its page


def test_empty_user_password_opens_silently(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "open.pdf", [["Readable by anyone"]], user_password="")
    assert "Readable by anyone" in parse(path).pages[0].text


def test_password_protected_pdf_is_a_parse_error(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "locked.pdf", [["Secret"]], user_password="hunter2")
    with pytest.raises(ParseError, match="encrypted PDF, needs a password"):
        parse(path)


def test_pdf_without_text_is_unsupported(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "scan.pdf", [[], []])
    with pytest.raises(UnsupportedFile, match="no extractable text"):
        parse(path)


@pytest.mark.parametrize(
    "data",
    [b"", b"%PDF-1.4\n", b"not a pdf at all", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog", None],
    ids=["empty", "header-only", "garbage", "cut-short", "truncated-real"],
)
def test_broken_pdf_is_a_one_line_parse_error(tmp_path: Path, data: bytes | None) -> None:
    if data is None:
        whole = pdf_bytes([["Hello there"]] * 3)
        data = whole[: len(whole) // 3]
    path = tmp_path / "broken.pdf"
    path.write_bytes(data)
    with pytest.raises((ParseError, UnsupportedFile)) as info:
        parse(path)
    assert "\n" not in str(info.value) and len(str(info.value)) < 200


# ---------------------------------------------------------------- pypdf's test corpus

# Every PDF in pypdf 7.1.0's sdist (pinned in conftest.py), one test each so failures name
# the file and pytest-xdist can spread the slow ones.
SAMPLE_PDFS = [
    "AutoCad_Diagram.pdf", "AutoCad_Simple.pdf", "FormTestFromOo.pdf",
    "GeoBase_NHNC1_Data_Model_UML_EN.pdf", "SF424_page2.pdf", "Sample_Td-matrix.pdf",
    "Seige_of_Vicksburg_Sample_OCR-crazyones-merged.pdf", "Seige_of_Vicksburg_Sample_OCR.pdf",
    "attachment.pdf", "box.pdf", "bytes.pdf", "commented-xmp.pdf", "commented.pdf",
    "crazyones-encrypted-256.pdf", "crazyones.pdf", "encrypted-file.pdf",
    "encrypted_doc_no_id.pdf", "encryption/r2-empty-password.pdf",
    "encryption/r2-owner-password.pdf", "encryption/r2-user-password.pdf",
    "encryption/r3-empty-password.pdf", "encryption/r3-user-password.pdf",
    "encryption/r4-aes-user-password.pdf", "encryption/r4-aes-v2-no-key-length.pdf",
    "encryption/r4-owner-password.pdf", "encryption/r4-user-password.pdf",
    "encryption/r5-empty-password.pdf", "encryption/r5-owner-password.pdf",
    "encryption/r5-user-password.pdf", "encryption/r6-both-passwords.pdf",
    "encryption/r6-cleartext-metadata.pdf", "encryption/r6-empty-password.pdf",
    "encryption/r6-owner-password.pdf", "encryption/r6-user-password.pdf",
    "encryption/unencrypted.pdf", "example.pdf", "fontsampler.pdf", "form.pdf",
    "form_acrobatReader.pdf", "form_evince.pdf", "git.pdf", "hello-world.pdf",
    "imagemagick-ASCII85Decode.pdf", "imagemagick-CCITTFaxDecode.pdf", "imagemagick-images.pdf",
    "imagemagick-lzw.pdf", "indirect-rotation.pdf", "inkscape-abc.pdf", "issue-297.pdf",
    "issue-301.pdf", "issue-3850-1bit-indexed-flate.pdf", "issue-604.pdf",
    "issue-914-xmp-data.pdf", "jpeg.pdf", "labeled-edges-center-image.pdf",
    "libreoffice-form.pdf", "libreoffice-writer-password.pdf", "metadata.pdf", "missing_info.pdf",
    "multilang.pdf", "outline-without-title.pdf", "outlines-with-invalid-destinations.pdf",
    "pdflatex-forms.pdf", "pdflatex-outline.pdf", "reportlab-inline-image.pdf",
    "selenium-pypdf-issue-177.pdf", "side-by-side-subfig.pdf", "superscript-pdftex.pdf",
    "test Orient.pdf", "toy.pdf", "two-different-pages.pdf", "visitor_text_position.pdf",
]  # fmt: skip
# Need a password that is not empty. (The others in encryption/ open with an empty user
# password, or with an empty owner password, as r5/r6-user-password.pdf do.)
NEEDS_PASSWORD = {
    "encrypted-file.pdf", "libreoffice-writer-password.pdf", "crazyones-encrypted-256.pdf",
    "encryption/r2-user-password.pdf", "encryption/r3-user-password.pdf",
    "encryption/r4-user-password.pdf", "encryption/r4-aes-user-password.pdf",
    "encryption/r6-both-passwords.pdf", "encryption/r6-cleartext-metadata.pdf",
}  # fmt: skip
# Images only (or, for encrypted_doc_no_id.pdf, an empty page): nothing to index.
NO_TEXT = {
    "box.pdf", "git.pdf", "imagemagick-ASCII85Decode.pdf", "imagemagick-CCITTFaxDecode.pdf",
    "imagemagick-lzw.pdf", "issue-3850-1bit-indexed-flate.pdf", "encrypted_doc_no_id.pdf",
}  # fmt: skip
# AES (revision 5/6 or AES-V2) decryption needs the optional 'cryptography' package.
NEEDS_AES = {name for name in SAMPLE_PDFS if "/r5-" in name or "/r6-" in name or "aes" in name}


def test_sample_set_is_the_pinned_one(pdf_samples: Path) -> None:
    found = sorted(p.relative_to(pdf_samples).as_posix() for p in pdf_samples.rglob("*.pdf"))
    assert found == SAMPLE_PDFS


@pytest.mark.parametrize("name", SAMPLE_PDFS)
def test_sample_pdf_parses_or_fails_cleanly(
    pdf_samples: Path, name: str, check_positions: Check
) -> None:
    from pypdf import PdfReader

    path = pdf_samples / name
    try:
        doc = parse(path)
    except (ParseError, UnsupportedFile) as err:
        message = str(err)
        assert message and "\n" not in message
        if name in NEEDS_PASSWORD:
            assert isinstance(err, ParseError) and "encrypted PDF" in message
        elif name in NO_TEXT:
            assert isinstance(err, UnsupportedFile) and "no extractable text" in message
        else:
            assert name in NEEDS_AES and "pip install cryptography" in message
        return
    assert name not in NEEDS_PASSWORD | NO_TEXT
    check_positions(doc)
    assert doc.kind == "pdf"
    assert max(p.number or 0 for p in doc.pages) <= len(PdfReader(path).pages)
    if name.startswith("encryption/"):
        assert "pdf encryption test" in doc.pages[0].text


def test_sample_page_numbers_are_physical(pdf_samples: Path) -> None:
    doc = parse(pdf_samples / "imagemagick-images.pdf")
    numbers = [p.number for p in doc.pages]
    assert numbers[0] == 1 and 4 not in numbers  # page 4 holds only an image
    crazy = parse(pdf_samples / "crazyones.pdf")
    assert crazy.pages[0].number == 1 and "The Crazy Ones" in crazy.pages[0].text


def test_sample_outline_becomes_headings(pdf_samples: Path, check_positions: Check) -> None:
    doc = parse(pdf_samples / "pdflatex-outline.pdf")
    check_positions(doc)
    assert sum(len(p.headings) for p in doc.pages) >= 5


# Real text: page 245 of the Debian Reference PDF (LaTeX, Type0 fonts spaced by TJ offsets)
# as pypdf reads it, and as pdfium reads it.
_DEBIAN_PYPDF = """equation conditiontoreturnlogicaltrue
-e file file exists
-d file file existsandisadirectory
-f file file existsandisaregularfile
-x file file existsandisexecutable
file1 -ef file2 file1 and file2 areonthesamedeviceandthesameinodenumber
Table12.5: Listoffilecomparisonoperatorsintheconditionalexpression
-z str thelengthof str iszero
Eachcommandreturnsanexitstatuswhichcanbeusedforconditionalexpressions."""
_DEBIAN_PDFIUM = """equation condition to return logical true
-e file file exists
-d file file exists and is a directory
-f file file exists and is a regular file
-x file file exists and is executable
file1 -ef file2 file1 and file2 are on the same device and the same inode number
Table 12.5: List of file comparison operators in the conditional expression
-z str the length of str is zero
Each command returns an exit status which can be used for conditional expressions."""
_PROSE = [
    "The shell script is a text file with the execution bit set and",
    "contains the commands in the following format. The first line",
    "specifies the shell interpreter which reads and executes this file",
    "contents. Reading shell scripts is the best way to understand how",
    "a Unix-like system works. Here, I give some pointers and reminders",
]


def test_glued_share_tells_glued_text_from_prose() -> None:
    from docchat.ingest.parsers.pdf import GLUED_PAGE, glued_share

    assert glued_share(_DEBIAN_PYPDF) > 0.5
    assert glued_share(_DEBIAN_PDFIUM) == 0.0
    assert glued_share("\n".join(_PROSE)) < GLUED_PAGE
    assert glued_share("Internationalization" * 3) == 0.0  # under 200 letters: no verdict


def _glue_pypdf(monkeypatch: pytest.MonkeyPatch, mark: str = "") -> None:
    """pypdf reads every page with its spaces lost (as it does the Debian Reference)."""
    from pypdf import PageObject

    read = PageObject.extract_text
    monkeypatch.setattr(
        PageObject,
        "extract_text",
        lambda self, *a, **k: read(self, *a, **k).replace(" ", "") + mark,
    )


def test_glued_pages_are_read_again_by_pdfium(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _glue_pypdf(monkeypatch)
    doc = parse(write_pdf(tmp_path / "manual.pdf", [_PROSE, ["Short page."]]))
    assert doc.pages[0].text.splitlines() == _PROSE  # pdfium's spaces
    assert doc.pages[1].text == "Shortpage."  # too short to judge: pypdf's text kept


def test_pdfium_text_is_kept_only_when_less_glued(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pypdfium2 as pdfium

    _glue_pypdf(monkeypatch, mark=" (pypdf)")
    read = pdfium.PdfTextPage.get_text_range
    monkeypatch.setattr(
        pdfium.PdfTextPage,
        "get_text_range",
        lambda self, *a, **k: read(self, *a, **k).replace(" ", ""),
    )
    doc = parse(write_pdf(tmp_path / "manual.pdf", [_PROSE]))
    assert doc.pages[0].text.endswith("(pypdf)")
