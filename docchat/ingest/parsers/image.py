"""Image files (PNG, JPEG, TIFF): their text read by OCR (docchat/ingest/ocr.py). A TIFF of
several frames is paged, one page per frame; any other image is one unpaged page."""

from __future__ import annotations

from pathlib import Path

from docchat.errors import ParseError, UnsupportedFile
from docchat.ingest import ocr
from docchat.ingest.parsers.common import normalize_newlines, one_line
from docchat.types import Page, ParsedDocument

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
MAX_FRAMES = 500  # a TIFF "book" past this is more likely a stack of data than of pages


def parse_image(path: Path) -> ParsedDocument:
    if ocr.options().mode == "off":
        raise UnsupportedFile("image: not read, index.ocr is off")
    try:
        from PIL import Image, ImageSequence
    except ImportError:
        raise UnsupportedFile(f"image: OCR needs Pillow ({ocr.INSTALL})") from None
    try:
        with Image.open(path) as image:
            frames = [
                f.convert("RGB")
                for _, f in zip(range(MAX_FRAMES), ImageSequence.Iterator(image), strict=False)
            ]
    except FileNotFoundError:
        raise
    except Image.DecompressionBombError as e:
        raise ParseError(f"image too large to read: {one_line(e)}") from None
    except Exception as e:  # PIL raises many kinds on a damaged file
        raise ParseError(f"broken image: {one_line(e)}") from None
    paged = len(frames) > 1
    pages = []
    for number, frame in enumerate(frames, start=1):
        text = normalize_newlines(ocr.read_image(frame)).strip()
        if text:
            pages.append(Page(text=text, number=number if paged else None, ocr=True))
    if not pages:
        raise UnsupportedFile("image without text")
    return ParsedDocument(pages=tuple(pages), kind="image")
