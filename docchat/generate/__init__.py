"""Answers: generator backends (llama.cpp, transformers, OpenAI-compatible HTTP), prompt
assembly with numbered sources and a token budget, citations, and the ask pipeline.

Nothing heavy is imported here: backends load llama_cpp / torch / transformers on first use.
"""

from docchat.generate.base import ChatMessage, GenerationOptions, Generator
from docchat.generate.registry import get_generator, register_generator

__all__ = [
    "ChatMessage",
    "GenerationOptions",
    "Generator",
    "get_generator",
    "register_generator",
]
