"""Support scoring with the real all-MiniLM-L6-v2 (slow): paraphrases found, wrong markers
corrected, invented claims flagged."""

from __future__ import annotations

import pytest

from docchat.claims.verify import check
from docchat.config import load_settings
from docchat.embed.base import Embedder
from docchat.service import Docchat
from docchat.types import Source

pytestmark = pytest.mark.slow

TEXTS = [
    "VACUUM reclaims storage occupied by dead tuples. Plain VACUUM can run in parallel with "
    "normal reading and writing of the table, as an exclusive lock is not obtained.",
    "CREATE INDEX CONCURRENTLY builds the index without taking any locks that prevent "
    "concurrent inserts, updates, or deletes on the table. A standard index build locks out "
    "writes (but not reads) on the table until it is done.",
    "pg_restore restores a PostgreSQL database from an archive created by pg_dump in one of "
    "the non-plain-text formats. Use the -d option to connect to a database.",
]
SOURCES = [Source(n, f"s{n}.html", None, 1, 5, 1.0, t) for n, t in enumerate(TEXTS, start=1)]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Docchat(load_settings(environ={})).embedder()


def test_real_model_corrects_markers_and_flags_inventions(embedder: Embedder) -> None:
    answer = (
        "Use CREATE INDEX CONCURRENTLY to build an index without blocking inserts, updates or "
        "deletes [1]. A normal index build blocks writes to the table until it finishes [2]. "
        "To restore a custom-format archive, run pg_restore with -d and the database [3]. "
        "PostgreSQL 7.4 added this feature for Oracle compatibility [2]."
    )
    v = check(embedder, "How do I build an index without blocking writes?", SOURCES, answer, "mark")
    first, second, third, invented = v.claims
    assert first.marked == (1,) and first.sources[:1] == (2,) and first.corrected
    assert second.supported and second.sources[:1] == (2,)
    assert third.supported and third.sources[:1] == (3,)
    assert not invented.supported
    assert v.cited[:2] == (2, 3) and not v.abstained
