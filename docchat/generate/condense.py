"""Follow-up questions → standalone search queries.

"and in 2024?" retrieves nothing useful on its own; the model rewrites it with the
conversation in view ("What does the 2024 report say about churn?") before retrieval. Only
runs when there is history; the result is shown to the user and stored with the answer.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

from docchat.generate.base import ChatMessage, GenerationOptions, Generator
from docchat.generate.prompt import Turn, trim_to_tokens

CONDENSE_SYSTEM = (
    "Rewrite the user's follow-up question as a single standalone question that can be "
    "understood without the conversation, keeping all names, dates and terms it refers to. "
    "Reply with the rewritten question only."
)
MAX_TURNS = 3  # the last few exchanges carry the context a follow-up leans on
ANSWER_TOKENS = 120  # per earlier answer: its gist is enough to resolve "it", "that", ...
QUERY_TOKENS = 64
_PREFIX = re.compile(r"^\s*(?:standalone|rewritten)?\s*(?:question|query)\s*:\s*", re.IGNORECASE)


def condense_messages(
    generator: Generator, history: Sequence[Turn], question: str
) -> list[ChatMessage]:
    lines = []
    for turn in history[-MAX_TURNS:]:
        lines.append(f"User: {trim_to_tokens(turn.question, ANSWER_TOKENS, generator)}")
        lines.append(f"Assistant: {trim_to_tokens(turn.answer, ANSWER_TOKENS, generator)}")
    conversation = "\n".join(lines)
    return [
        {"role": "system", "content": CONDENSE_SYSTEM},
        {
            "role": "user",
            "content": f"Conversation:\n{conversation}\n\nFollow-up question: {question}\n\n"
            "Standalone question:",
        },
    ]


def clean_query(raw: str, question: str, history: Sequence[Turn]) -> str:
    """The model's first line without labels or quotes; a safe fallback when it rambles."""
    line = next((ln for ln in raw.strip().splitlines() if ln.strip()), "")
    line = _PREFIX.sub("", line).strip().strip("\"'“”").strip()
    if not line or len(line) > 4 * max(len(question), 80):
        # Nothing usable: the previous question plus this one still retrieves the topic.
        previous = history[-1].question if history else ""
        return f"{previous} {question}".strip()
    return line


def condense(
    generator: Generator,
    history: Sequence[Turn],
    question: str,
    cancel: threading.Event | None = None,
) -> str:
    """The standalone query for `question` (itself when there is no history)."""
    if not history:
        return question
    messages = condense_messages(generator, history, question)
    options = GenerationOptions(max_tokens=QUERY_TOKENS, temperature=0.0, stop=("\n\n",))
    raw = generator.generate(messages, options, cancel)
    return clean_query(raw, question, history)
