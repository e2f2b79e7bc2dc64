"""Issue 13 item 4: OCR for pages without text. A PDF made of a page image (a real PDF page
rendered at test time and bound into a PDF) next to a page with a text layer: only the image
page is read, its chunks keep their physical page and say `ocr` in hits and the ledger;
`index.ocr = "off"` and a missing OCR package skip with a reason, never crash. The engine is
faked in the fast tests; one slow test runs the real RapidOCR."""

from __future__ import annotations

import io
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from test_parsers_pdf import pdf_bytes

from docchat.config import Settings
from docchat.ingest import ocr
from docchat.service import Docchat
from docchat.types import IndexSummary

pytest.importorskip("pypdfium2")
pytest.importorskip("PIL")


def scanned_pdf(path: Path, *pages: list[str]) -> Path:
    """A PDF whose pages hold text layers (a list of lines) or, for a line starting with
    'IMAGE:', an image of such a page: rendered with pdfium, saved by Pillow as a PDF page
    without any text, then bound with the others by pypdf."""
    import pypdfium2 as pdfium
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for lines in pages:
        if lines and lines[0].startswith("IMAGE:"):
            text = [line.removeprefix("IMAGE:") for line in lines]
            rendered = pdfium.PdfDocument(pdf_bytes([text]))[0].render(scale=3).to_pil()
            buffer = io.BytesIO()
            rendered.convert("RGB").save(buffer, "PDF", resolution=216)
            source = PdfReader(buffer)
        else:
            source = PdfReader(io.BytesIO(pdf_bytes([lines])))
        writer.add_page(source.pages[0])
    with path.open("wb") as f:
        writer.write(f)
    return path


@pytest.fixture
def fake_ocr(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """OCR that 'reads' a fixed sentence; records the size of every image it was given."""
    seen: list[tuple[int, int]] = []

    def read(image: object) -> str:
        seen.append(image.size)  # type: ignore[attr-defined]
        return "The grey heron waits in the shallows.\nIt strikes at fish."

    monkeypatch.setattr(ocr, "read_image", read)
    return seen


def index(service: Docchat, folder: Path) -> IndexSummary:
    summary = list(service.index("o", [folder]))[-1]
    assert isinstance(summary, IndexSummary)
    return summary


def test_only_the_page_without_text_is_read_and_its_chunks_say_ocr(
    service: Docchat, tmp_path: Path, fake_ocr: list[tuple[int, int]]
) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    scanned_pdf(folder / "mixed.pdf", ["A text layer about kestrels."], ["IMAGE:heron"])
    summary = index(service, folder)
    assert summary.indexed == 1
    assert len(fake_ocr) == 1  # page 1 has a text layer: not read by OCR

    [heron] = service.search("o", "heron shallows", k=1, mode="keyword")
    assert heron.page == 2 and heron.ocr and heron.to_json()["ocr"] is True
    [kestrel] = service.search("o", "kestrels", k=1, mode="keyword")
    assert kestrel.page == 1 and not kestrel.ocr
    [record] = service.files("o").files
    assert record.ocr and record.pages == 2


def test_an_image_file_is_read(
    service: Docchat, tmp_path: Path, fake_ocr: list[tuple[int, int]]
) -> None:
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (200, 100), "white").save(folder / "note.png")
    Image.new("RGB", (200, 100), "white").save(folder / "photo.jpg")
    assert index(service, folder).indexed == 2
    hits = service.search("o", "heron", mode="keyword")
    assert {Path(h.path).name for h in hits} == {"note.png", "photo.jpg"}
    assert all(h.ocr and h.page is None for h in hits)


def test_ocr_off_skips_scans_and_images_with_the_reason(
    fake_settings: Settings, tmp_path: Path, fake_ocr: list[tuple[int, int]]
) -> None:
    from PIL import Image

    fake_settings.index.ocr = "off"
    service = Docchat(fake_settings)
    folder = tmp_path / "scans"
    folder.mkdir()
    scanned_pdf(folder / "scan.pdf", ["IMAGE:heron"])
    Image.new("RGB", (20, 10), "white").save(folder / "note.png")
    summary = index(service, folder)
    reasons = {Path(p).name: r for p, r in summary.skipped}
    assert "index.ocr is off" in reasons["scan.pdf"]
    assert "index.ocr is off" in reasons["note.png"]
    assert fake_ocr == []


