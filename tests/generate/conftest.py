"""Fixtures for the answer tests: hits, a fake generator, a fresh generator cache."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes import FakeGenerator

from docchat.generate import registry


@pytest.fixture
def fake() -> FakeGenerator:
    return FakeGenerator()


@pytest.fixture(autouse=True)
def fresh_generator_cache() -> Iterator[None]:
    registry.clear_cache()
    yield
    registry.clear_cache()
