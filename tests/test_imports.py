"""Import hygiene: the core is headless and starts without loading heavy libraries."""

from __future__ import annotations

import json
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


def test_every_command_module_is_in_the_lazy_table_under_its_commands_name() -> None:
    import importlib

    from docchat.cli import COMMAND_MODULES

    defining = {
        p.stem for p in (PACKAGE / "cli").glob("*.py") if "\nCOMMANDS = " in p.read_text("utf-8")
    }
    assert set(COMMAND_MODULES.values()) == defining
    for name, module in COMMAND_MODULES.items():
        assert importlib.import_module(f"docchat.cli.{module}").COMMANDS[0].name == name


def test_the_index_command_loads_neither_answering_nor_search() -> None:
    """`docchat index` with nothing to do should cost little more than its own work: the
    claims checker, the generators and the search pipeline are `ask`'s and `search`'s."""
    code = (
        "import json, sys, docchat.cli, docchat.cli.index, docchat.service, docchat.indexing;"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(("
        "'docchat.claims.', 'docchat.generate.', 'docchat.retrieve.')))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert [m for m in loaded if m.split(".")[-1] not in ("citations", "terms", "render")] == []
