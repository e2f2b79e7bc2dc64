"""The Milvus backend beyond the tests shared with FAISS: what is recorded, filters inside
Milvus, check against Milvus's ids, rebuilds at a fresh home, the default Milvus Lite file,
and a server that cannot be reached (a Milvus Lite gRPC server on a loopback port stands in
for a Milvus server: same protocol, same client code path)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
from backends import HAVE_MILVUS, both_backends

from docchat.config import Settings
from docchat.errors import CollectionError, VectorStoreError
from docchat.service import Docchat
from docchat.store.vector_store import VectorFilter, VectorRows

pytestmark = pytest.mark.skipif(not HAVE_MILVUS, reason="needs the milvus extra")


def index(service: Docchat, name: str, *paths: Path) -> None:
    list(service.index(name, [str(p) for p in paths]))


@pytest.fixture
def milvus(fake_settings: Settings, shared_milvus_uri: str) -> Iterator[Docchat]:
    settings = fake_settings.model_copy(deep=True)
    settings.store.vector_backend = "milvus"
    settings.store.milvus_uri = shared_milvus_uri
    svc = Docchat(settings)
    yield svc
    svc.close()


def test_the_milvus_config_is_recorded_and_listed(milvus: Docchat, docs: Path) -> None:
    index(milvus, "t", docs)
    listed = milvus.collections()[0].to_json()
    store = listed["vector_store"]
    assert listed["vector_backend"] == "milvus"
    assert isinstance(store, dict)
    assert store["uri"] == milvus.settings.store.milvus_uri
    assert str(store["collection"]).startswith("docchat_")
    exact = str(store["uri"]).endswith(".db")  # auto: FLAT on Milvus Lite, HNSW on a server
    assert (store["index_type"], store["consistency"]) == ("FLAT" if exact else "HNSW", "Strong")
    assert "token" not in str(listed)


def test_restrictions_run_inside_milvus_as_scalar_filters(
    milvus: Docchat, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from docchat.store.milvus_store import MilvusStore

    index(milvus, "t", docs)
    seen: list[VectorFilter | None] = []
    real = MilvusStore.search

    def spy(self, queries, k, where=None):  # type: ignore[no-untyped-def]
        seen.append(where)
        return real(self, queries, k, where)

    monkeypatch.setattr(MilvusStore, "search", spy)
    hits = milvus.search("t", "dropout in:*.md page:1-", k=3, mode="dense")
    assert hits == []  # text files have no pages
    assert seen[-1] is not None and seen[-1].ids is None
    assert seen[-1].documents is not None and seen[-1].pages == (1, None)
    hits = milvus.search("t", "dropout in:*.md", k=3, mode="dense")
    assert hits and all(h.path.endswith(".md") for h in hits)
    # A phrase needs SQLite's FTS5 index: it reaches Milvus as allowed ids.
    milvus.search("t", 'dropout "reduces overfitting"', k=3, mode="dense")
    assert seen[-1] is not None and seen[-1].ids is not None and len(seen[-1].ids) == 1


def test_check_compares_sqlite_with_milvus_and_rebuild_moves_to_a_fresh_collection(
    milvus: Docchat, docs: Path
) -> None:
    index(milvus, "t", docs)
    coll = milvus.open_collection("t")
    store = coll.vectors()
    stray = VectorRows(
        np.asarray([999_999]),
        np.ones((1, 64), dtype=np.float32) / 8,
        np.asarray([1]),
        np.asarray([-1]),
    )
    store.upsert(stray)
    store.remove(store.ids()[:2])
    report = milvus.check("t")
    assert "2 chunks are missing from the vector store" in report.problems
    assert "1 vectors belong to no chunk" in report.problems
    old = coll.vector_config()
    assert milvus.rebuild("t") == report.chunks
    new = coll.vector_config()
    assert new.collection != old.collection and new.uri == old.uri
    assert milvus.check("t").ok
    client = coll.vectors().client  # type: ignore[attr-defined]
    assert not client.has_collection(old.collection)  # the old one was dropped


@both_backends
def test_a_backend_asked_for_by_name_must_be_the_collections(
    service: Docchat, docs: Path, vector_backend: str
) -> None:
    index(service, "t", docs)
    other: Literal["faiss", "milvus"] = "faiss" if vector_backend == "milvus" else "milvus"
    asked = Docchat(service.settings.model_copy(deep=True))
    asked.settings.store.vector_backend = other  # set by name, as a flag or env var does
    with pytest.raises(CollectionError, match=f"docchat collections migrate t --to {other}"):
        index(asked, "t", docs)
    plain = Docchat(service.settings.model_copy(deep=True))  # nothing asked: its own backend
    (docs / "bread.txt").write_text("Rye bread.\n", encoding="utf-8")
    index(plain, "t", docs)
    assert plain.check("t").ok
    plain.close()


def test_the_default_milvus_lite_file_lives_in_the_collection_folder(
    fake_settings: Settings, docs: Path
) -> None:
    settings = fake_settings.model_copy(deep=True)
    settings.store.vector_backend = "milvus"  # milvus_uri "": a file in the folder
    svc = Docchat(settings)
    index(svc, "t", docs)
    folder = svc.open_collection("t").folder
    assert (folder / "milvus.db").exists()
    svc.rename_collection("t", "u")  # the file moves with the folder
    assert Path(svc.search("u", "sourdough starter", k=1)[0].path).name == "bread.txt"
    assert svc.check("u").ok
    assert svc.remove("u") == []
    assert not folder.exists() and not folder.with_name("u").exists()
    svc.close()


def test_an_unreachable_server_is_one_clear_error_and_records_nothing(
    fake_settings: Settings, docs: Path
) -> None:
    settings = fake_settings.model_copy(deep=True)
    settings.store.vector_backend = "milvus"
    settings.store.milvus_uri = "http://127.0.0.1:1"  # nothing listens there
    with pytest.raises(VectorStoreError) as err:
        index(Docchat(settings), "t", docs)
    message = str(err.value)
    assert "cannot reach Milvus at http://127.0.0.1:1" in message and "\n" not in message
    # Nothing was recorded: the same collection can still be made elsewhere.
    settings.store.vector_backend = "faiss"
    svc = Docchat(settings)
    index(svc, "t", docs)
    assert svc.collections()[0].vector_backend == "faiss" and svc.check("t").ok


@pytest.fixture
def lite_server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A Milvus Lite gRPC server on a loopback port, standing in for a Milvus server; the
    test may stop and start it again on the same port."""
    server_module = pytest.importorskip("milvus_lite.adapter.grpc.server")  # milvus-lite 3
    start_server_in_thread = server_module.start_server_in_thread

    state: dict[str, Any] = {"data": str(tmp_path / "server-data"), "port": 0}

    def start() -> None:
        server, db, state["port"] = start_server_in_thread(state["data"], port=state["port"])
        state["running"] = (server, db)

    def stop() -> None:
        server, db = state.pop("running")
        server.stop(grace=0)
        db.close()

    state["start"], state["stop"] = start, stop
    start()
    try:
        yield state
    finally:
        if "running" in state:
            stop()


