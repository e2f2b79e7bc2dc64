"""Running collection tests over both vector backends.

`@both_backends` parametrises a test over FAISS and Milvus (Milvus Lite, no server): the
`service` / `fake_settings` fixtures give new collections that backend. In-process tests
share one Milvus Lite file per worker (conftest.shared_milvus_uri); subprocess tests get the
default, a Milvus Lite file inside the collection folder (`milvus_env`).
"""

from __future__ import annotations

import importlib.util

import pytest

HAVE_MILVUS = all(importlib.util.find_spec(m) for m in ("pymilvus", "milvus_lite"))
needs_milvus = pytest.mark.skipif(
    not HAVE_MILVUS, reason="needs the milvus extra: pip install 'docchat[milvus]'"
)
BACKENDS = ["faiss", pytest.param("milvus", marks=needs_milvus)]
both_backends = pytest.mark.parametrize("vector_backend", BACKENDS, indirect=True)


def backend_env(backend: str) -> dict[str, str]:
    """Environment that gives a `docchat` subprocess's new collections this backend."""
    return {"DOCCHAT_STORE_VECTOR_BACKEND": backend} if backend != "faiss" else {}