def test_a_missing_ocr_package_is_a_skip_reason_not_a_crash(
    service: Docchat, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)  # import fails
    monkeypatch.setattr("docchat.ingest.ocr.shutil.which", lambda name: None)  # no tesseract
    monkeypatch.setattr(ocr, "_engines", {})
    folder = tmp_path / "scans"
    folder.mkdir()
    scanned_pdf(folder / "scan.pdf", ["IMAGE:heron"])
    Image.new("RGB", (20, 10), "white").save(folder / "note.png")
    (folder / "plain.txt").write_text("Plain text still counts.\n", encoding="utf-8")
    summary = index(service, folder)
    assert summary.indexed == 1 and not summary.failed
    reasons = {Path(p).name: r for p, r in summary.skipped}
    assert "pip install rapidocr_onnxruntime" in reasons["scan.pdf"]
    assert "pip install rapidocr_onnxruntime" in reasons["note.png"]
    states = {Path(f.path).name: (f.state, f.reason) for f in service.files("o").files}
    assert states["scan.pdf"][0] == "skipped" and "rapidocr" in (states["scan.pdf"][1] or "")


def test_force_replaces_the_text_layer(
    fake_settings: Settings, tmp_path: Path, fake_ocr: list[tuple[int, int]]
) -> None:
    fake_settings.index.ocr = "force"
    service = Docchat(fake_settings)
    folder = tmp_path / "scans"
    folder.mkdir()
    scanned_pdf(folder / "garbled.pdf", ["xq# zz7 garbage layer"])
    index(service, folder)
    assert len(fake_ocr) == 1
    assert service.search("o", "garbage", mode="keyword") == []
    assert service.search("o", "heron", mode="keyword")[0].ocr


def test_the_tesseract_engine_is_the_tesseract_program(
    fake_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """index.ocr_engine = "tesseract" runs `tesseract IMAGE - -l LANG` (a stand-in here)."""
    from PIL import Image

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "tesseract"
    program.write_text('#!/bin/sh\necho "Egrets nest near $4 water ($5)"\n', encoding="utf-8")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    fake_settings.index.ocr_engine = "tesseract"
    fake_settings.index.ocr_language = "deu"
    service = Docchat(fake_settings)
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (20, 10), "white").save(folder / "note.tif")
    assert index(service, folder).indexed == 1
    [hit] = service.search("o", "egrets", mode="keyword")
    assert hit.ocr and "deu" in hit.text


def test_spaces_the_recogniser_left_out_come_back_from_the_page() -> None:
    """Two inked words with a wide blank between them, read as one: the space returns
    where the blank columns fall between two characters' boxes; a narrow blank (between
    letters) adds none; dark ground and odd shapes leave the text alone."""
    import numpy as np

    gray = np.full((20, 100), 255.0)
    gray[5:15, 10:20] = gray[5:15, 22:30] = 0  # "ab": letters 2 px apart
    gray[5:15, 50:60] = gray[5:15, 62:70] = 0  # "cd", 20 px after "ab"
    box = [[0, 0], [99, 0], [99, 19], [0, 19]]
    chars = [[[x, 5], [x + 9, 5], [x + 9, 15], [x, 15]] for x in (10, 21, 50, 61)]
    assert ocr._spaced(gray, box, "abcd", chars) == "ab cd"
    assert ocr._spaced(255 - gray, box, "abcd", chars) == "ab cd"  # light text, dark ground
    assert ocr._spaced(gray, box, "ab cd", chars) == "ab cd"  # boxes do not match: as read
    assert ocr._spaced(gray, box, "abcd", None) == "abcd"


