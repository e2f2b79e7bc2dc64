"""PDF files, one Page per physical page.

Real-world PDFs are often damaged, encrypted or image-only. Each of those must become one
line in the index report rather than a traceback, so every call into pypdf is guarded and its
exception turned into ParseError (the file is broken) or UnsupportedFile (nothing to read).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docchat.errors import DocchatError, ParseError, UnsupportedFile, missing
from docchat.ingest import ocr
from docchat.ingest.parsers.common import normalize_newlines, one_line, read_bytes
from docchat.types import Heading, Page, ParsedDocument

if TYPE_CHECKING:
    from pypdf import PdfReader

PDF_SUFFIXES = (".pdf",)

_NON_WORD = re.compile(r"\W+")
_LETTERS = re.compile(r"[^\W\d_]+")
GLUED_LETTERS = 20  # a run of letters this long is (almost always) several words glued
GLUED_PAGE = 0.1  # pages with more of their letters in such runs are read again by pdfium
_SECTION_NUMBER = re.compile(r"^\d+")
# A ParseError, not MissingDependency: one AES-encrypted file must not stop a whole index run.
_NEEDS_CRYPTOGRAPHY = (
    "encrypted PDF (AES) needs the 'cryptography' package: pip install cryptography"
)


def parse_pdf(path: Path) -> ParsedDocument:
    """Parse a PDF; pages without text are left out but the others keep their numbers."""
    try:
        from pypdf import PdfReader
    except ImportError:
        raise missing("pypdf", "reading PDF files") from None
    from pypdf.errors import DependencyError

    data = read_bytes(path)
    # Viewers accept the header anywhere in the first KiB; without one it is not a PDF, and
    # pypdf's complaint about random bytes ("EOF marker not found") would not say so.
    if b"%PDF-" not in data[:1024]:
        raise ParseError("not a valid PDF file (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        _unlock(reader)
        count = len(reader.pages)
    except DocchatError:
        raise
    except DependencyError:
        raise ParseError(_NEEDS_CRYPTOGRAPHY) from None
    except Exception as err:  # pypdf raises anything on a damaged file
        raise ParseError(f"broken PDF: {one_line(err)}") from None

    texts: dict[int, str] = {}
    first_error: str | None = None
    for number in range(1, count + 1):
        try:
            raw = reader.pages[number - 1].extract_text()
        except DependencyError:
            raise ParseError(_NEEDS_CRYPTOGRAPHY) from None
        except Exception as err:  # one bad page should not lose the others
            first_error = first_error or one_line(err)
            continue
        if text := _clean(raw):
            texts[number] = text
    _respace(data, texts)
    read_by_ocr, why_not = _ocr_pages(reader, data, texts)
    if not texts:
        if first_error:
            raise ParseError(f"broken PDF: {first_error}")
        raise UnsupportedFile(f"no extractable text (scanned PDF?){why_not}")

    headings = _outline_headings(reader, texts)
    pages = tuple(
        Page(
            text=text,
            number=n,
            headings=tuple(headings.get(n, ())) if n not in read_by_ocr else (),
            ocr=n in read_by_ocr,
        )
        for n, text in sorted(texts.items())
    )
    return ParsedDocument(pages=pages, title=_title(reader), kind="pdf")


def glued_share(text: str) -> float:
    """How much of a page's text reads as words run together: the share of its letters in
    runs of GLUED_LETTERS or more (0 for a page with under 200 letters). English prose has
    almost none; pypdf gives 0.44 on a median page of the Debian Reference (LaTeX, Type0
    fonts spaced by TJ offsets: "Eachcommandreturnsanexitstatus")."""
    words = _LETTERS.findall(text)
    letters = sum(len(w) for w in words)
    if letters < 200:
        return 0.0
    return sum(len(w) for w in words if len(w) >= GLUED_LETTERS) / letters


def _respace(data: bytes, texts: dict[int, str]) -> None:
    """Pages whose pypdf text runs words together (glued_share over GLUED_PAGE) are read
    again by pdfium, which places spaces from the glyph positions; its text is kept when it
    is glued at most half as much. Glued words defeat keyword search (BM25 never sees
    "length" in "thelengthof") and blur the embedding."""
    glued = {n: share for n, text in texts.items() if (share := glued_share(text)) > GLUED_PAGE}
    if not glued:
        return
    try:
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(data)
    except Exception:  # not installed, or pdfium cannot open what pypdf could: keep pypdf's
        return
    try:
        for n, share in glued.items():
            try:
                page = pdf[n - 1]
                textpage = page.get_textpage()
                text = _clean(textpage.get_text_range())
                textpage.close()
                page.close()
            except Exception:  # one bad page keeps its pypdf text
                continue
            if text and glued_share(text) <= share / 2:
                texts[n] = text
    finally:
        pdf.close()


def _ocr_pages(reader: PdfReader, data: bytes, texts: dict[int, str]) -> tuple[set[int], str]:
    """Read by OCR the pages that need it (index.ocr: auto = those without text that hold
    an image; force = every page, replacing its text layer), into `texts`; returns the
    pages read and, when OCR was needed but could not run, why (for the skip reason)."""
    mode = ocr.options().mode
    if mode == "off":
        return set(), "; index.ocr is off" if len(texts) < len(reader.pages) else ""
    wanted = [
        n
        for n in range(1, len(reader.pages) + 1)
        if mode == "force" or (n not in texts and _has_image(reader, n))
    ]
    done: set[int] = set()
    if not wanted:
        return done, ""
    try:
        for n, image in ocr.render_pdf_pages(data, wanted):
            if text := _clean(ocr.read_image(image)):
                texts[n] = text
                done.add(n)
    except UnsupportedFile as e:
        return done, f"; {e}"
    except ocr.Stopped:
        raise
    except Exception as e:  # pdfium on a damaged file: the text layer is all there is
        return done, f"; OCR failed: {one_line(e)}"
    return done, ""


def _has_image(reader: PdfReader, number: int) -> bool:
    """Whether a page draws an image (a scan does; a blank page does not)."""
    try:
        resources = reader.pages[number - 1].get("/Resources")
        xobjects = resources.get_object().get("/XObject") if resources else None
        return bool(xobjects and len(xobjects.get_object()))
    except Exception:
        return True  # unsure: let OCR look


def _unlock(reader: PdfReader) -> None:
    """Open PDFs that are encrypted with an empty user password, as viewers do silently."""
    if not reader.is_encrypted:
        return
    from pypdf.errors import DependencyError

    try:
        unlocked = reader.decrypt("")
    except DependencyError:
        raise ParseError(_NEEDS_CRYPTOGRAPHY) from None
    except Exception as err:  # as above: any exception means a damaged file
        raise ParseError(f"encrypted PDF, cannot decrypt: {one_line(err)}") from None
    if not unlocked:
        raise ParseError("encrypted PDF, needs a password")


def _clean(raw: str) -> str:
    # Broken ToUnicode maps can yield lone surrogates, which cannot be stored as UTF-8.
    text = normalize_newlines(raw).encode("utf-8", "replace").decode("utf-8")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def _title(reader: PdfReader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # a bad info dictionary only costs the title
        return None
    return " ".join(str(title or "").replace("\x00", "").split()) or None


def _outline_headings(reader: PdfReader, texts: dict[int, str]) -> dict[int, list[Heading]]:
    """Bookmarks placed on the line of their page that reads as the bookmark's title.

    The line must match the whole title (ignoring case, punctuation and section numbers), so
    a word of body text is not taken for a heading; the Heading keeps the line's own wording.
    A bookmark not found that way is left out: a heading must point at a real line.
    """
    found: dict[int, list[Heading]] = {}
    try:
        for level, item in _outline_items(reader.outline, 1):
            index = reader.get_destination_page_number(item)
            number = index + 1 if index is not None else 0
            key = _title_key(str(item.title or ""))
            if number not in texts or not key:
                continue
            taken = {h.line for h in found.get(number, ())}
            for i, line in enumerate(texts[number].split("\n"), start=1):
                if i not in taken and _title_key(line) == key:
                    found.setdefault(number, []).append(Heading(i, level, line.strip()))
                    break
    except Exception:  # a broken outline only costs the headings
        return found
    for headings in found.values():
        headings.sort(key=lambda h: h.line)
    return found


def _title_key(text: str) -> str:
    """Match key: "3.2  Histology:" and "HISTOLOGY" both give "histology"."""
    return _SECTION_NUMBER.sub("", _NON_WORD.sub("", text.casefold()))


def _outline_items(outline: list[Any], level: int) -> Iterator[tuple[int, Any]]:
    """pypdf nests an entry's children as a list right after the entry."""
    for item in outline:
        if isinstance(item, list):
            yield from _outline_items(item, level + 1)
        else:
            yield level, item
