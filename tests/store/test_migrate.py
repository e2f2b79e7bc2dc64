"""`docchat collections migrate`: vectors move between FAISS and Milvus from SQLite, with
progress, and a stopped migration resumes without duplicates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from backends import HAVE_MILVUS

from docchat.config import Settings
from docchat.service import Docchat
from docchat.store.writer import writing

pytestmark = pytest.mark.skipif(not HAVE_MILVUS, reason="needs the milvus extra")


@pytest.fixture
def svc(fake_settings: Settings, shared_milvus_uri: str) -> Iterator[Docchat]:
    settings = fake_settings.model_copy(deep=True)
    settings.store.milvus_uri = shared_milvus_uri  # where a migration to Milvus goes
    service = Docchat(settings)
    yield service
    service.close()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    for i in range(40):
        (root / f"d{i:02}.txt").write_text(f"Note {i} is about topic{i % 7} and item{i}.\n")
    return root


def dense(svc: Docchat, query: str) -> tuple[list[float], set[int]]:
    """The top-5 scores, and the chunks that beat the 5th (the hashed fake embedder makes
    ties, which each backend may order its own way)."""
    hits = svc.search("t", query, k=5, mode="dense")
    scores = [round(h.score, 5) for h in hits]
    return scores, {h.chunk_id for h in hits if round(h.score, 5) > scores[-1]}


def test_migrate_both_ways_keeps_every_vector_and_every_answer(svc: Docchat, corpus: Path) -> None:
    list(svc.index("t", [corpus]))
    coll = svc.open_collection("t")
    before = {q: dense(svc, q) for q in ("topic3 item10", "item39", "note topic0")}
    steps = list(svc.migrate("t", "milvus"))
    assert steps[-1] == (40, 40) and steps[0] == (0, 40)
    assert svc.collections()[0].vector_backend == "milvus"
    assert not coll.vectors_path.exists()  # the FAISS file went with the move
    milvus_name = coll.vector_config().collection
    assert {q: dense(svc, q) for q in before} == before
    assert svc.check("t").ok

    assert list(svc.migrate("t", "faiss"))[-1] == (40, 40)
    assert svc.collections()[0].vector_backend == "faiss" and coll.vectors_path.exists()
    assert {q: dense(svc, q) for q in before} == before
    report = svc.check("t")
    assert report.ok and report.vectors == 40
    from pymilvus import MilvusClient

    client = MilvusClient(svc.settings.store.milvus_uri, dedicated=True)
    assert not client.has_collection(milvus_name)  # dropped once FAISS held everything
    client.close()


def test_a_migration_to_where_it_is_already_is_refused(svc: Docchat, corpus: Path) -> None:
    list(svc.index("t", [corpus]))
    with pytest.raises(Exception, match="already keeps its vectors in faiss"):
        list(svc.migrate("t", "faiss"))


def test_a_stopped_migration_resumes_without_duplicates(
    svc: Docchat, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from docchat.store.milvus_store import MilvusStore
    from docchat.store.vector_backends import new_config

    list(svc.index("t", [corpus]))
    coll = svc.open_collection("t")
    sent: list[int] = []
    real = MilvusStore.upsert

    def counting(self, rows):  # type: ignore[no-untyped-def]
        sent.append(len(rows))
        return real(self, rows)

    monkeypatch.setattr(MilvusStore, "upsert", counting)
    target = new_config(svc.settings.store, "milvus")
    with writing(coll) as writer:
        moving = writer.migrate(target, batch=15)
        assert next(moving) == (0, 40)
        assert next(moving) == (15, 40)
        moving.close()  # stopped here, as a Ctrl-C or kill would
    # Still on FAISS, complete and searchable; the half-filled target is recorded.
    assert coll.vector_config().backend == "faiss" and svc.check("t").ok
    assert coll.pending_vector_config() is not None
    assert svc.search("t", "item12", k=1)[0].path.endswith("d12.txt")

    sent.clear()
    steps = list(svc.migrate("t", "milvus"))
    assert steps[0] == (15, 40) and steps[-1] == (40, 40)  # resumed where it stopped
    assert sum(sent) == 25
    assert coll.pending_vector_config() is None
    report = svc.check("t")
    assert report.ok and report.vectors == report.chunks == 40
    assert svc.search("t", "item12", k=1)[0].path.endswith("d12.txt")


def test_a_stopped_migration_is_restarted_if_the_collection_changed_since(
    svc: Docchat, corpus: Path
) -> None:
    from docchat.store.vector_backends import new_config

    list(svc.index("t", [corpus]))
    coll = svc.open_collection("t")
    with writing(coll) as writer:
        moving = writer.migrate(new_config(svc.settings.store, "milvus"), batch=15)
        next(moving), next(moving)
        moving.close()
    stale = coll.pending_vector_config()
    assert stale is not None
    (corpus / "d00.txt").write_text("Rewritten: glaciers and fjords.\n")
    list(svc.index("t", [corpus]))  # a chunk id may be reused: the half-filled target is stale
    steps = list(svc.migrate("t", "milvus"))
    assert steps[0] == (0, 40)  # started afresh, not resumed
    assert coll.vector_config().collection != stale.collection
    assert svc.check("t").ok
    assert svc.search("t", "glaciers fjords", k=1)[0].path.endswith("d00.txt")
    client = coll.vectors().client  # type: ignore[attr-defined]
    assert not client.has_collection(stale.collection)  # the stale target was dropped
