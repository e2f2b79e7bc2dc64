"""Shared fixtures: every test gets its own data and config dirs, never the real home."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS))  # so `import fakes` works, in-process and as a plugin

from fakes import FakeEmbedder  # noqa: E402

from docchat.config import Settings, load_settings  # noqa: E402
from docchat.service import Docchat  # noqa: E402
from docchat.types import Hit  # noqa: E402

MakeHit = Callable[..., Hit]


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of the models built locally from the bundled one (ONNX export, OpenVINO
    model) for the whole run, shared by the xdist workers (builds are atomic and keyed), so
    real-model tests do not each rebuild them. Tests of the building clear it."""
    return tmp_path_factory.getbasetemp().parent / "model-cache"


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_cache: Path) -> Path:
    """DOCCHAT_DATA_DIR / config / HOME point into tmp_path for every test; built models
    into the run's shared cache (DOCCHAT_MODEL_CACHE)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("DOCCHAT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DOCCHAT_CONFIG", str(home / "docchat.toml"))
    monkeypatch.setenv("DOCCHAT_MODEL_CACHE", str(model_cache))
    for key in [k for k in __import__("os").environ if k.startswith("DOCCHAT_")]:
        if key not in ("DOCCHAT_DATA_DIR", "DOCCHAT_CONFIG", "DOCCHAT_MODEL_CACHE"):
            monkeypatch.delenv(key)
    return tmp_path


@pytest.fixture
def vector_backend(request: pytest.FixtureRequest) -> str:
    """The vector store new collections get: faiss, unless a test is parametrised over both
    (`@both_backends` from tests/backends.py)."""
    return str(getattr(request, "param", "faiss"))


@pytest.fixture(scope="session")
def shared_milvus_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Milvus Lite file for every in-process test of this worker (starting one costs
    ~0.6 s): each docchat collection gets a Milvus collection of its own (a fresh uuid name),
    so tests never see each other's vectors. DOCCHAT_TEST_MILVUS_URI=http://host:19530 runs
    the same tests against a Milvus server instead."""
    server = os.environ.get("DOCCHAT_TEST_MILVUS_URI")
    if server:
        yield server
        return
    from docchat.store import milvus_local

    path = str(tmp_path_factory.mktemp("milvus") / "shared.db")
    milvus_local.acquire(path)  # held for the session: the server outlives each test
    try:
        yield path
    finally:
        milvus_local.release(path)


@pytest.fixture
def fake_settings(tmp_path: Path, vector_backend: str, request: pytest.FixtureRequest) -> Settings:
    """Settings that use the fake embedder (small chunks, so chunking is exercised)."""
    overrides: dict[str, Any] = {
        "embed": {"backend": "fake", "model": "fake-embedder"},
        "index": {"chunk_tokens": 64, "chunk_overlap": 8, "checkpoint_seconds": 0.001},
    }
    if vector_backend == "milvus":
        uri = request.getfixturevalue("shared_milvus_uri")
        overrides["store"] = {"vector_backend": "milvus", "milvus_uri": uri}
    return load_settings(overrides=overrides)


@pytest.fixture
def service(fake_settings: Settings) -> Iterator[Docchat]:
    svc = Docchat(fake_settings)
    yield svc
    svc.close()  # Milvus connections; nothing to do for FAISS


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A small folder of text documents about distinct topics."""
    root = tmp_path / "docs"
    root.mkdir()
    (root / "dropout.md").write_text(
        "# Regularisation\n\nDropout randomly zeroes activations during training.\n\n"
        "## Overfitting\n\nDropout reduces overfitting in deep neural networks.\n",
        encoding="utf-8",
    )
    (root / "bread.txt").write_text(
        "Sourdough bread needs a starter, flour, water and salt.\nBake it at 250 degrees.\n",
        encoding="utf-8",
    )
    sub = root / "notes"
    sub.mkdir()
    (sub / "rivers.rst").write_text(
        "Rivers\n======\n\nThe Danube flows through ten countries into the Black Sea.\n",
        encoding="utf-8",
    )
    return root


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
