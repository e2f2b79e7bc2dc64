"""A hostile corpus: the files a messy disk really holds, made by hand (issue 10).

`build(root)` writes every case under `root` and returns what each input file should come to
(`Expect`: the state and a piece of the reason), so the corpus test can check that every file
got a true reason. Each maker is also usable alone, for a unit test on one real file.

    python -m hostile.corpus /tmp/hostile      # from tests/: write it, to try by hand

Sizes follow the issue (10 MB of base64, 10 MB of one sentence, a 20 MB HTML page, a PDF of
thousands of pages, a 60-deep path); `small=True` shrinks the big ones for quick runs.
"""

from __future__ import annotations

import base64
import io
import json
import os
import random
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SENTENCE = "The quick brown fox jumps over the lazy dog. "


@dataclass(frozen=True)
class Expect:
    """What the index run should say about a file: its state, and a piece of the reason
    (None: any reason, or none for an indexed file)."""

    state: str
    reason: str | None = None


def _vocabulary() -> list[str]:
    rnd = random.Random(0)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rnd.choices(letters, k=rnd.randint(2, 9))) for _ in range(20_000)]


VOCABULARY = _vocabulary()


def prose(n_words: int, seed: int = 0) -> str:
    """Readable-looking text: words of a 20,000-word vocabulary in sentences and paragraphs."""
    words = random.Random(seed).choices(VOCABULARY, k=n_words)
    for i in range(12, n_words, 13):
        words[i] += "."
    for i in range(96, n_words, 97):
        words[i] += ".\n\n"
    return " ".join(words) + "."


# ---------------------------------------------------------------- F3: data, not prose


