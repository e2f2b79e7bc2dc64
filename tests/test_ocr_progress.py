"""A file read by OCR (issue 13 item 4): the run reports the pages read while it waits for
the file, counts them in its summary, and a cancel stops the reading at the next page,
leaving the file unread rather than failed. The OCR engine is faked: each page waits for
the test's go-ahead, so the order of events is the test's, not the clock's."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import docchat.indexing as indexing
from docchat.ingest import ocr
from docchat.ingest.parsers import parse as real_parse
from docchat.presentation import index_summary
from docchat.service import Docchat
from docchat.types import FileDone, IndexSummary, OcrProgress, Page, ParsedDocument

PAGES = 3
NAMES = ("alba", "brisa", "corvina")


class ScanReader:
    """A fake scanned document: page n is read once `go[n]` is set."""

    def __init__(self) -> None:
        self.go = [threading.Event() for _ in range(PAGES)]
        self.read: list[int] = []

    def parse(self, path: Path) -> ParsedDocument:
        pages = []
        for n in range(PAGES):
            # Through the real entry point, so the run's tally counts and may stop it.
            text = ocr.read_image(n)  # type: ignore[arg-type]
            pages.append(Page(text=text, number=n + 1, ocr=True))
        return ParsedDocument(pages=tuple(pages), kind="pdf")

    def read_image(self, image: int) -> str:
        assert self.go[image].wait(timeout=60), "the test never let this page be read"
        self.read.append(image)
        return f"This page of the scanned report speaks of the heron {NAMES[image]}."

    def release(self) -> None:
        for event in self.go:
            event.set()


@pytest.fixture
def scan(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[ScanReader]:
    reader = ScanReader()
    monkeypatch.setattr(
        indexing, "parse", lambda p: reader.parse(p) if p.suffix == ".pdf" else real_parse(p)
    )
    monkeypatch.setattr(ocr, "_read_image", reader.read_image)
    root = tmp_path / "docs"
    root.mkdir()
    (root / "report.pdf").write_bytes(b"%PDF-1.4 a scan")
    (root / "notes.txt").write_text("Plain notes about the garden.\n", encoding="utf-8")
    yield reader
    reader.release()  # a page a stopped run left waiting ends (its thread is a daemon)


def test_pages_read_by_ocr_are_reported_while_the_file_is_read(
    service: Docchat, scan: ScanReader, tmp_path: Path
) -> None:
    scan.go[0].set()
    seen: list[OcrProgress] = []
    summary = None
    for event in service.index("scans", [tmp_path / "docs"]):
        if isinstance(event, OcrProgress):
            seen.append(event)
            # Each page is read only after the run said how many were read before it.
            if event.pages < PAGES:
                scan.go[event.pages].set()
        elif isinstance(event, IndexSummary):
            summary = event
    assert summary is not None and summary.indexed == 2 and not summary.failed
    assert summary.ocr_pages == PAGES and summary.to_json()["ocr_pages"] == PAGES
    assert "(3 pages read by OCR)" in index_summary(summary)
    assert {e.path.name for e in seen} == {"report.pdf"}
    counts = [e.pages for e in seen]
    assert counts == sorted(counts) and {1, 2} <= set(counts)
    hits = service.search("scans", "corvina", k=3)
    assert hits and hits[0].page == 3


def test_a_cancel_stops_ocr_at_the_next_page_and_the_file_stays_unread(
    service: Docchat, scan: ScanReader, tmp_path: Path
) -> None:
    cancel = threading.Event()
    scan.go[0].set()
    events = []
    for event in service.index("scans", [tmp_path / "docs"], cancel):
        events.append(event)
        if isinstance(event, OcrProgress) and event.pages >= 1:
            cancel.set()  # page 2 is never allowed: the run must not wait for it
    summary = events[-1]
    assert isinstance(summary, IndexSummary) and summary.cancelled
    assert not summary.failed and summary.indexed <= 1  # (notes.txt, first)
    done = {e.path.name for e in events if isinstance(e, FileDone)}
    assert "report.pdf" not in done
    ledger = {Path(r.path).name for r in service.files("scans").files}
    assert "report.pdf" not in ledger
    assert scan.read == [0]
    # The next run reads it whole.
    scan.release()
    *_, again = service.index("scans", [tmp_path / "docs"])
    assert isinstance(again, IndexSummary) and not again.cancelled
    assert again.indexed >= 1 and again.ocr_pages == PAGES