def test_a_server_that_goes_away_loses_nothing(
    fake_settings: Settings, docs: Path, lite_server: dict[str, Any]
) -> None:
    settings = fake_settings.model_copy(deep=True)
    settings.store.vector_backend = "milvus"
    settings.store.milvus_uri = uri = f"http://127.0.0.1:{lite_server['port']}"
    svc = Docchat(settings)
    index(svc, "t", docs)
    assert svc.collections()[0].vector_store["index_type"] == "HNSW"  # a server
    svc.close()

    lite_server["stop"]()
    (docs / "glaciers.txt").write_text("Glaciers carve deep valleys.\n", encoding="utf-8")
    for attempt in (
        lambda: index(Docchat(settings), "t", docs),
        lambda: Docchat(settings).search("t", "sourdough", k=1),
    ):
        with pytest.raises(VectorStoreError, match=f"cannot reach Milvus at {uri}"):
            attempt()
    keyword = Docchat(settings).search("t", "sourdough", k=1, mode="keyword")
    assert Path(keyword[0].path).name == "bread.txt"  # SQLite serves what it can alone

    lite_server["start"]()
    back = Docchat(settings)
    index(back, "t", docs)
    report = back.check("t")
    assert report.ok and report.vectors == report.chunks
    assert Path(back.search("t", "glaciers valleys", k=1)[0].path).name == "glaciers.txt"
    back.close()
