"""`docchat index --reread`: when docchat learns to read files better (a parser or chunker
change, ingest.prepare.READER), a collection indexed before says so at each full run, and a
reread brings its chunks up to date — a file that reads the same stays as it is, and only
texts that came out different are embedded."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

import docchat.indexing as indexing
from docchat.ingest.parsers import parse
from docchat.ingest.prepare import READER
from docchat.service import Docchat
from docchat.store.collection import Collection
from docchat.types import IndexSummary, ParsedDocument

NEW_LINE = "Rye sourdough keeps for a week in a paper bag."


def run(service: Docchat, *paths: Path, reread: bool = False) -> IndexSummary:
    summary = list(service.index("t", list(paths), reread=reread))[-1]
    assert isinstance(summary, IndexSummary)
    return summary


def embedded(service: Docchat) -> int:
    return service.embedder().texts_embedded  # type: ignore[attr-defined]


def reads_better(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on the parser finds one more line in bread.txt (as a parser fix would)."""

    def better(path: Path) -> ParsedDocument:
        doc = parse(path)
        if path.name != "bread.txt":
            return doc
        page = doc.pages[0]
        return dataclasses.replace(
            doc, pages=(dataclasses.replace(page, text=f"{page.text}\n{NEW_LINE}\n"),)
        )

    monkeypatch.setattr(indexing, "parse", better)


def test_a_reread_embeds_only_what_reads_differently(
    service: Docchat, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run(service, docs)
    assert first.indexed >= 3 and first.chunks_added >= 3
    before = embedded(service)
    again = run(service, docs, reread=True)  # same docchat: every file reads the same
    assert (again.indexed, again.unchanged, again.chunks_added) == (0, first.indexed, 0)
    assert embedded(service) == before

    reads_better(monkeypatch)
    assert run(service, docs).indexed == 0  # unchanged files are not read: the old text stays
    assert not service.search("t", "rye paper bag", mode="keyword")
    now = run(service, docs, reread=True)
    assert (now.indexed, now.unchanged) == (1, first.indexed - 1)
    assert 1 <= embedded(service) - before <= now.chunks_added  # only the new texts
    hits = service.search("t", "rye paper bag", mode="keyword")
    assert hits and Path(hits[0].path).name == "bread.txt" and NEW_LINE in hits[0].text


def test_an_older_collection_says_how_to_read_its_files_again(
    service: Docchat, docs: Path, tmp_path: Path
) -> None:
    run(service, docs)
    coll = service.open_collection("t")
    assert coll.meta("reader") == str(READER)  # a new collection: read by this docchat
    assert not [n for _, n in run(service, docs).notes if "--reread" in n]

    coll.db.execute("DELETE FROM meta WHERE key='reader'")  # as indexed before READER
    coll.db.commit()
    other = tmp_path / "other"
    other.mkdir()
    (other / "rivers.txt").write_text("Rivers carry silt to the sea.\n", encoding="utf-8")
    notes = [n for _, n in run(service, other).notes if "--reread" in n]
    assert len(notes) == 1  # the command names every folder of the collection
    assert notes[0].endswith(f"docchat index --reread -c t {docs} {other}")
    run(service, docs, reread=True)  # some of its folders: not the whole collection yet
    assert coll.meta("reader") is None
    run(service, docs, other, reread=True)
    assert coll.meta("reader") == str(READER)
    assert not [n for _, n in run(service, docs).notes if "--reread" in n]


@pytest.mark.parametrize("outcome", ["fails", "finds nothing"])
def test_a_file_the_new_reading_fails_on_keeps_its_earlier_text(
    service: Docchat, docs: Path, monkeypatch: pytest.MonkeyPatch, outcome: str
) -> None:
    """Nothing indexed is lost to a reread: the file keeps its chunks (searchable, counted in
    the ledger), a note says why, and the collection still says it should be read again."""
    run(service, docs)
    coll = service.open_collection("t")
    coll.db.execute("DELETE FROM meta WHERE key='reader'")  # as indexed before READER
    coll.db.commit()

    def worse(path: Path) -> ParsedDocument:
        doc = parse(path)
        if path.name != "bread.txt":
            return doc
        if outcome == "fails":
            raise ValueError("new parser bug")
        return dataclasses.replace(doc, pages=(dataclasses.replace(doc.pages[0], text=""),))

    monkeypatch.setattr(indexing, "parse", worse)
    summary = run(service, docs, reread=True)
    assert not summary.failed and not summary.skipped
    assert next(n for p, n in summary.notes if p.endswith("bread.txt")).startswith("read again: ")
    assert coll.meta("reader") is None  # not read again as a whole
    hits = service.search("t", "sourdough starter", mode="keyword")
    assert hits and Path(hits[0].path).name == "bread.txt"
    again = run(service, docs)  # a plain run: unchanged, with its chunks in the ledger
    assert again.unchanged == summary.unchanged
    bread = next(f for f in service.files("t").files if f.path.endswith("bread.txt"))
    assert bread.chunks >= 1 and bread.state in ("indexed", "unchanged")
    assert [n for _, n in again.notes if "--reread" in n]


def test_a_folder_gone_since_does_not_keep_a_collection_unread(
    service: Docchat, docs: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "rivers.txt").write_text("Rivers carry silt to the sea.\n", encoding="utf-8")
    run(service, docs, other)
    coll = service.open_collection("t")
    coll.db.execute("DELETE FROM meta WHERE key='reader'")
    coll.db.commit()
    (other / "rivers.txt").unlink()
    other.rmdir()
    notes = [n for _, n in run(service, docs).notes if "--reread" in n]
    assert notes and notes[0].endswith(f"docchat index --reread -c t {docs}")  # runnable
    run(service, docs, reread=True)
    assert coll.meta("reader") == str(READER)


def test_collections_list_says_which_ones_to_read_again(docs: Path, tmp_path: Path) -> None:
    from test_cli_index import docchat, docchat_env

    env = docchat_env(tmp_path)
    docchat("index", str(docs), "-c", "new", "-q", env=env, check=True)
    docchat("index", str(docs), "-c", "old", "-q", env=env, check=True)
    old = Collection.open("old", str(tmp_path / "data"))
    old.db.execute("DELETE FROM meta WHERE key='reader'")  # indexed before READER
    old.db.commit()
    listed = {
        c["name"]: c
        for c in json.loads(docchat("collections", "list", "--json", env=env, check=True).stdout)
    }
    assert (listed["new"]["reader"], listed["old"]["reader"]) == (READER, 1)
    lines = docchat("collections", "list", env=env, check=True).stdout.splitlines()
    assert [line.split()[0] for line in lines if "index --reread" in line] == ["old"]
