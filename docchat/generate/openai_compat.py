"""OpenAI-compatible HTTP backend (Ollama, vLLM, llama-server, ...): the only one that uses
the network, so it is off unless generate.backend = "openai" and generate.api_base are set.

Plain urllib with server-sent events, so it needs no extra package. Token counts are estimated
(no local tokenizer), so keep n_ctx a little below the server's real window.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from typing import Any

from docchat.errors import ConfigError, ModelError
from docchat.generate.base import ChatMessage, GenerationOptions, Generator


class OpenAICompatGenerator(Generator):
    def __init__(
        self, model: str, *, api_base: str, api_key_env: str = "", n_ctx: int = 4096
    ) -> None:
        if not api_base:
            raise ConfigError(
                "config error: generate.api_base is empty: set it to the server's URL, "
                "e.g. http://localhost:11434/v1 for Ollama"
            )
        self.url = api_base.rstrip("/") + "/chat/completions"
        self.api_key = os.environ.get(api_key_env, "") if api_key_env else ""
        self.name = model or "default"
        self.n_ctx = n_ctx
        self.timeout = 600.0

    def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        cancel: threading.Event | None = None,
    ) -> Iterator[str]:
        body: dict[str, Any] = {
            "model": self.name,
            "messages": list(messages),
            "stream": True,
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "top_p": options.top_p,
            # Not in OpenAI's API, but llama-server and vLLM honour it; others ignore it.
            "repeat_penalty": options.repeat_penalty,
        }
        if options.stop:
            body["stop"] = list(options.stop)
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        try:
            response = urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")[:200]
            raise ModelError(f"{self.url} answered {e.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise ModelError(
                f"cannot reach {self.url}: {reason} (is the server running?)"
            ) from None
        # Closing the response drops the connection; servers then stop generating.
        with response:
            for text in _sse_pieces(response):
                if cancel is not None and cancel.is_set():
                    break
                yield text


def _sse_pieces(lines: Any) -> Iterator[str]:
    """Content deltas from an SSE stream of chat.completion.chunk objects."""
    for raw in lines:
        line = raw.decode("utf-8", "replace").strip()
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            chunk = json.loads(data)
        except json.JSONDecodeError:
            continue
        if "error" in chunk:
            raise ModelError(f"server error: {chunk['error']}")
        for choice in chunk.get("choices") or []:
            text = (choice.get("delta") or {}).get("content")
            if text:
                yield text
