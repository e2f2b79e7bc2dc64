"""Index runs through the facade: incremental sync, dedupe, model changes, locking, cancel."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from backends import both_backends
from fakes import FakeEmbedder

from docchat.config import Settings
from docchat.errors import CollectionError, CollectionLocked, DocchatError, ModelMismatch
from docchat.service import Docchat
from docchat.store.collection import Collection
from docchat.store.lock import WriterLock
from docchat.store.writer import CollectionWriter, writing
from docchat.types import ChunkSpan, FileDone, IndexSummary, ParsedDocument


def run(
    service: Docchat, name: str, *paths: Path, cancel: threading.Event | None = None
) -> tuple[IndexSummary, list[FileDone]]:
    events = list(service.index(name, [str(p) for p in paths], cancel))
    summary = events[-1]
    assert isinstance(summary, IndexSummary)
    return summary, [e for e in events if isinstance(e, FileDone)]


def put_outside(writer: CollectionWriter) -> None:
    """Store one chunk of a file outside the indexed folders ("glaciers"), as a writer
    killed before its checkpoint leaves it: in SQLite, not yet in the saved vector file."""
    span = ChunkSpan("Glaciers carve deep valleys.", None, 0, 28, 1, 1)
    writer.put(
        path="/elsewhere/glaciers.txt",
        size=1,
        mtime_ns=1,
        content_hash="g",
        kind="text",
        title=None,
        pages=None,
        chunks=[(span, "glaciers")],
        vectors={"glaciers": FakeEmbedder().embed_batch([span.text])[0]},
    )


def embedded(service: Docchat) -> int:
    return service.embedder().texts_embedded  # type: ignore[attr-defined]


@both_backends
def test_first_index_then_search_finds_the_right_file(
    service: Docchat, docs: Path, vector_backend: str
) -> None:
    summary, _ = run(service, "t", docs)
    assert service.collections()[0].vector_backend == vector_backend
    assert (summary.indexed, summary.unchanged, summary.failed) == (3, 0, [])
    assert summary.chunks_added >= 3
    hits = service.search("t", "dropout overfitting neural networks", k=3)
    assert Path(hits[0].path).name == "dropout.md"
    assert hits[0].path == str((docs / "dropout.md").resolve())
    assert hits[0].heading is not None and "Regularisation" in hits[0].heading
    assert service.check("t").ok


@both_backends
def test_second_run_touches_nothing(service: Docchat, docs: Path) -> None:
    run(service, "t", docs)
    before = embedded(service)
    summary, _ = run(service, "t", docs)
    assert (summary.indexed, summary.unchanged, summary.chunks_added) == (0, 3, 0)
    assert embedded(service) == before


@both_backends
def test_touch_without_change_is_not_reembedded(service: Docchat, docs: Path) -> None:
    run(service, "t", docs)
    before = embedded(service)
    f = docs / "bread.txt"
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10_000_000_000))
    summary, _ = run(service, "t", docs)
    assert summary.unchanged == 3 and summary.indexed == 0
    assert embedded(service) == before


@both_backends
def test_edit_delete_and_rename(service: Docchat, docs: Path) -> None:
    run(service, "t", docs)
    (docs / "bread.txt").write_text("Rye bread is dense and sour.\n", encoding="utf-8")
    (docs / "notes" / "rivers.rst").unlink()
    summary, events = run(service, "t", docs)
    assert summary.indexed == 1 and summary.removed == 1
    assert {e.path.name for e in events if e.status == "removed"} == {"rivers.rst"}
    assert "Rye" in service.search("t", "rye bread", k=1, mode="keyword")[0].text
    assert not service.search("t", "Danube", mode="keyword")
    # A rename is a removal plus an addition, but its text is not embedded again.
    before = embedded(service)
    (docs / "dropout.md").rename(docs / "regularisation.md")
    summary, _ = run(service, "t", docs)
    assert (summary.indexed, summary.removed) == (1, 1)
    assert embedded(service) == before
    assert Path(service.search("t", "dropout", k=1)[0].path).name == "regularisation.md"
    assert service.check("t").ok


@both_backends
def test_identical_chunks_are_embedded_once(service: Docchat, tmp_path: Path) -> None:
    root = tmp_path / "dupes"
    root.mkdir()
    for i in range(5):
        (root / f"copy{i}.txt").write_text("The very same paragraph.\n", encoding="utf-8")
    summary, _ = run(service, "d", root)
    assert summary.chunks_added == 5
    assert embedded(service) == 1 + 1  # one text, plus the model fingerprint probe
    assert len(service.search("d", "same paragraph", k=10)) == 5


@both_backends
def test_indexing_one_root_keeps_another(service: Docchat, docs: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text("Completely separate topic: volcanoes.\n", encoding="utf-8")
    run(service, "t", docs, other)
    summary, _ = run(service, "t", other)
    assert summary.removed == 0
    assert service.collections()[0].documents == 4


def test_bad_files_are_reported_and_the_run_goes_on(service: Docchat, docs: Path) -> None:
    (docs / "blob.bin").write_bytes(bytes(range(256)) * 10)
    (docs / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    summary, _ = run(service, "t", docs)
    assert summary.indexed == 3
    assert len(summary.failed) + len(summary.skipped) == 3
    reasons = dict(summary.skipped + summary.failed)
    assert all(reasons.values())  # each one says why


@both_backends
def test_model_change_stops_with_the_command_to_reembed(
    service: Docchat, fake_settings: Settings, docs: Path
) -> None:
    run(service, "t", docs)
    other = Docchat(fake_settings.model_copy(deep=True))
    other.settings.embed.model = "other-model"
    with pytest.raises(ModelMismatch) as err:
        list(other.index("t", [docs]))
    assert "docchat collections reembed t --model other-model" in str(err.value)


@both_backends
def test_reembed_switches_the_model(service: Docchat, docs: Path) -> None:
    run(service, "t", docs)
    steps = list(service.reembed("t", "other-model"))
    assert steps[-1][0] == steps[-1][1] > 0
    info = service.collections()[0]
    assert info.model == "other-model"
    assert service.check("t").ok
    assert Path(service.search("t", "sourdough starter", k=1)[0].path).name == "bread.txt"


@both_backends
def test_second_writer_is_refused_with_the_holder_named(service: Docchat, docs: Path) -> None:
    run(service, "t", docs)
    coll = service.open_collection("t")
    with WriterLock(coll.folder / "write.lock", "t"), pytest.raises(CollectionLocked) as err:
        list(service.index("t", [docs]))
    assert f"pid {os.getpid()}" in str(err.value)
    # Searching is still fine while a writer holds the lock.
    assert service.search("t", "bread", k=1)


@both_backends
def test_cancel_stops_and_leaves_a_consistent_collection(service: Docchat, tmp_path: Path) -> None:
    root = tmp_path / "many"
    root.mkdir()
    for i in range(120):
        (root / f"f{i:03}.txt").write_text(f"Document {i} talks about topic {i}.\n", "utf-8")
    cancel = threading.Event()
    events = []
    for event in service.index("m", [root], cancel):
        events.append(event)
        if isinstance(event, FileDone) and event.status == "indexed":
            cancel.set()
    summary = events[-1]
    assert isinstance(summary, IndexSummary)
    assert summary.cancelled and 0 < summary.indexed < 120
    assert service.check("m").ok
    summary, _ = run(service, "m", root)
    assert summary.indexed + summary.unchanged == 120 and not summary.cancelled
    info = service.collections()[0]
    assert info.chunks == 120 and info.documents == 120
    assert service.check("m").ok


@both_backends
def test_a_writer_killed_before_its_checkpoint_leaves_a_consistent_collection(
    service: Docchat, docs: Path
) -> None:
    """What a kill -9 between the SQLite commits and the FAISS save leaves behind: the
    next run settles it."""
    run(service, "t", docs)
    coll = Collection.open("t", service.settings.data_dir)
    with writing(coll) as writer:  # never reaches a checkpoint: the vector file is stale
        writer.use_model("fake-embedder", 64, lambda: "unused")
        writer.forget(str((docs / "bread.txt").resolve()))
        put_outside(writer)
    coll.close()
    assert service.check("t").ok
    assert not service.search("t", "sourdough", mode="keyword")  # its tombstones are hidden
    hits = service.search("t", "glaciers", k=1, mode="keyword")  # not in FAISS yet
    assert hits[0].path == "/elsewhere/glaciers.txt"
    summary, _ = run(service, "t", docs)
    assert summary.unchanged == 2 and summary.indexed == 1  # bread.txt came back
    report = service.check("t")
    assert report.ok and report.vectors == report.chunks


@both_backends
def test_check_reports_disagreement_and_rebuild_repairs(service: Docchat, docs: Path) -> None:
    run(service, "t", docs)
    coll = service.open_collection("t")
    store = coll.vectors()
    store.remove(store.ids()[:1])
    store.persist()
    report = service.check("t")
    assert not report.ok and "1 chunks are missing from the vector store" in report.problems
    assert service.rebuild("t") == report.chunks
    report = service.check("t")
    assert report.ok and report.vectors == report.chunks


@pytest.mark.parametrize("name", ["../evil", "a/b", "..", ".hidden", "", "x" * 65, "a b", "é"])
def test_hostile_collection_names_are_refused(service: Docchat, docs: Path, name: str) -> None:
    with pytest.raises(CollectionError, match="invalid collection name"):
        list(service.index(name, [docs]))


def test_missing_folder_is_a_clear_error(service: Docchat, tmp_path: Path) -> None:
    with pytest.raises(DocchatError, match="no such file or folder"):
        list(service.index("t", [tmp_path / "nope"]))


@both_backends
def test_remove_collection(service: Docchat, docs: Path) -> None:
    run(service, "t", docs)
    service.remove("t")
    assert service.collection_names() == []
    with pytest.raises(CollectionError, match="no collection named 't'"):
        service.search("t", "bread")


def test_a_parser_crash_on_one_file_is_reported_and_the_run_goes_on(
    service: Docchat, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from docchat.ingest.parsers import parse

    def flaky(path: Path) -> ParsedDocument:
        if path.name == "bread.txt":
            raise KeyError("parser bug")
        return parse(path)

    monkeypatch.setattr("docchat.indexing.parse", flaky)
    summary, _ = run(service, "t", docs)
    assert summary.indexed == 2
    assert summary.failed == [(str((docs / "bread.txt").resolve()), "KeyError: 'parser bug'")]


def test_past_the_threshold_the_index_becomes_approximate_and_stays_correct(
    service: Docchat, tmp_path: Path
) -> None:
    service.settings.store.approximate_above = 100
    root = tmp_path / "big"
    root.mkdir()
    for i in range(150):
        (root / f"d{i:03}.txt").write_text(f"Item {i} concerns word{i} only.\n", "utf-8")
    run(service, "big", root)
    coll = service.open_collection("big")
    assert coll.vectors().approximate
    assert len(coll.vectors()) == 150
    # IVF is approximate, but a vector's own cluster is always probed: exact text finds itself.
    exact = "Item 42 concerns word42 only."
    hits = service.search("big", exact, k=5, mode="dense")
    # (The hashed fake embedder can give two texts the same vector, hence ties at 1.0.)
    assert "d042.txt" in {Path(h.path).name for h in hits if h.score > 0.999}
    (root / "d042.txt").unlink()
    summary, _ = run(service, "big", root)
    assert summary.removed == 1 and service.check("big").ok
    assert len(service.open_collection("big").vectors()) == 149
    assert all(Path(h.path).name != "d042.txt" for h in service.search("big", exact, k=5))


def test_reindexing_keeps_the_collections_model_unless_another_is_asked_for(
    fake_settings: Settings, docs: Path
) -> None:
    from docchat.config import load_settings

    built = Docchat(load_settings(overrides={"embed": {"backend": "fake", "model": "model-a"}}))
    run(built, "t", docs)
    # Later runs with the default settings (no model asked for) use model-a, silently.
    plain = load_settings(overrides={"embed": {"backend": "fake"}})
    assert "model" not in plain.embed.model_fields_set
    (docs / "bread.txt").write_text("Changed bread.\n", encoding="utf-8")
    summary, _ = run(Docchat(plain), "t", docs)
    assert summary.indexed == 1
    # Asking for another model by name is refused with the way out.
    asked = load_settings(overrides={"embed": {"backend": "fake", "model": "model-b"}})
    with pytest.raises(ModelMismatch, match="reembed t --model model-b"):
        list(Docchat(asked).index("t", [docs]))


def test_a_full_disk_is_one_clear_error_and_the_collection_stays_consistent(
    service: Docchat, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import sqlite3

    from docchat.errors import StoreWriteError
    from docchat.store.vectors import VectorIndex
    from docchat.store.writer import CollectionWriter

    run(service, "t", docs)
    (docs / "new.txt").write_text("A new file about glaciers.\n", encoding="utf-8")

    def no_space(self: VectorIndex, path: Path) -> None:  # the vector file cannot be written
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(VectorIndex, "save", no_space)
    with pytest.raises(StoreWriteError, match=r"disk full; free some space.*run the same command"):
        list(service.index("t", [docs]))
    monkeypatch.undo()
    assert service.check("t").ok

    def db_full(self: CollectionWriter, **kwargs: object) -> tuple[int, int]:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(CollectionWriter, "put", db_full)
    (docs / "new2.txt").write_text("Another new file, about deserts.\n", encoding="utf-8")
    with pytest.raises(StoreWriteError, match="disk full"):
        list(service.index("t", [docs]))
    monkeypatch.undo()
    assert service.check("t").ok
    run(service, "t", docs)  # with space again, the run finishes the work
    assert service.check("t").ok
    assert {Path(p).name for p in service.open_collection("t").document_paths()} >= {
        "new.txt",
        "new2.txt",
    }


def test_an_outgrown_approximate_index_is_rebuilt_for_its_size() -> None:
    import numpy as np

    from docchat.store.vectors import VectorIndex, _nlist_for

    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(3000, 16)).astype(np.float32)
    index = VectorIndex.build(16, np.arange(3000), vecs, approximate_above=1000)
    assert index.approximate and not index.outgrown
    # Grown ~7x since its lists were trained, it asks for a rebuild; rebuilt, it is content.
    more = rng.normal(size=(17000, 16)).astype(np.float32)
    index.add(np.arange(3000, 20000), more)
    assert index.outgrown and _nlist_for(20000) >= 2 * _nlist_for(3000)
    all_vecs = np.vstack([vecs, more])
    assert not VectorIndex.build(16, np.arange(20000), all_vecs, 1000).outgrown
