"""Registers the built-in parsers (imported on first use by parsers.parser_for).

Each parser module imports its library only when a file is parsed, so importing this module
stays cheap and a missing optional library only affects its own file type.
"""

from __future__ import annotations

from docchat.ingest.parsers.docx import DOCX_SUFFIXES, parse_docx
from docchat.ingest.parsers.epub import EPUB_SUFFIXES, parse_epub
from docchat.ingest.parsers.html import HTML_SUFFIXES, parse_html
from docchat.ingest.parsers.image import IMAGE_SUFFIXES, parse_image
from docchat.ingest.parsers.notebook import NOTEBOOK_SUFFIXES, parse_notebook
from docchat.ingest.parsers.pdf import PDF_SUFFIXES, parse_pdf
from docchat.ingest.parsers.registry import register
from docchat.ingest.parsers.text import (
    ASCIIDOC_SUFFIXES,
    CODE_NAMES,
    CODE_SUFFIXES,
    DOC_NAMES,
    MARKDOWN_SUFFIXES,
    ORG_SUFFIXES,
    PLAIN_SUFFIXES,
    RST_SUFFIXES,
    parse_text,
)

register(
    parse_text,
    suffixes=MARKDOWN_SUFFIXES
    + RST_SUFFIXES
    + ORG_SUFFIXES
    + ASCIIDOC_SUFFIXES
    + PLAIN_SUFFIXES
    + CODE_SUFFIXES,
    names=CODE_NAMES + DOC_NAMES,
)
register(parse_html, suffixes=HTML_SUFFIXES)
register(parse_pdf, suffixes=PDF_SUFFIXES)
register(parse_docx, suffixes=DOCX_SUFFIXES)
register(parse_epub, suffixes=EPUB_SUFFIXES)
register(parse_notebook, suffixes=NOTEBOOK_SUFFIXES)
register(parse_image, suffixes=IMAGE_SUFFIXES)
