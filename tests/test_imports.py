"""Import hygiene: the core is headless and starts without loading heavy libraries."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "docchat"
HEAVY = (
    "torch",
    "faiss",
    "transformers",
    "sentence_transformers",
    "llama_cpp",
    "textual",
    "pymilvus",
    "milvus_lite",
    "grpc",
)


def test_only_docchat_ui_imports_textual() -> None:
    pattern = re.compile(r"^\s*(from|import)\s+textual\b", re.MULTILINE)
    leaks = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if "ui" not in p.relative_to(PACKAGE).parts[:1] and pattern.search(p.read_text("utf-8"))
    ]
    assert leaks == []


def test_cli_and_facade_import_nothing_heavy() -> None:
    code = (
        "import sys, docchat.cli, docchat.service, docchat.config;"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_pickle_anywhere() -> None:
    pattern = re.compile(r"^\s*(from|import)\s+(c?pickle|joblib|dill)\b", re.MULTILINE)
    assert [p.name for p in PACKAGE.rglob("*.py") if pattern.search(p.read_text("utf-8"))] == []
