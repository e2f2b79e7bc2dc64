"""Fast stand-ins for the real models, for unit tests.

FakeEmbedder is a hashed bag of words: texts sharing words get similar vectors, so search
tests are meaningful, and it costs microseconds. It registers as the embed backend "fake"
(import this module as a plugin: DOCCHAT_PLUGINS=fakes with tests/ on PYTHONPATH).
FakeGenerator (below) echoes its first source with a citation and registers as the generate
backend "fake" (in-process) and "fake-process" (in a child process, through the same protocol
as llama.cpp; see MAGIC below for the ways to make that child misbehave on purpose).
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from docchat.config import EmbedSettings, GenerateSettings
from docchat.embed.base import Embedder, normalize
from docchat.embed.registry import register_embedder
from docchat.errors import ModelError
from docchat.generate.base import (
    ChatMessage,
    GenerationOptions,
    Generator,
    cut_at_stop,
)
from docchat.generate.registry import register_generator

_TOKEN = re.compile(r"\w+|[^\w\s]")


class FakeEmbedder(Embedder):
    counts_tokens_apart = True  # (whitespace counting: the index run's reading thread chunks)

    def __init__(self, name: str = "fake-embedder", dimension: int = 64, max_tokens: int = 64):
        self.name = name
        self.dimension = dimension
        self.max_tokens = max_tokens
        self.calls = 0
        self.texts_embedded = 0
        self.gate: threading.Event | None = None  # tests can hold embedding until released

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if self.gate is not None:
            self.gate.wait()
        self.calls += 1
        _maybe_hang(self.calls)
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = zlib.crc32(word.encode())
                out[row, h % self.dimension] += 1.0 if (h >> 16) & 1 else -1.0
            if not out[row].any():
                out[row, 0] = 1.0
        return normalize(out)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(_TOKEN.findall(t)) for t in texts]


_hung = False


def _maybe_hang(calls: int) -> None:
    """In a subprocess under test: after FAKE_EMBED_HANG_AFTER calls, drop a marker file and
    wait until the test deletes it (or kills the process), so the test acts at a known point
    mid-run. Waits once per process."""
    global _hung
    after = os.environ.get("FAKE_EMBED_HANG_AFTER")
    if after and calls > int(after) and not _hung:
        _hung = True
        marker = os.environ["FAKE_EMBED_MARKER"]
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        while os.path.exists(marker):
            time.sleep(0.01)  # polling for the test's go-ahead, not timing anything


def _factory(settings: EmbedSettings) -> Embedder:
    return FakeEmbedder(name=settings.model)


register_embedder("fake", _factory)


# ---------------------------------------------------------------- generator


class FakeGenerator(Generator):
    """An echo generator: fast, deterministic, and it honours stop/cancel like a real one.

    Tokens are words and punctuation marks. Unless `responses` scripts the replies, an
    answer quotes the first source and cites it ("[1]"), and a condensation request returns
    the previous question joined to the follow-up. `on_piece(i)` runs after each piece is
    yielded, so a test can set the cancel event at an exact point.
    """

    def __init__(
        self, name: str = "fake-generator", n_ctx: int = 4096, responses: Sequence[str] = ()
    ) -> None:
        self.name = name
        self.n_ctx = n_ctx
        self.responses = list(responses)
        self.calls: list[list[ChatMessage]] = []
        self.pieces_yielded = 0
        self.on_piece: Callable[[int], None] | None = None

    def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        cancel: threading.Event | None = None,
    ) -> Iterator[str]:
        return cut_at_stop(self._stream(messages, options, cancel), options.stop)

    def _stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        cancel: threading.Event | None,
    ) -> Iterator[str]:
        self.calls.append(list(messages))
        magic = _magic(messages)
        if magic == "ENDLESS":
            yield from _endless(options, cancel)
            return
        text = self.responses.pop(0) if self.responses else self._echo(messages)
        for i, piece in enumerate(re.findall(r"\s*\S+", text)[: options.max_tokens]):
            if magic and i == (0 if magic == "IGNORE_STOP" else 2):
                _misbehave(magic)
            if cancel is not None and cancel.is_set():
                return
            self.pieces_yielded += 1
            yield piece
            if self.on_piece is not None:
                self.on_piece(i)

    def count_tokens(self, text: str) -> int:
        return len(_TOKEN.findall(text))

    @staticmethod
    def _echo(messages: Sequence[ChatMessage]) -> str:
        last = messages[-1]["content"]
        if messages[0]["content"].startswith("Rewrite"):
            previous = re.findall(r"^User: (.*)$", last, re.MULTILINE)[-1]
            follow_up = re.search(r"Follow-up question: (.*)", last)
            return f"{previous} {follow_up.group(1) if follow_up else ''}".strip()
        source = re.search(r"^\[1\] [^\n]*\n([^\n]*)", last, re.MULTILINE)
        if source is None:
            return "I don't know."
        return f"The documents say: {source.group(1)[:200]} [1]"


# Words that, in a prompt, make the fake misbehave — only inside a model process (where
# DOCCHAT_MODEL_PROCESS is set), so a stray one can never take the test runner down. Crashes
# and errors come after two pieces (the parent has a partial answer by then); IGNORE_STOP
# hangs before the first one, like a native call that never returns.
MAGIC = ("CRASH_SIGSEGV", "CRASH_SIGKILL", "CRASH_ABORT", "IGNORE_STOP", "RAISE_ERROR", "ENDLESS")


def _magic(messages: Sequence[ChatMessage]) -> str:
    if not os.environ.get("DOCCHAT_MODEL_PROCESS") or messages[0]["content"].startswith("Rewrite"):
        return ""  # in-process, or rewriting a follow-up: misbehave in the answer only
    text = " ".join(m["content"] for m in messages)
    return next((word for word in MAGIC if word in text), "")


def _misbehave(magic: str) -> None:
    if magic == "CRASH_SIGSEGV":
        os.kill(os.getpid(), signal.SIGSEGV)  # what a bad native kernel does
    elif magic == "CRASH_SIGKILL":
        os.kill(os.getpid(), signal.SIGKILL)  # what the out-of-memory killer does
    elif magic == "CRASH_ABORT":
        os.abort()  # what a failed GGML_ASSERT does
    elif magic == "RAISE_ERROR":
        raise ModelError("the fake model failed on purpose")
    elif magic == "IGNORE_STOP":
        while True:  # a native call that never looks at the cancel event
            time.sleep(0.05)


def _endless(options: GenerationOptions, cancel: threading.Event | None) -> Iterator[str]:
    """One word per token up to max_tokens, checking `cancel` before each, as backends do."""
    for _ in range(options.max_tokens):
        if cancel is not None and cancel.is_set():
            return
        yield " word"


def _generator_factory(settings: GenerateSettings) -> Generator:
    if os.environ.get("DOCCHAT_MODEL_PROCESS") and os.environ.get("FAKE_GENERATOR_LOAD_CRASH"):
        os.kill(os.getpid(), signal.SIGSEGV)
    return FakeGenerator(name=settings.model or "fake-generator", n_ctx=settings.n_ctx)


register_generator("fake", _generator_factory)
register_generator("fake-process", _generator_factory, isolated=True)
