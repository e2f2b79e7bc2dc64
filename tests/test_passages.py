"""open_passage: the exact lines search and ask cite, re-extracted the way they were indexed;
only documents of the collection."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from docchat.errors import DocchatError
from docchat.service import Docchat

TESTS = Path(__file__).parent


def pdf_bytes(pages: list[list[str]]) -> bytes:
    """The minimal PDF writer of the PDF parser's tests."""
    spec = importlib.util.spec_from_file_location("pdf_tests", TESTS / "ingest/test_parsers_pdf.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.pdf_bytes(pages)


@pytest.fixture
def research(service: Docchat, docs: Path) -> Docchat:
    (docs / "report.pdf").write_bytes(
        pdf_bytes([["Cover page"], ["Churn rose to 12%.", "Retention fell.", "Prices held."]])
    )
    list(service.index("research", [str(docs)]))
    return service


def test_exact_lines_with_context(research: Docchat, docs: Path) -> None:
    path = str(docs / "dropout.md")
    p = research.open_passage("research", path, 3, 3, context=2)
    lines = (docs / "dropout.md").read_text().split("\n")
    assert p.text == lines[2] == "Dropout randomly zeroes activations during training."
    assert p.before == "\n".join(lines[0:2]) and p.after == "\n".join(lines[3:5])
    assert p.changed is False


def test_pdf_lines_count_within_the_page(research: Docchat, docs: Path) -> None:
    hit = research.search("research", "retention churn", k=1)[0]
    assert hit.path.endswith("report.pdf") and hit.page == 2
    p = research.open_passage("research", hit.path, hit.line_start, hit.line_end, page=2)
    assert "Retention fell." in p.text and p.text.strip() in hit.text
    with pytest.raises(DocchatError, match="has pages: give the page"):
        research.open_passage("research", hit.path, 1)
    with pytest.raises(DocchatError, match="has no page 7"):
        research.open_passage("research", hit.path, 1, page=7)


def test_refuses_files_outside_the_collection_and_bad_ranges(
    research: Docchat, docs: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not indexed\n")
    with pytest.raises(DocchatError, match="is not a document of collection 'research'"):
        research.open_passage("research", str(secret), 1)
    path = str(docs / "bread.txt")
    with pytest.raises(DocchatError, match="has 3 lines"):
        research.open_passage("research", path, 2, 9)
    with pytest.raises(DocchatError, match="give 1 ≤ line_start ≤ line_end"):
        research.open_passage("research", path, 2, 1)


def test_relative_paths_and_files_changed_since_indexing(
    research: Docchat, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(docs)
    assert research.open_passage("research", "bread.txt", 1).text.startswith("Sourdough")
    bread = docs / "bread.txt"
    bread.write_text("Rye bread.\n" + bread.read_text())
    os.utime(bread, ns=(1, 1))
    p = research.open_passage("research", "bread.txt", 2)
    assert p.changed is True and p.text.startswith("Sourdough")
