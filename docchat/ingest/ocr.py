"""OCR for pages without text: scanned PDF pages and image files (PNG, JPEG, TIFF).

RapidOCR (package rapidocr_onnxruntime) reads them offline with the ONNX models that ship in
its wheel (English and Chinese); the `tesseract` program, when installed, reads the other
languages (`index.ocr_language`, Tesseract's codes: eng, deu, fra...), or every page when
`index.ocr_engine = "tesseract"`. RapidOCR's models often drop the spaces of long English
lines; `_spaced` puts them back from the blank columns of the page. pypdfium2 renders a
PDF page to an image first. Which pages are read depends on `index.ocr`: "auto" reads pages
that have no text layer (and hold an image), "force" reads every page and replaces its text
layer (for PDFs whose text layer is garbage), "off" reads none.

The setting travels with the thread that parses (`using(...)`), since parsers take a path
only; so does the index run's OcrTally, which counts the pages read (the run shows them as
progress while a long scan is read) and carries the run's cancel: a stopped run stops reading
at the next page (`Stopped`), instead of after the last page of a 300-page scan. A missing
package is an UnsupportedFile naming what to install (the file is skipped with that
reason), never a crash of the run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from docchat.errors import UnsupportedFile

if TYPE_CHECKING:
    from PIL.Image import Image

OcrMode = Literal["auto", "off", "force"]
OcrEngine = Literal["auto", "rapidocr", "tesseract"]
RENDER_DPI = 150  # body text reads best here: at 200+ dpi RapidOCR drops the spaces of long lines
RAPIDOCR_LANGUAGES = frozenset({"eng", "en", "chi_sim", "ch", "zh"})
INSTALL = "pip install rapidocr_onnxruntime pypdfium2"


@dataclass(frozen=True)
class OcrOptions:
    mode: OcrMode = "auto"
    language: str = "eng"
    engine: OcrEngine = "auto"


def reading_key(options: OcrOptions) -> str:
    """What decides whether a file with no text layer yields text: the OCR options and which
    engines are installed (looked up, not imported). An index run trusts its earlier "no
    text" verdicts only while this is unchanged (docchat/indexing.py)."""
    found = [
        name
        for name in ("rapidocr_onnxruntime", "pypdfium2", "PIL")
        if importlib.util.find_spec(name) is not None
    ]
    if shutil.which("tesseract"):
        found.append("tesseract")
    return f"{options.mode}|{options.language}|{options.engine}|{','.join(found)}"


class Stopped(Exception):
    """The index run was cancelled while a file was being read by OCR: the file is left
    unread (not failed), the run stops."""


class OcrTally:
    """Pages read by OCR for one index run, by whichever thread parses; and its cancel."""

    def __init__(self, cancel: threading.Event | None = None) -> None:
        self.cancel = cancel or threading.Event()
        self.pages = 0
        self.reading: str | None = None  # the file a page is being read from, if any
        self._lock = threading.Lock()

    def started(self, where: str | None) -> None:
        if self.cancel.is_set():
            raise Stopped
        with self._lock:
            self.reading = where

    def finished(self, read: bool = True) -> None:
        with self._lock:
            self.pages += read
            self.reading = None


_local = threading.local()
_engines: dict[str, Any] = {}
_engines_lock = threading.Lock()
# RapidOCR reads one image at a time in a process. Its text detector needs ~550 MB of working
# memory for a page rendered at 150 dpi (measured: a process at 185 MB peaks at 739 MB over
# one page); the read-ahead worker and a big file's own thread could otherwise each read a
# page at once and double an index run's peak. ONNX Runtime already spreads one image over
# every core, so taking turns costs no speed.
_turn = threading.Lock()
TURN_POLL_S = 0.25  # a thread waiting for its turn looks at its run's cancel this often


@contextlib.contextmanager
def using(
    options: OcrOptions, tally: OcrTally | None = None, where: str | None = None
) -> Iterator[None]:
    """Parsers called inside (on this thread) OCR with these options, counting the pages
    read from `where` (a file) in `tally`."""
    previous = getattr(_local, "options", None), getattr(_local, "tally", None)
    _local.options, _local.tally = options, (tally, where)
    try:
        yield
    finally:
        _local.options, _local.tally = previous


def options() -> OcrOptions:
    """The options in force on this thread; outside `using` (a parser called on its own),
    OCR is off."""
    return getattr(_local, "options", None) or OcrOptions(mode="off")


def _tally() -> tuple[OcrTally | None, str | None]:
    """The tally this thread's OCR counts in, and the file it reads (see `using`)."""
    return getattr(_local, "tally", None) or (None, None)


def read_image(image: Image) -> str:
    """The text of an image, lines top to bottom ("" when there is none). Raises Stopped
    when the index run it reads for was cancelled."""
    tally, where = _tally()
    if tally is None:
        return _read_image(image)
    tally.started(where)
    read = True
    try:
        return _read_image(image)
    except Stopped:
        read = False  # cancelled while waiting for the engine: no page was read
        raise
    finally:
        tally.finished(read)


