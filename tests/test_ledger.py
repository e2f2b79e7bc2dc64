"""Issue 13 item 3: the ledger — every file a collection has seen, its state and reason —
`docchat status`, the coverage line, and failure memory (issue 10 F9): a failed file is not
read again until it changes or `--retry-failed`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_cli_index import docchat, docchat_env
from test_indexing import put_outside

from docchat.config import Settings
from docchat.ingest import ocr
from docchat.presentation import coverage
from docchat.service import Docchat
from docchat.store.collection import Collection
from docchat.store.writer import writing
from docchat.types import FileCounts, IndexSummary, ParsedDocument


def run(service: Docchat, name: str, *paths: Path, retry: bool = False) -> IndexSummary:
    summary = list(service.index(name, list(paths), retry_failed=retry))[-1]
    assert isinstance(summary, IndexSummary)
    return summary


@pytest.fixture
def mixed(docs: Path) -> Path:
    (docs / "data.bin").write_bytes(b"\0\1\2" * 100)  # binary: skipped
    (docs / "broken.docx").write_bytes(b"PK\3\4 not really a zip file")  # failed
    return docs


def test_every_file_has_a_row_with_its_state_and_reason(service: Docchat, mixed: Path) -> None:
    run(service, "t", mixed)
    report = service.files("t")
    states = {Path(f.path).name: f for f in report.files}
    assert states["bread.txt"].state == "indexed" and states["bread.txt"].chunks >= 1
    assert states["bread.txt"].indexed_at and states["bread.txt"].size
    assert states["data.bin"].state == "skipped" and states["data.bin"].reason
    assert states["broken.docx"].state == "failed" and states["broken.docx"].reason
    assert report.folders == [str(mixed.resolve())]
    assert report.counts == FileCounts(indexed=len(states) - 2, skipped=1, failed=1)

    (mixed / "bread.txt").unlink()
    run(service, "t", mixed)
    states = {Path(f.path).name: f for f in service.files("t").files}
    assert states["bread.txt"].state == "removed" and states["bread.txt"].chunks == 0
    assert states["dropout.md"].state == "unchanged" and states["dropout.md"].chunks >= 1
    assert [Path(f.path).name for f in service.files("t", ("failed",)).files] == ["broken.docx"]


def test_a_failed_file_is_not_read_again_until_it_changes_or_asked(
    service: Docchat, mixed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from docchat.ingest.parsers import parse

    reads: list[str] = []

    def counting(path: Path) -> ParsedDocument:
        reads.append(path.name)
        return parse(path)

    monkeypatch.setattr("docchat.indexing.parse", counting)
    first = run(service, "t", mixed)
    [(path, reason)] = first.failed
    assert reads.count("broken.docx") == 1

    second = run(service, "t", mixed)
    assert second.failed == [(path, reason)]  # the same failure, still reported
    assert reads.count("broken.docx") == 1  # ... without reading the file again

    run(service, "t", mixed, retry=True)
    assert reads.count("broken.docx") == 2

    broken = mixed / "broken.docx"
    st = broken.stat()
    os.utime(broken, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    run(service, "t", mixed)
    assert reads.count("broken.docx") == 3

    broken.write_text("now plain text in a docx name\n", encoding="utf-8")
    run(service, "t", mixed)
    assert reads.count("broken.docx") == 4


def test_a_file_with_nothing_to_index_is_read_again_only_when_it_or_the_reading_changes(
    service: Docchat, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An image without text costs seconds of OCR: a run where nothing changed must not pay
    it again, unless the file changed, OCR is done another way, or the user asks."""
    from docchat.ingest.parsers import parse

    reads: list[str] = []

    def counting(path: Path) -> ParsedDocument:
        reads.append(path.name)
        return parse(path)

    monkeypatch.setattr("docchat.indexing.parse", counting)
    blank = docs / "blank.txt"
    blank.write_text("  \n\n \t\n", encoding="utf-8")  # read, and nothing in it
    first = run(service, "t", docs)
    skipped = dict(first.skipped)
    assert str(blank.resolve()) in skipped and reads.count("blank.txt") == 1

    second = run(service, "t", docs)
    assert dict(second.skipped) == skipped  # the same verdict, still reported...
    assert reads.count("blank.txt") == 1  # ... without reading the file again
    assert reads.count("bread.txt") == 1  # (indexed files: unchanged, never re-read)

    key = ocr.reading_key
    monkeypatch.setattr(ocr, "reading_key", lambda options: key(options) + "|tesseract")
    run(service, "t", docs)  # e.g. tesseract installed since: the verdict may be wrong now
    assert reads.count("blank.txt") == 2
    run(service, "t", docs)
    assert reads.count("blank.txt") == 2  # ... and stands again, read the new way

    run(service, "t", docs, retry=True)
    assert reads.count("blank.txt") == 3
    st = blank.stat()
    os.utime(blank, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    run(service, "t", docs)
    assert reads.count("blank.txt") == 4

    # Skipped unread for a while (too large here; no read access, as often), then readable
    # again: read, never reported with the reason of the time it was not read.
    service.settings.index.max_file_mb = 1e-6
    assert "too large" in dict(run(service, "t", docs).skipped)[str(blank.resolve())]
    service.settings.index.max_file_mb = 50.0
    again = run(service, "t", docs)
    assert reads.count("blank.txt") == 5
    assert dict(again.skipped)[str(blank.resolve())] == skipped[str(blank.resolve())]


def test_a_run_with_nothing_to_do_writes_no_vectors_and_settles_a_killed_run(
    service: Docchat, docs: Path
) -> None:
    """The vector file is rewritten (and every reader reloads it) only when vectors came or
    went; but a no-change run still finishes what a killed writer left half done."""
    run(service, "t", docs)
    coll = Collection.open("t", service.settings.data_dir)
    files = [p for p in coll.folder.iterdir() if p.suffix in (".faiss", ".index")]
    assert files, list(coll.folder.iterdir())
    before = {p: p.stat().st_mtime_ns for p in files}
    indexed_at = service.collections()[0].last_indexed
    assert run(service, "t", docs).unchanged == 3
    assert {p: p.stat().st_mtime_ns for p in files} == before
    assert (service.collections()[0].last_indexed or 0) > (indexed_at or 0)

    with writing(coll) as writer:  # killed before its checkpoint: the vector file is stale
        writer.use_model("fake-embedder", 64, lambda: "unused")
        put_outside(writer)
    coll.close()
    assert service.check("t").vectors < service.check("t").chunks
    assert run(service, "t", docs).unchanged == 3
    report = service.check("t")
    assert report.ok and report.vectors == report.chunks

    for p in files:  # a lost vector file is refilled from SQLite by any run, as before
        p.unlink()
    assert not service.check("t").ok
    assert run(service, "t", docs).unchanged == 3
    assert service.check("t").ok


def test_status_json_has_the_documented_keys_and_index_prints_coverage(
    tmp_path: Path, docs: Path
) -> None:
    (docs / "data.bin").write_bytes(b"\0\1\2" * 100)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\n garbage without objects")
    env = docchat_env(tmp_path)
    indexed = docchat("index", str(docs), "-c", "s", env=env)
    assert indexed.returncode == 2
    n = len(list(docs.iterdir()))
    assert f"{n - 2} of {n} files searchable; 1 skipped, 1 failed" in indexed.stdout

    report = json.loads(docchat("status", "-c", "s", "--json", env=env, check=True).stdout)
    assert set(report) == {"collection", "folders", "files", "counts"}
    assert report["collection"] == "s" and report["folders"] == [str(docs.resolve())]
    for f in report["files"]:
        assert {"path", "state", "reason", "chunks", "pages", "ocr", "indexed_at"} <= set(f)
    by_name = {Path(f["path"]).name: f for f in report["files"]}
    assert by_name["data.bin"]["state"] == "skipped" and by_name["data.bin"]["reason"]
    assert by_name["broken.pdf"]["state"] == "failed" and by_name["broken.pdf"]["reason"]
    assert report["counts"]["failed"] == 1 and report["counts"]["total"] == n

    failed = docchat("status", "-c", "s", "--failed", env=env, check=True).stdout.splitlines()
    assert len(failed) == 2 and "broken.pdf" in failed[0] and failed[0].startswith("failed")
    assert failed[1] == f"{n - 2} of {n} files searchable; 1 skipped, 1 failed"

    missing = docchat("status", "-c", "nope", env=env)
    assert missing.returncode == 1 and "no collection named 'nope'" in missing.stderr


def test_coverage_line() -> None:
    counts = FileCounts(indexed=400, unchanged=23, skipped=61, failed=17, removed=5)
    assert coverage(counts) == "423 of 501 files searchable; 61 skipped, 17 failed"


def test_a_collection_from_before_the_ledger_gets_rows_for_its_documents(
    fake_settings: Settings, docs: Path
) -> None:
    import sqlite3

    from docchat.locations import collection_dir

    built = Docchat(fake_settings)
    run(built, "t", docs)
    built.close()
    # Back to the schema before the ledger (2), as a collection made then is.
    db = sqlite3.connect(collection_dir("t", fake_settings.data_dir) / "docchat.sqlite")
    db.executescript(
        "DROP TABLE files; DROP TABLE folders; ALTER TABLE chunks DROP COLUMN ocr; "
        "ALTER TABLE messages DROP COLUMN repeated; PRAGMA user_version = 2;"
    )
    db.close()

    service = Docchat(fake_settings)
    report = service.files("t")
    assert {f.state for f in report.files} == {"indexed"}
    assert len(report.files) == len(list(docs.iterdir()))
    assert all(f.chunks >= 1 and f.size for f in report.files)
    assert run(service, "t", docs).unchanged == len(report.files)
    service.close()


def test_settling_chunk_states_reads_the_unsettled_index_not_every_chunk(
    service: Docchat, docs: Path
) -> None:
    """Each checkpoint marks the new chunks live and drops tombstones, and each writer looks
    for a killed run's leftovers: those statements must search the partial index of
    unsettled chunks (SQLite uses it only when the query repeats its condition), never
    scan every chunk of a large collection."""
    import re

    run(service, "t", docs)
    coll = Collection.open("t", service.settings.data_dir)
    statements: list[str] = []
    coll.db.set_trace_callback(statements.append)
    with writing(coll) as writer:
        writer.use_model("fake-embedder", 64, lambda: "unused")
        writer.forget(str((docs / "bread.txt").resolve()))
        put_outside(writer)
        writer.finish()
    coll.db.set_trace_callback(None)
    by_state = [
        s
        for s in statements
        if re.search(r"\bFROM chunks WHERE\b|\bUPDATE chunks SET\b", s)
        and re.search(r"\bstate ?= ?\d", s)
        and "document_id" not in s
    ]
    assert len(by_state) >= 3, statements  # the leftovers (2), settle's update and delete
    for statement in by_state:
        plan = " ".join(str(r) for r in coll.db.execute(f"EXPLAIN QUERY PLAN {statement}"))
        assert "chunks_state" in plan and "SCAN chunks" not in plan, (statement, plan)
    coll.close()
