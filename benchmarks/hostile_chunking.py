"""Chunking hostile text with the real tokenizer (issue 10, F3): the old recursive chunker
against the linear one, on base64 and on one sentence repeated.

    PYTHONPATH=$PWD flock /tmp/docchat-heavy.lock python benchmarks/hostile_chunking.py [--old]

Prints one table row per case: characters, chunks, characters tokenized, tokenizer calls and
seconds. `--old` also runs the chunker as it was before issue 10 (from git, commit 9ab70cd) on
the 200 kB base64 line and on the repeated sentence; it re-tokenizes each half of an unbroken
run, so its cost on base64 grows as n log n with large constants (443 s on 10 MB, issue 10).
In a run, base64 never reaches the chunker: it is refused as not prose first.
"""

from __future__ import annotations

import base64
import importlib.util
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from docchat.config import load_settings
from docchat.ingest.chunking import chunk_document
from docchat.service import Docchat
from docchat.types import Page, ParsedDocument

SENTENCE = "The quick brown fox jumps over the lazy dog. "


def cases() -> list[tuple[str, str]]:
    rnd = random.Random(1)
    return [
        ("base64, one line, 200 kB", base64.b64encode(rnd.randbytes(150_000)).decode()),
        ("one sentence repeated, 1 MB", SENTENCE * (1_000_000 // len(SENTENCE))),
        ("base64, one line, 1 MB", base64.b64encode(rnd.randbytes(750_000)).decode()),
        ("one sentence repeated, 10 MB", SENTENCE * (10_000_000 // len(SENTENCE))),
    ]


class Counted:
    def __init__(self, count: Callable[[Sequence[str]], list[int]]) -> None:
        self.count = count
        self.calls = 0
        self.chars = 0

    def __call__(self, texts: Sequence[str]) -> list[int]:
        self.calls += 1
        self.chars += sum(len(t) for t in texts)
        return self.count(texts)


def old_chunker() -> Callable[..., list[object]]:
    source = subprocess.run(
        ["git", "show", "9ab70cd:docchat/ingest/chunking.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "old_chunking.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("old_chunking", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_chunking"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.chunk_page  # type: ignore[no-any-return]


def main() -> None:
    embedder = Docchat(load_settings()).embedder()
    max_tokens = min(load_settings().index.chunk_tokens, embedder.max_tokens)
    print(f"embedder {embedder.name}, {max_tokens} tokens per chunk, overlap 32")
    print("| case | chunker | chunks | chars tokenized | tokenizer calls | seconds |")
    print("|---|---|---:|---:|---:|---:|")
    old = old_chunker() if "--old" in sys.argv else None
    for name, text in cases():
        count = Counted(embedder.count_tokens)
        started = time.perf_counter()
        result = chunk_document(ParsedDocument((Page(text),)), count, max_tokens, 32)
        seconds = time.perf_counter() - started
        print(
            f"| {name} | linear | {len(result.spans):,} | {count.chars:,} | {count.calls:,} "
            f"| {seconds:.1f} |"
        )
        if old is not None and (len(text) <= 200_000 or text.startswith(SENTENCE)):
            count = Counted(embedder.count_tokens)
            started = time.perf_counter()
            spans = old(Page(text), count, max_tokens, 32)
            seconds = time.perf_counter() - started
            print(
                f"| {name} | old (9ab70cd) | {len(spans):,} | {count.chars:,} | {count.calls:,} "
                f"| {seconds:.1f} |"
            )


if __name__ == "__main__":
    main()
