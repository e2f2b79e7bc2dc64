"""Answers: generator backends (llama.cpp, transformers, OpenAI-compatible HTTP), prompt
assembly with numbered sources and a token budget, citations, and the ask pipeline.

Nothing is imported here (import the module you need: `docchat.generate.registry`...), so
that a light module such as `citations` costs nobody the config and the registry; backends
load llama_cpp / torch / transformers on first use.
"""
