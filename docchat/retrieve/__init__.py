"""Retrieval: dense (FAISS), keyword (SQLite FTS5 / BM25), and their fusion."""

from docchat.retrieve.search import search

__all__ = ["search"]
