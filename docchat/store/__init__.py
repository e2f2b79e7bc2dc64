"""Storage: SQLite (truth) + FAISS (rebuildable vector cache), one folder per collection."""
