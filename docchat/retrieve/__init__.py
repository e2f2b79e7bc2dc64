"""Retrieval: dense (FAISS), keyword (SQLite FTS5 / BM25), and their fusion
(`docchat.retrieve.search.search`). Nothing is imported here, so that a light module such
as `terms` costs nobody the store and numpy."""
