"""The Generator base: backends implement `stream`; everything else is built on it.

A backend turns a list of chat messages into pieces of text as the model produces them. It
must check `cancel` between tokens and stop computing (not just stop yielding) once it is set,
so Ctrl-C in the CLI and Esc in the TUI free the CPU/GPU at once.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from docchat.config import GenerateSettings


class ChatMessage(TypedDict):
    """One chat turn, in the shape every chat template (and the OpenAI API) expects."""

    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True)
class GenerationOptions:
    """Sampling settings for one call; `stop` strings end the answer (they are not yielded)."""

    max_tokens: int = 512
    temperature: float = 0.2
    top_p: float = 0.95
    repeat_penalty: float = 1.1
    stop: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: GenerateSettings) -> GenerationOptions:
        return cls(
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
            top_p=settings.top_p,
            repeat_penalty=settings.repeat_penalty,
        )


class Generator(ABC):
    """A loaded chat model. Instances are cached and reused (see registry.get_generator)."""

    #: Model name shown to the user and stored with each answer.
    name: str = ""
    #: Context window in tokens: prompt + answer must fit in it.
    n_ctx: int = 4096
    #: Where it runs ("cpu", "cuda", "gpu", ...), for display.
    device: str = ""

    @abstractmethod
    def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        cancel: threading.Event | None = None,
    ) -> Iterator[str]:
        """Yield the answer piece by piece; return early (and stop computing) when `cancel`
        is set or a stop string appears."""

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` in the model's own tokenizer.

        The default (about 4 characters a token) is for backends without a local tokenizer;
        real backends override it so prompt budgets are exact.
        """
        return max(1, (len(text) + 3) // 4) if text else 0

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens of the fully templated prompt (incl. role markers and the generation prompt).

        The default adds a generous per-message allowance for template markers.
        """
        return sum(self.count_tokens(m["content"]) + 8 for m in messages) + 8

    def generate(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        cancel: threading.Event | None = None,
    ) -> str:
        """The whole answer as one string (used for short internal calls like condensing)."""
        return "".join(self.stream(messages, options, cancel))

    def close(self) -> None:  # noqa: B027 - optional hook, most backends need nothing
        """Free the model's memory (called when the cache evicts it)."""


def cut_at_stop(pieces: Iterable[str], stop: Sequence[str]) -> Iterator[str]:
    """Pass pieces through until a stop string appears, holding back any text that could be
    the start of one (so a stop string split across pieces is never shown).

    For backends without native stop-string support; closing this generator closes the
    underlying one, which is what lets the backend stop computing.
    """
    stops = [s for s in stop if s]
    try:
        if not stops:
            yield from pieces
            return
        longest = max(len(s) for s in stops)
        pending = ""
        for piece in pieces:
            pending += piece
            hits = [i for i in (pending.find(s) for s in stops) if i >= 0]
            if hits:
                if min(hits):
                    yield pending[: min(hits)]
                return
            keep = _partial_stop_len(pending, stops, longest)
            if len(pending) > keep:
                yield pending[: len(pending) - keep]
                pending = pending[len(pending) - keep :]
        if pending:
            yield pending
    finally:
        # Also when our consumer stops early: the backend's own clean-up stops the model.
        close = getattr(pieces, "close", None)
        if close is not None:
            close()


def _partial_stop_len(text: str, stops: Sequence[str], longest: int) -> int:
    """Length of the longest suffix of `text` that is a prefix of some stop string."""
    for size in range(min(longest - 1, len(text)), 0, -1):
        tail = text[-size:]
        if any(s.startswith(tail) for s in stops):
            return size
    return 0
