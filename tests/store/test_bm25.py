"""The in-memory BM25 copy (store/bm25.py) ranks exactly as FTS5's bm25() does, and never
answers from a stale copy, a restricted query or a term it cannot score."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from docchat.retrieve.keyword import keyword_scores
from docchat.retrieve.terms import query_terms
from docchat.service import Docchat
from docchat.store import retrieval
from docchat.store.bm25 import Accelerator, Postings, query_tokens
from docchat.store.collection import Collection
from docchat.types import Restriction

REPO = Path(__file__).resolve().parents[2]
PAGES = ("architecture.md", "tui.md", "scale.md")  # real prose with headings
QUERIES = [
    "how does the writer keep SQLite and FAISS consistent after a crash",
    "keyboard shortcuts",
    "vector store migration to Milvus",
    "search",
    "Chunks headings index",
    "what happens when the disk is full while indexing a large collection of PDF files",
    "nothing matches zzzzqqq",
    "running runs ran",  # one stem, three phrases: each counts, as in FTS5
]
Scored = list[tuple[int, float, float]]


@pytest.fixture
def coll(service: Docchat, tmp_path: Path) -> Collection:
    root = tmp_path / "pages"
    root.mkdir()
    for name in PAGES:
        shutil.copy(REPO / "docs" / name, root / name)
    list(service.index("pages", [root]))
    c = service.open_collection("pages")
    assert c.db.execute("SELECT count(*) FROM chunks WHERE heading IS NOT NULL").fetchone()[0]
    return c


def fts5(coll: Collection, text: str, k: int, heading_weight: float) -> Scored:
    match = " OR ".join(f'"{t}"' for t in query_terms(text))
    return retrieval.keyword_scores(coll.db, match, k, Restriction(), heading_weight)


def built(coll: Collection) -> Postings:
    coll.bm25.start()
    postings = coll.bm25.wait()
    assert postings is not None
    return postings


def assert_same(got: Scored | None, want: Scored) -> None:
    """Same ids in the same order (FTS5 breaks ties by rowid, and so does the copy), same
    scores: the arithmetic is fts5_aux.c's, in the same order, so they agree to the bit in
    practice; 1e-9 leaves room for a libm that rounds a log differently."""
    assert got is not None
    assert [cid for cid, _, _ in got] == [cid for cid, _, _ in want]
    for (_, gscore, gtext), (_, wscore, wtext) in zip(got, want, strict=True):
        assert gscore == pytest.approx(wscore, rel=1e-9, abs=1e-12)
        assert gtext == pytest.approx(wtext, rel=1e-9, abs=1e-12)


def sample_queries(coll: Collection) -> list[str]:
    """The fixed queries plus the opening words of some chunks (terms that surely occur)."""
    rows = coll.db.execute("SELECT text FROM chunks ORDER BY id LIMIT 40").fetchall()
    return QUERIES + [" ".join(r[0].split()[:12]) for r in rows[::4]]


@pytest.mark.parametrize("heading_weight", [1.0, 0.3, 2.5, 0.0])
def test_scores_and_order_are_fts5s(coll: Collection, heading_weight: float) -> None:
    postings = built(coll)
    for text in sample_queries(coll):
        tokens = query_tokens(query_terms(text))
        if any(len(t) > 1 for t in tokens):
            continue
        for k in (3, 300):
            want = fts5(coll, text, k, heading_weight)
            assert_same(postings.search([t[0] for t in tokens if t], k, heading_weight), want)
            # and through retrieve/, which asks the copy first
            got = keyword_scores(coll, text, k, Restriction(), heading_weight=heading_weight)
            assert_same(got, want)


def test_headings_weigh_as_in_fts5(coll: Collection) -> None:
    postings = built(coll)
    heading = coll.db.execute(
        "SELECT heading FROM chunks WHERE heading IS NOT NULL ORDER BY id LIMIT 1"
    ).fetchone()[0]
    terms = [t[0] for t in query_tokens(query_terms(heading)) if len(t) == 1]
    assert terms and int(postings.tf_heading.max()) > 0
    by_weight = {w: postings.search(terms, 50, w) for w in (0.0, 1.0, 3.0)}
    assert by_weight[0.0] != by_weight[3.0]  # the heading field counts
    for w, got in by_weight.items():
        assert_same(got, fts5(coll, " ".join(terms), 50, w))


def test_built_only_once_a_process_searches_again(coll: Collection) -> None:
    fresh = Accelerator(coll._connect)
    assert fresh.search(coll.db, ["search"], 5, 1.0) is None  # one-off: FTS5, nothing built
    assert fresh.wait() is None
    assert fresh.search(coll.db, ["search"], 5, 1.0) is None  # second: FTS5, build starts
    assert fresh.wait() is not None
    assert_same(fresh.search(coll.db, ["search"], 5, 1.0), fts5(coll, "search", 5, 1.0))


def test_a_write_makes_it_stale_until_rebuilt(
    coll: Collection, service: Docchat, tmp_path: Path
) -> None:
    coll.bm25.pause = 0.0  # rebuild at once (normally: not before 4x the last build's time)
    built(coll)
    assert coll.keyword_scores_fast(["zebra"], 5, 1.0) == []
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "zoo.txt").write_text("The zebra grazes. A zebra herd.\n", encoding="utf-8")
    list(service.index("pages", [extra]))
    # stale: the copy does not answer (FTS5 does), and a rebuild starts
    assert coll.keyword_scores_fast(["zebra"], 5, 1.0) is None
    want = fts5(coll, "zebra", 5, 1.0)
    assert len(want) == 1
    assert_same(keyword_scores(coll, "zebra", 5, Restriction()), want)
    assert coll.bm25.wait() is not None
    assert_same(coll.keyword_scores_fast(["zebra"], 5, 1.0), want)
    # a removal, too
    (extra / "zoo.txt").unlink()
    list(service.index("pages", [extra]))
    assert coll.keyword_scores_fast(["zebra"], 5, 1.0) is None
    assert coll.bm25.wait() is not None
    assert_same(coll.keyword_scores_fast(["zebra"], 5, 1.0), fts5(coll, "zebra", 5, 1.0))


def test_restrictions_phrases_and_multi_token_terms_go_to_fts5(
    coll: Collection, monkeypatch: pytest.MonkeyPatch
) -> None:
    built(coll)
    doc = coll.documents()[0][0]
    asked: list[list[str]] = []
    real = coll.keyword_scores_fast

    def spy(terms: list[str], k: int, heading_weight: float = 1.0) -> Scored | None:
        asked.append(list(terms))
        return real(terms, k, heading_weight)

    monkeypatch.setattr(coll, "keyword_scores_fast", spy)
    for r in (
        Restriction(document_ids=(doc,)),
        Restriction(pages=(1, 3)),
        Restriction(phrase_match='"vector store"'),
    ):
        keyword_scores(coll, "vector store search", 5, r)
    assert asked == []
    assert coll.keyword_scores_fast(["read_csv"], 5, 1.0) is None  # FTS5: phrase "read csv"
    got = keyword_scores(coll, "read_csv search", 5, Restriction())
    assert asked[-1] == ["read_csv", "search"]
    assert got == fts5(coll, "read_csv search", 5, 1.0)


def test_too_big_a_collection_is_not_copied(coll: Collection) -> None:
    small = Accelerator(coll._connect, warm_after=1, max_instances=10)
    assert small.search(coll.db, ["search"], 5, 1.0) is None
    assert small.wait() is None
    first = small._thread
    assert small.search(coll.db, ["search"], 5, 1.0) is None
    assert small._thread is first  # not tried again for the same index


def test_query_tokens_are_fts5s() -> None:
    assert query_tokens(["Running", "caresses", "Café", "read_csv", "_"]) == [
        ("run",),
        ("caress",),
        ("cafe",),
        ("read", "csv"),
        (),
    ]


def test_an_empty_collection_has_an_empty_copy(service: Docchat) -> None:
    coll = service.open_collection("empty", create=True)
    coll.bm25.start()
    postings = coll.bm25.wait()
    assert postings is not None and len(postings.ids) == 0
    assert postings.search(["anything"], 5) == []
    assert keyword_scores(coll, "anything at all", 5, Restriction()) == []


def test_rebuilds_wait_while_writes_keep_coming(
    coll: Collection, service: Docchat, tmp_path: Path
) -> None:
    """After a build of t seconds the next waits pause * t: an index run that keeps writing
    does not keep a core busy rebuilding copies that go stale at once."""
    coll.bm25.pause = 1e6
    built(coll)
    first = coll.bm25._thread
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "a.txt").write_text("alpha beta\n", encoding="utf-8")
    list(service.index("pages", [extra]))
    assert coll.keyword_scores_fast(["alpha"], 5, 1.0) is None  # stale
    assert coll.keyword_scores_fast(["alpha"], 5, 1.0) is None
    assert coll.bm25._thread is first  # no rebuild yet
    assert keyword_scores(coll, "alpha", 5, Restriction()) == fts5(coll, "alpha", 5, 1.0)