def base64_line(path: Path, size: int = 10_000_000) -> Path:
    path.write_bytes(base64.b64encode(random.Random(1).randbytes(size * 3 // 4)))
    return path


def repeated_sentences(path: Path, size: int = 10_000_000) -> Path:
    path.write_text(SENTENCE * (size // len(SENTENCE)), encoding="utf-8")
    return path


def pem_like(path: Path, lines: int = 20_000) -> Path:
    rnd = random.Random(2)
    path.write_text(
        "\n".join(base64.b64encode(rnd.randbytes(57)).decode() for _ in range(lines)),
        encoding="utf-8",
    )
    return path


def repetitive_characters(path: Path, size: int = 1_000_000) -> Path:
    path.write_text("a " * (size // 2), encoding="utf-8")
    return path


# ---------------------------------------------------------------- F7: not regular files


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def symlink_loop(folder: Path) -> tuple[Path, Path]:
    a, b = folder / "loop_a.txt", folder / "loop_b.txt"
    a.symlink_to(b.name)
    b.symlink_to(a.name)
    return a, b


def dangling_symlink(path: Path) -> Path:
    path.symlink_to(path.with_name("no-such-target.md").name)
    return path


# ---------------------------------------------------------------- F8: misleading messages


def random_bytes(path: Path, size: int = 20_000, seed: int = 3) -> Path:
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def garbage_html(path: Path) -> Path:
    """Text with control characters lxml refuses, NULs and bytes that are not UTF-8."""
    body = b"<html><body><p>Visible words \x01\x02\x03 survive\x0b here.</p>"
    body += b"<p>" + random.Random(4).randbytes(3000).replace(b"<", b"(") + b"</p>"
    body += b"<p>More \x00 text \x1f after the garbage.</p></body></html>"
    path.write_bytes(body)
    return path


def deep_html(path: Path, depth: int = 100_000) -> Path:
    text = "The treasure is buried under the old oak tree."
    path.write_text(
        "<html><body>" + "<div>" * depth + f"<p>{text}</p>" + "</div>" * depth + "</body></html>",
        encoding="utf-8",
    )
    return path


def big_html(path: Path, size: int = 20_000_000) -> Path:
    paragraphs = []
    total, i = 0, 0
    while total < size:
        p = f"<h2>Section {i}</h2><p>{prose(150, seed=i)}</p>\n"
        paragraphs.append(p)
        total += len(p)
        i += 1
    path.write_text(
        "<html><head><title>Big page</title></head><body><article>"
        + "".join(paragraphs)
        + "</article></body></html>",
        encoding="utf-8",
    )
    return path


NOTEBOOKS: dict[str, object] = {
    "nb_cells_are_lists.ipynb": {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [["not", "a", "cell"]],
    },
    "nb_top_level_list.ipynb": [1, 2, 3],
    "nb_cells_not_a_list.ipynb": {"nbformat": 4, "nbformat_minor": 5, "cells": "oops"},
    "nb_bad_outputs.ipynb": {  # odd outputs only lose themselves: the notebook is indexed
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"language_info": ["python"]},
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "# Results\nAll good."},
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": 1,
                "source": "print(1)",
                "outputs": ["not an output", {"output_type": "stream", "text": ["1\n"]}],
            },
        ],
    },
}


def notebook(path: Path, content: object) -> Path:
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


def utf16_without_bom(path: Path, big_endian: bool = False) -> Path:
    text = "Grüße aus Köln.\nThis file was saved as UTF-16 without a byte order mark.\n"
    path.write_bytes(text.encode("utf-16-be" if big_endian else "utf-16-le"))
    return path


# ---------------------------------------------------------------- F9: memory


def zip_bomb(path: Path, kind: str, unpacked_mb: int = 64) -> Path:
    """A DOCX or EPUB whose one XML part unpacks to `unpacked_mb` MB (about 1000:1)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        if kind == "docx":
            z.writestr("[Content_Types].xml", _DOCX_TYPES)
            z.writestr("_rels/.rels", _DOCX_RELS)
            part = "word/document.xml"
        else:
            z.writestr("mimetype", "application/epub+zip", zipfile.ZIP_STORED)
            z.writestr("META-INF/container.xml", _EPUB_CONTAINER)
            part = "OEBPS/chapter.xhtml"
        with z.open(part, "w", force_zip64=True) as f:
            block = b" " * (1 << 20)
            for _ in range(unpacked_mb):
                f.write(block)
    return path


def docx_with_image(path: Path, image_mb: int = 20) -> Path:
    """A real DOCX (python-docx) holding one large, incompressible image and a paragraph."""
    import docx

    document = docx.Document()
    document.add_heading("Holiday photos", 1)
    document.add_paragraph("The picture below shows the harbour at dawn.")
    document.add_picture(io.BytesIO(_png(image_mb * (1 << 20))))
    document.save(str(path))
    return path


def _png(size: int) -> bytes:
    """A PNG whose header python-docx reads; its pixel data is random (not decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", 4000, 3000, 8, 2, 0, 0, 0)
    idat = random.Random(5).randbytes(size)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


_DOCX_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_DOCX_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxml'
    'formats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
    "</Relationships>"
)
_EPUB_CONTAINER = (
    '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:'
    'xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type='
    '"application/oebps-package+xml"/></rootfiles></container>'
)


# ---------------------------------------------------------------- more hostile shapes


def many_page_pdf(path: Path, pages: int = 3000) -> Path:
    """A PDF of `pages` pages with a line of text each, written with pypdf."""
    from pypdf import PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        NameObject,
        NumberObject,
    )

    writer = PdfWriter()
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
    )
    for n in range(1, pages + 1):
        page = writer.add_blank_page(612, 792)
        stream = DecodedStreamObject()
        stream.set_data(
            f"BT /F1 12 Tf 72 720 Td (Page {n} talks about topic {n % 37}.) Tj ET".encode()
        )
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        page[NameObject("/MediaBox")] = ArrayObject([NumberObject(x) for x in (0, 0, 612, 792)])
    with path.open("wb") as f:
        writer.write(f)
    return path


def deep_path(root: Path, depth: int = 60) -> Path:
    folder = root.joinpath(*(f"d{i}" for i in range(depth)))
    folder.mkdir(parents=True)
    path = folder / "bottom.md"
    path.write_text("# Bottom\n\nThe deepest note of all.\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- the whole corpus


def build(root: Path, *, small: bool = False) -> dict[Path, Expect]:
    """Write the corpus under `root`; {input file: what the index run should say}."""
    root.mkdir(parents=True, exist_ok=True)
    mb = 1_000_000 if not small else 100_000
    out: dict[Path, Expect] = {}

    def add(path: Path, expect: Expect) -> None:
        out[path] = expect

    def text(name: str, content: str, expect: Expect) -> None:
        (root / name).write_text(content, encoding="utf-8")
        add(root / name, expect)

    indexed = Expect("indexed")
    # Ordinary files, so the run has real work to do around the hostile ones.
    for i in range(5):
        text(f"ordinary_{i}.md", f"# Note {i}\n\n{prose(300, seed=100 + i)}\n", indexed)

    # F3
    add(base64_line(root / "bundle.min.js", 10 * mb), Expect("skipped", "not prose"))
    add(repeated_sentences(root / "repeated.txt", 10 * mb), indexed)
    add(pem_like(root / "dump.txt", 2 * mb // 77), Expect("skipped", "not prose"))
    add(repetitive_characters(root / "aaaa.txt", mb), Expect("skipped", "not prose"))
    text("long.md", prose(400_000 if not small else 40_000, seed=7), indexed)
    # F7
    if hasattr(os, "mkfifo"):
        add(fifo(root / "x.txt"), Expect("skipped", "named pipe"))
    for link in symlink_loop(root):
        add(link, Expect("skipped", "symlink loop"))
    add(dangling_symlink(root / "dangling.md"), Expect("skipped", "dangling symlink"))
    # F8
    for name in ("empty.docx", "empty.epub", "empty.pdf", "empty.txt", "empty.md", "empty.html",
                 "empty.ipynb"):  # fmt: skip
        (root / name).write_bytes(b"")
        add(root / name, Expect("skipped", "empty file"))
    for kind in ("docx", "epub", "pdf"):
        add(
            random_bytes(root / f"random.{kind}"),
            Expect("failed", f"not a valid {kind.upper()} file"),
        )
    add(random_bytes(root / "photo.bin"), Expect("skipped", "unsupported file type"))
    add(random_bytes(root / "binary.txt", seed=9), Expect("skipped", "binary file"))
    add(garbage_html(root / "garbage.html"), indexed)
    add(deep_html(root / "deep.html", 100_000), indexed)
    for name, content in NOTEBOOKS.items():
        expect = indexed if name == "nb_bad_outputs.ipynb" else Expect("failed", "invalid notebook")
        add(notebook(root / name, content), expect)
    (root / "nb_not_json.ipynb").write_text("{ this is not json", encoding="utf-8")
    add(root / "nb_not_json.ipynb", Expect("failed", "invalid notebook: not JSON"))
    add(utf16_without_bom(root / "utf16le.txt"), indexed)
    add(utf16_without_bom(root / "utf16be.txt", big_endian=True), indexed)
    # F9
    add(zip_bomb(root / "bomb.docx", "docx"), Expect("failed", "compressed content too large"))
    add(zip_bomb(root / "bomb.epub", "epub"), Expect("failed", "compressed content too large"))
    add(docx_with_image(root / "photos.docx", 20 if not small else 2), indexed)
    # Names, depth, size
    text("new\nline.md", "A file whose name holds a newline.\n", indexed)
    text("emoji_📚_notes.md", "Books 📚 and notes.\n", indexed)
    text("tab\tname.txt", "A tab in the name.\n", indexed)
    text(" leading space.md", "A space at the start of the name.\n", indexed)
    add(deep_path(root / "deep", 60), indexed)
    add(many_page_pdf(root / "thousands.pdf", 3000 if not small else 300), indexed)
    add(big_html(root / "big.html", 20 * mb), indexed)
    # Permission denied: root reads everything, so only an ordinary user can see these.
    if os.name == "posix" and os.geteuid() != 0:
        secret = root / "secret.md"
        secret.write_text("You may not read this.\n", encoding="utf-8")
        secret.chmod(0)
        add(secret, Expect("skipped", "permission denied"))
        locked = root / "locked"
        locked.mkdir()
        (locked / "inside.md").write_text("Behind a locked door.\n", encoding="utf-8")
        locked.chmod(0)  # its file cannot even be listed, so it is not an input file here
    return out


def unlock(root: Path) -> None:
    """Give back the permissions `build` took away, so the folder can be deleted."""
    for path in (root / "secret.md", root / "locked"):
        if path.exists() and not path.is_symlink():
            path.chmod(0o755)


PARSERS: dict[str, Callable[..., Path]] = {}  # reserved for plugins' own hostile files


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus")
    for path, expect in build(target, small="--small" in sys.argv).items():
        print(f"{expect.state:8} {expect.reason or '':32} {path}")