@pytest.mark.slow
def test_real_ocr_reads_a_rendered_page(service: Docchat, tmp_path: Path) -> None:
    pytest.importorskip("rapidocr_onnxruntime")
    folder = tmp_path / "scans"
    folder.mkdir()
    scanned_pdf(
        folder / "scan.pdf",
        ["Kestrels hover over fields."],
        [
            "IMAGE:Herons wait patiently in shallow water and strike at passing fish.",
            "IMAGE:The grey heron is a long-legged wading bird of the family Ardeidae.",
        ],
    )
    assert index(service, folder).indexed == 1
    # Words from the middle of long lines: found only if the spaces were read.
    [hit] = service.search("o", "patiently wading", k=1, mode="keyword")
    assert hit.page == 2 and hit.ocr
    assert "shallow water" in hit.text and "wading bird" in hit.text


class _CountingEngine:
    """A stand-in for RapidOCR that records how many images it reads at once; the first
    one it is given holds the engine until `release` is set."""

    def __init__(self) -> None:
        self.active = 0
        self.most = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, pixels: object, return_word_box: bool = False) -> tuple[list[Any], None]:
        with self._lock:
            self.active += 1
            self.most = max(self.most, self.active)
        self.entered.set()
        self.release.wait(timeout=30)
        with self._lock:
            self.active -= 1
        return [], None


class _WatchedLock:
    """ocr._turn, counting the tries that found it taken (a reader waiting its turn)."""

    def __init__(self) -> None:
        self.inner = threading.Lock()
        self.refused = threading.Event()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        got = self.inner.acquire(blocking, timeout)
        if not got:
            self.refused.set()
        return got

    def release(self) -> None:
        self.inner.release()


def test_two_threads_read_images_by_turns_so_the_peak_is_one_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The read-ahead worker and a big file's thread may both reach OCR; the detector's
    working memory (~550 MB a page) must not be needed twice at once."""
    from PIL import Image

    engine = _CountingEngine()
    turn = _WatchedLock()
    monkeypatch.setitem(ocr._engines, "rapidocr", engine)
    monkeypatch.setattr(ocr, "_turn", turn)
    monkeypatch.setattr(ocr, "TURN_POLL_S", 0.01)
    image = Image.new("RGB", (8, 8), "white")
    read: list[str] = []
    first = threading.Thread(target=lambda: read.append(ocr._rapidocr(image)))
    second = threading.Thread(target=lambda: read.append(ocr._rapidocr(image)))
    first.start()
    assert engine.entered.wait(timeout=30)
    second.start()
    assert turn.refused.wait(timeout=30), "the second reader never waited for its turn"
    engine.release.set()
    first.join(timeout=30)
    second.join(timeout=30)
    assert read == ["", ""] and engine.most == 1


def test_a_reader_waiting_for_its_turn_stops_when_its_run_is_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PIL import Image

    monkeypatch.setitem(ocr._engines, "rapidocr", _CountingEngine())
    monkeypatch.setattr(ocr, "TURN_POLL_S", 0.01)
    tally = ocr.OcrTally(threading.Event())
    started = tally.started

    def then_cancelled(where: str | None) -> None:  # the run is stopped once this page began
        started(where)
        tally.cancel.set()

    monkeypatch.setattr(tally, "started", then_cancelled)
    outcome: list[BaseException] = []

    def read() -> None:
        with ocr.using(ocr.OcrOptions("auto", engine="rapidocr"), tally, "scan.pdf"):
            try:
                ocr.read_image(Image.new("RGB", (8, 8), "white"))
            except BaseException as e:  # (what the thread ended with)
                outcome.append(e)

    with ocr._turn:  # another thread is reading a page
        waiting = threading.Thread(target=read)
        waiting.start()
        waiting.join(timeout=30)
        assert not waiting.is_alive(), "a cancelled run's reader kept waiting for the engine"
    assert len(outcome) == 1 and isinstance(outcome[0], ocr.Stopped)
    assert tally.pages == 0 and tally.reading is None  # no page was read
