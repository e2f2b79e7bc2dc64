"""Fixtures for the answer tests: hits, a fake generator, a migrated collection database."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator

import pytest
from fakes import FakeGenerator

from docchat.generate import registry
from docchat.store.migrations import migrate
from docchat.types import Hit

MakeHit = Callable[..., Hit]


@pytest.fixture
def make_hit() -> MakeHit:
    def make(
        n: int = 1,
        text: str = "Churn rose to 12% in 2023.",
        dense: float | None = 0.6,
        path: str | None = None,
        page: int | None = None,
        score: float | None = None,
    ) -> Hit:
        return Hit(
            rank=n,
            score=score if score is not None else 1.0 / (60 + n),
            chunk_id=100 + n,
            path=path or f"/docs/report-{n}.md",
            page=page,
            line_start=10 * n,
            line_end=10 * n + 4,
            heading=None,
            text=text,
            explain={} if dense is None else {"dense_score": dense},
        )

    return make


@pytest.fixture
def fake() -> FakeGenerator:
    return FakeGenerator()


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn)
    yield conn
    conn.close()


@pytest.fixture(autouse=True)
def fresh_generator_cache() -> Iterator[None]:
    registry.clear_cache()
    yield
    registry.clear_cache()
