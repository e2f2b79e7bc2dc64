"""The files of a collection folder (see DESIGN: SQLite is the truth, FAISS a cache)."""

DB_FILE = "docchat.sqlite"
VECTORS_FILE = "vectors.faiss"
LOCK_FILE = "write.lock"
