"""Contextual chunk headers (issue 14): a chunk is embedded with its document's title and
heading path, stored and shown as its own text; the format is recorded per collection and an
older collection is brought to it by the next index run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from backends import both_backends
from fakes import FakeEmbedder

from docchat.embed.context import HEADERS, PLAIN, embed_text, header
from docchat.indexing import text_hash
from docchat.service import Docchat
from docchat.types import IndexSummary


class Recording(FakeEmbedder):
    """The fake embedder, keeping every text it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        return super().embed_batch(texts)


@pytest.fixture
def recording(service: Docchat, monkeypatch: pytest.MonkeyPatch) -> Recording:
    emb = Recording()
    monkeypatch.setattr(service, "embedder", lambda *a, **k: emb)
    return emb


def summary_of(service: Docchat, docs: Path) -> IndexSummary:
    last = list(service.index("t", [docs]))[-1]
    assert isinstance(last, IndexSummary)
    return last


def test_header_joins_title_and_heading_path_once() -> None:
    assert header("git-stash(1)", "git-stash(1) > OPTIONS") == "git-stash(1) > OPTIONS"
    assert (
        header("Debian Reference", "Tutorials > 1.1 Shell")
        == "Debian Reference > Tutorials > 1.1 Shell"
    )
    assert header("  A   title ", None) == "A title"
    assert header(None, None) == header("", "") == ""
    assert len(header("x" * 1000, "y" * 1000)) <= 300
    assert embed_text("body", "T", "H") == "T > H\n\nbody"
    assert embed_text("body", None, None) == "body"  # nothing to add: the same text and hash
    assert embed_text("body", "T", "H", PLAIN) == "body"


def test_chunks_are_embedded_with_their_headings_but_stored_as_they_are(
    service: Docchat, docs: Path, recording: Recording
) -> None:
    filler = " ".join(["Dropout randomly zeroes activations during training."] * 12)
    (docs / "dropout.md").write_text(
        f"# Regularisation\n\n{filler}\n\n## Overfitting\n\nDropout reduces overfitting.\n",
        encoding="utf-8",
    )
    summary_of(service, docs)
    assert any(t.startswith("Regularisation > Overfitting\n\n") for t in recording.seen)
    assert any(t.startswith("Sourdough bread") for t in recording.seen)  # no title: as it is
    coll = service.open_collection("t")
    assert coll.embed_format() == HEADERS
    texts = {text for _, _, text, _, _ in coll.embed_sources()}
    assert not any(t.startswith("Regularisation >") for t in texts)
    hit = service.search("t", "overfitting", k=1, mode="keyword")[0]
    assert "Regularisation >" not in hit.text and hit.heading == "Regularisation > Overfitting"
    # Re-embedding (another model) embeds the same header + text again.
    again = dict(coll.embedded_texts())
    for _, h, text, heading, title in coll.embed_sources():
        assert again[h] == embed_text(text, title, heading) and h == text_hash(again[h])


@both_backends
def test_an_older_collection_is_reembedded_once_where_its_texts_changed(
    service: Docchat, docs: Path, recording: Recording
) -> None:
    service.settings.index.context_headers = False
    summary_of(service, docs)
    coll = service.open_collection("t")
    assert coll.embed_format() == PLAIN
    before = {cid: h for cid, h, *_ in coll.embed_sources()}
    recording.seen.clear()
    service.settings.index.context_headers = True
    summary = summary_of(service, docs)
    coll = service.open_collection("t")
    assert coll.embed_format() == HEADERS
    after = {cid: h for cid, h, *_ in coll.embed_sources()}
    headed = {cid for cid, _, _, heading, title in coll.embed_sources() if heading or title}
    assert headed and {cid for cid in after if after[cid] != before[cid]} == headed
    assert len(recording.seen) == len({after[c] for c in headed})  # plain ones kept theirs
    assert any("re-embedded" in note for _, note in summary.notes)
    assert service.check("t").ok
    hit = service.search("t", "overfitting deep networks", k=1)[0]
    assert Path(hit.path).name == "dropout.md"
    # The next run has nothing to do.
    recording.seen.clear()
    summary = summary_of(service, docs)
    assert recording.seen == [] and summary.notes == []
