"""Small real GGUF files for tests, written with the `gguf` package (a header and one tiny
tensor: a few KB, but every field docchat reads is where a real model has it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_gguf(
    path: Path,
    *,
    arch: str = "llama",
    name: str = "Tiny",
    context_length: int | None = 8192,
    file_type: int | None = 15,  # LlamaFileType.MOSTLY_Q4_K_M
    chat_template: str | None = "{% for m in messages %}{{ m.content }}{% endfor %}",
    block_count: int = 4,
    embedding_length: int = 64,
    heads: int = 4,
    kv_heads: int = 2,
    model_type: str | None = None,
    size_label: str | None = "1B",
    vocab: int = 300,
    tensor_type: str = "f32",
) -> Path:
    import gguf

    path.parent.mkdir(parents=True, exist_ok=True)
    w = gguf.GGUFWriter(str(path), arch)
    w.add_name(name)
    if model_type:
        w.add_type(model_type)
    if size_label:
        w.add_size_label(size_label)
    if context_length is not None:
        w.add_context_length(context_length)
    w.add_block_count(block_count)
    w.add_embedding_length(embedding_length)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    if file_type is not None:
        w.add_file_type(file_type)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"t{i}" for i in range(vocab)])  # an array the reader must skip
    if chat_template is not None:
        w.add_chat_template(chat_template)
    data = np.zeros((4, 8), dtype=np.float16 if tensor_type == "f16" else np.float32)
    w.add_tensor("token_embd.weight", data)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path
