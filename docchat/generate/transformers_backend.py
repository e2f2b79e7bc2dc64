"""Hugging Face transformers backend: model folders, hub names (cached) or GGUF files.

torch and transformers are imported here, lazily. Generation runs on a worker thread feeding a
TextIteratorStreamer; a StoppingCriteria polls a threading.Event between tokens so a stop
request (or the consumer closing the stream) ends `model.generate` itself.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import nullcontext, redirect_stderr
from pathlib import Path
from typing import Any

from docchat.errors import ModelError, missing
from docchat.generate.base import ChatMessage, GenerationOptions, Generator, cut_at_stop
from docchat.generate.models import display_name, resolve_model


def pick_device_dtype(device: str) -> tuple[str, Any]:
    """auto: CUDA with bf16 (fp16 on older cards), else Apple MPS in fp16, else CPU in fp32."""
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
    if device == "cuda":
        return device, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return device, torch.float16 if device == "mps" else torch.float32


class TransformersGenerator(Generator):
    def __init__(self, model: str = "", *, n_ctx: int = 4096, device: str = "auto") -> None:
        try:
            import transformers
        except ImportError:
            raise missing("transformers", "the transformers generator") from None
        path = resolve_model(model, want_file=False)
        kwargs: dict[str, Any] = {}
        source = path
        if path.endswith(".gguf"):
            try:
                import gguf  # noqa: F401 - transformers needs it to read GGUF
            except ImportError:
                raise missing("gguf", "loading a GGUF file with transformers") from None
            source, kwargs["gguf_file"] = str(Path(path).parent), Path(path).name
        if os.path.exists(path):
            # A local model must never reach for the hub (docchat is offline by default).
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        transformers.utils.logging.disable_progress_bar()
        self.device, dtype = pick_device_dtype(device)
        # GGUF conversion draws a tqdm bar on stderr that no setting turns off; in the TUI it
        # would scribble over the screen.
        quiet = redirect_stderr(io.StringIO()) if "gguf_file" in kwargs else nullcontext()
        try:
            with quiet:
                self.tokenizer: Any = transformers.AutoTokenizer.from_pretrained(source, **kwargs)
                loaded: Any = transformers.AutoModelForCausalLM.from_pretrained(
                    source, dtype=dtype, **kwargs
                )
            self.model: Any = loaded.to(self.device)
        except Exception as e:  # transformers raises OSError, ValueError, RuntimeError, ...
            raise _load_error(model or path, e) from None
        self.model.eval()
        self.path = path
        self.name = display_name(model or path)
        limit = getattr(self.model.config, "max_position_embeddings", None) or n_ctx
        self.n_ctx = min(n_ctx, int(limit))

    # ------------------------------------------------------------ tokens

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False)) if text else 0

    def _prompt_ids(self, messages: Sequence[ChatMessage]) -> list[int]:
        if getattr(self.tokenizer, "chat_template", None):
            out = self.tokenizer.apply_chat_template(
                list(messages), add_generation_prompt=True, tokenize=True
            )
            ids = out["input_ids"] if isinstance(out, Mapping) else out
            return [int(i) for i in ids]
        # No template shipped: a plain transcript the model can still continue.
        text = "".join(f"{m['role']}: {m['content']}\n\n" for m in messages) + "assistant: "
        return [int(i) for i in self.tokenizer.encode(text)]

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        return len(self._prompt_ids(messages))

    # ------------------------------------------------------------ generation

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
        import torch
        import transformers

        halt = threading.Event()  # set when the consumer stops reading, for any reason
        streamer = transformers.TextIteratorStreamer(
            self.tokenizer, skip_prompt=True, skip_special_tokens=True
        )
        ids = torch.tensor([self._prompt_ids(messages)], device=self.device)
        sampling = options.temperature > 0
        kwargs: dict[str, Any] = {
            "input_ids": ids,
            "attention_mask": torch.ones_like(ids),
            "max_new_tokens": options.max_tokens,
            "do_sample": sampling,
            "repetition_penalty": options.repeat_penalty,
            "streamer": streamer,
            "stopping_criteria": transformers.StoppingCriteriaList([_event_stop(halt, cancel)]),
            "pad_token_id": self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
        }
        if sampling:
            kwargs.update(temperature=options.temperature, top_p=options.top_p)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        failure: list[BaseException] = []

        def work() -> None:
            try:
                with torch.inference_mode():
                    self.model.generate(**kwargs)
            except BaseException as e:  # re-raised in the consumer's thread
                failure.append(e)
                streamer.end()  # generate() never got to end it: unblock the reader

        worker = threading.Thread(target=work, name="docchat-generate", daemon=True)
        worker.start()
        try:
            for piece in streamer:
                if cancel is not None and cancel.is_set():
                    break
                if piece:
                    yield piece
        finally:
            halt.set()
            worker.join()
        if failure:
            raise ModelError(f"generation failed: {failure[0]}") from failure[0]


def _event_stop(halt: threading.Event, cancel: threading.Event | None) -> Any:
    """A StoppingCriteria that ends generation once either event is set (checked per token)."""
    import torch
    import transformers

    class EventStop(transformers.StoppingCriteria):  # type: ignore[misc]
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            stop = halt.is_set() or (cancel is not None and cancel.is_set())
            size = (input_ids.shape[0],)
            return torch.full(size, stop, dtype=torch.bool, device=input_ids.device)

    return EventStop()


def _load_error(model: str, e: Exception) -> ModelError:
    text = str(e).splitlines()[0] if str(e) else repr(e)
    lowered = text.lower()
    if "out of memory" in lowered or isinstance(e, MemoryError):
        hint = "too little memory: use a smaller model, or device = cpu"
    elif "does not recognize this architecture" in lowered or "model type" in lowered:
        hint = "unknown architecture: pip install -U transformers, or use another model"
    elif isinstance(e, OSError):
        hint = "give a local model folder or GGUF file (docchat works offline)"
    else:
        hint = "check the model path and generate.backend"
    return ModelError(f"transformers cannot load '{model}': {text} ({hint})")