def _read_image(image: Image) -> str:
    language, engine = options().language, options().engine
    rapid = language.lower() in RAPIDOCR_LANGUAGES and engine != "tesseract"
    if rapid:
        with contextlib.suppress(UnsupportedFile):
            return _rapidocr(image)
    if engine == "tesseract" and not shutil.which("tesseract"):
        raise UnsupportedFile("not read: index.ocr_engine is tesseract, which is not installed")
    if shutil.which("tesseract") and engine != "rapidocr":
        return _tesseract(image, language)
    raise UnsupportedFile(
        f"not read: OCR needs the 'rapidocr_onnxruntime' package ({INSTALL})"
        if language.lower() in RAPIDOCR_LANGUAGES
        else f"not read: OCR in '{language}' (index.ocr_language) needs the tesseract "
        "program with that language's data"
    )


def _engine() -> Any:
    with _engines_lock:
        engine = _engines.get("rapidocr")
        if engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError:
                raise UnsupportedFile("OCR needs rapidocr_onnxruntime") from None
            engine = _engines["rapidocr"] = RapidOCR()
        return engine


def _rapidocr(image: Image) -> str:
    import numpy as np

    engine = _engine()
    pixels = np.asarray(image.convert("RGB"))
    with _my_turn():
        result, _ = engine(pixels, return_word_box=True)
    if not result:
        return ""
    gray = pixels.mean(axis=2)
    return _lines([(row[0], _spaced(gray, row[0], row[1], row[3])) for row in result])


@contextlib.contextmanager
def _my_turn() -> Iterator[None]:
    """Hold the OCR engine for one image; a thread whose run is cancelled while it waits
    stops (`Stopped`) instead of reading one more page."""
    tally = _tally()[0]
    while not _turn.acquire(timeout=TURN_POLL_S):
        if tally is not None and tally.cancel.is_set():
            raise Stopped
    try:
        yield
    finally:
        _turn.release()


def _spaced(gray: Any, box: Any, text: str, chars: Any) -> str:
    """`text` with the spaces the recogniser left out put back. RapidOCR's bundled models
    often read a long English line as one word ("Heronswaitpatiently..."); the page itself
    shows where the words are: runs of blank columns in the line's box at least a fifth of
    its height wide. A space goes between the two characters (their boxes, from the
    recogniser) whose centres straddle such a gap. Light text on a dark ground is handled;
    anything unexpected leaves the text as read."""
    import numpy as np

    try:
        if len(chars) != len(text) or len(text) < 2:
            return text
        xs = [p[0] for p in box]
        ys = [p[1] for p in box]
        x0, x1, y0, y1 = int(min(xs)), int(max(xs)), int(min(ys)), int(max(ys))
        crop = gray[max(0, y0) : y1, max(0, x0) : x1]
        if crop.size == 0:
            return text
        middle = (float(crop.min()) + float(crop.max())) / 2
        light_ground = float(np.median(crop)) > middle
        ink = ((crop < middle) if light_ground else (crop > middle)).any(axis=0)
        need = max(3, int(0.2 * (y1 - y0)))
        gaps: list[float] = []
        run, inked = 0, False
        for x, dark in enumerate(ink.tolist()):
            if dark:
                if inked and run >= need:
                    gaps.append(max(0, x0) + x - run / 2)
                run, inked = 0, True
            else:
                run += 1
        centres = [(min(p[0] for p in c) + max(p[0] for p in c)) / 2 for c in chars]
        after = set()
        for gap in gaps:
            for i in range(len(centres) - 1):
                if centres[i] < gap < centres[i + 1]:
                    after.add(i)
                    break
        return "".join(
            ch + (" " if i in after and ch != " " and text[i + 1] != " " else "")
            for i, ch in enumerate(text)
        )
    except Exception:  # a shape the library did not promise: the text as it was read
        return text


def _lines(boxes: list[tuple[Any, str]]) -> str:
    """Text boxes (four corner points each) joined into lines in reading order: boxes
    whose vertical centres are within half a box height share a line, left to right."""
    placed = []
    for box, text in boxes:
        ys = [p[1] for p in box]
        xs = [p[0] for p in box]
        placed.append(((min(ys) + max(ys)) / 2, max(ys) - min(ys), min(xs), text.strip()))
    placed.sort()
    lines: list[list[tuple[float, str]]] = []
    last_y, last_h = None, 0.0
    for y, h, x, text in placed:
        if not text:
            continue
        if last_y is None or abs(y - last_y) > max(h, last_h) / 2:
            lines.append([])
            last_y, last_h = y, h
        lines[-1].append((x, text))
    return "\n".join(" ".join(t for _, t in sorted(line)) for line in lines)


def _tesseract(image: Image, language: str) -> str:
    with tempfile.NamedTemporaryFile(suffix=".png") as f:
        image.save(f.name)
        done = subprocess.run(
            ["tesseract", f.name, "-", "-l", language],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    if done.returncode != 0:
        raise UnsupportedFile(f"tesseract could not read it: {done.stderr.strip()[:160]}")
    return "\n".join(line.rstrip() for line in done.stdout.splitlines()).strip()


def render_pdf_pages(data: bytes, numbers: list[int]) -> Iterator[tuple[int, Image]]:
    """Images of the given 1-based pages of a PDF (pypdfium2)."""
    try:
        import pypdfium2 as pdfium
    except ImportError:
        raise UnsupportedFile(f"not read: OCR needs the 'pypdfium2' package ({INSTALL})") from None
    pdf = pdfium.PdfDocument(data)
    try:
        for n in numbers:
            page = pdf[n - 1]
            try:
                yield n, page.render(scale=RENDER_DPI / 72).to_pil()
            finally:
                page.close()
    finally:
        pdf.close()
