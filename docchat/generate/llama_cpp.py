"""llama.cpp backend (llama-cpp-python): GGUF files, CPU or GPU offload, the model's own template.

`llama_cpp` is imported here, lazily, and nowhere else in the core.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

from docchat.errors import ModelError, missing
from docchat.generate.base import ChatMessage, GenerationOptions, Generator
from docchat.generate.models import display_name, resolve_model


class LlamaCppGenerator(Generator):
    def __init__(
        self, model: str = "", *, n_ctx: int = 4096, n_threads: int = 0, n_gpu_layers: int = -1
    ) -> None:
        try:
            import llama_cpp
        except ImportError:
            raise missing("llama-cpp-python", "the llama-cpp generator") from None
        path = resolve_model(model, want_file=True)
        offload = bool(llama_cpp.llama_supports_gpu_offload())
        threads = n_threads or default_threads()
        try:
            self.llm: Any = llama_cpp.Llama(
                model_path=path,
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                n_gpu_layers=n_gpu_layers if offload else 0,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as e:
            raise ModelError(
                f"llama.cpp cannot load {path} ({str(e).splitlines()[0] if str(e) else e!r}): "
                "check that it is a complete GGUF file; an architecture this llama-cpp-python "
                "does not know needs `pip install -U llama-cpp-python`; if memory is short, "
                "use a smaller quantization or lower generate.n_ctx"
            ) from None
        self.name = display_name(model or path)
        self.path = path
        self.n_ctx = int(self.llm.n_ctx())
        self.device = "gpu" if offload and n_gpu_layers != 0 else "cpu"
        # One Llama object holds one KV cache: calls from two threads must take turns.
        self._lock = threading.Lock()
        self._render = _template_renderer(llama_cpp, self.llm)

    def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        cancel: threading.Event | None = None,
    ) -> Iterator[str]:
        with self._lock:
            chunks = self.llm.create_chat_completion(
                messages=list(messages),
                stream=True,
                max_tokens=options.max_tokens,
                temperature=options.temperature,
                top_p=options.top_p,
                repeat_penalty=options.repeat_penalty,
                stop=list(options.stop) or None,
            )
            try:
                for chunk in chunks:
                    if cancel is not None and cancel.is_set():
                        break
                    text = chunk["choices"][0]["delta"].get("content")
                    if text:
                        yield text
            finally:
                # Closing the stream raises GeneratorExit inside llama-cpp's token loop, so
                # the model stops evaluating instead of running on to max_tokens.
                chunks.close()

    def count_tokens(self, text: str) -> int:
        if not text:
            return 0
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        if self._render is None:
            return super().count_prompt_tokens(messages)
        prompt, add_bos = self._render(list(messages))
        return len(self.llm.tokenize(prompt.encode("utf-8"), add_bos=add_bos, special=True))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.llm.close()


def _template_renderer(
    llama_cpp: Any, llm: Any
) -> Callable[[list[ChatMessage]], tuple[str, bool]] | None:
    """The same Jinja chat formatter llama-cpp builds from the GGUF's own template, so prompt
    budgets count the exact templated text (role markers, default system prompt and all)."""
    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        return None
    from llama_cpp import llama_chat_format

    def token_text(token_id: int) -> str:
        return str(llm._model.token_get_text(token_id)) if token_id != -1 else ""

    formatter = llama_chat_format.Jinja2ChatFormatter(
        template=template,
        eos_token=token_text(llm.token_eos()),
        bos_token=token_text(llm.token_bos()),
    )

    def render(messages: list[ChatMessage]) -> tuple[str, bool]:
        result = formatter(messages=cast(Any, messages))
        return result.prompt, not result.added_special

    return render


def default_threads() -> int:
    """What n_threads = 0 means.

    llama.cpp's threads spin while they wait for each other, so when any other work (the UI,
    the embedder, another program) wants a core they all slow down together — on 2 vCPUs,
    2 threads fell from ~85 to ~7 tokens/s under load while 1 thread kept ~45-60. Small
    machines therefore leave one CPU free; larger ones use half (one per physical core when
    CPUs are hyperthreads). Prompt processing uses as many: with every CPU it was as fragile.
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = cpus or 2
    return max(1, cpus - 1) if cpus <= 4 else cpus // 2
