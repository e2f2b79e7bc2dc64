"""The collections of a data dir as a whole: which exist, removing and renaming one."""

from __future__ import annotations

from pathlib import Path

from docchat.config import StoreSettings
from docchat.errors import CollectionError, VectorStoreError
from docchat.locations import collection_dir, collections_root, validate_collection_name
from docchat.store.layout import DB_FILE, LOCK_FILE
from docchat.store.lock import WriterLock


def list_collections(data_dir: str = "") -> list[str]:
    root = collections_root(data_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / DB_FILE).is_file())


def remove_collection(
    name: str, data_dir: str = "", store: StoreSettings | None = None
) -> list[str]:
    """Delete a collection's folder (and its vectors on a Milvus server), refusing while a
    writer holds it; returns a line for any vectors that could not be deleted."""
    import shutil

    folder = _existing(name, data_dir)
    with WriterLock(folder / LOCK_FILE, name):
        notes = _drop_vectors(name, data_dir, store)
        shutil.rmtree(folder)
    return notes


def _drop_vectors(name: str, data_dir: str, store: StoreSettings | None) -> list[str]:
    """Drop the Milvus collections (the current one, an unfinished migration's) that live
    outside the folder; a Milvus Lite file inside it goes with the folder."""
    from docchat.store.collection import Collection
    from docchat.store.vector_backends import open_store

    coll = Collection.open(name, data_dir, store=store)
    notes: list[str] = []
    try:
        dim = coll.dimension
        configs = [coll.vector_config(), coll.pending_vector_config()]
        for config in configs:
            if dim is None or config is None or config.backend == "faiss" or not config.uri:
                continue
            try:
                vectors = open_store(config, coll.open_request(dim))
                try:
                    vectors.drop()
                finally:
                    vectors.close()
            except VectorStoreError as e:  # unreachable: say what is left where
                notes.append(f"its vectors ({config.collection} at {config.uri}) remain: {e}")
            except CollectionError:
                pass  # already gone
    finally:
        coll.close()
    return notes


def rename_collection(old: str, new: str, data_dir: str = "") -> None:
    """Rename a collection's folder, under its writer lock, if `new` is free."""
    target = collection_dir(new, data_dir)
    folder = _existing(old, data_dir)
    if target.exists():
        raise CollectionError(f"a collection named '{new}' already exists")
    with WriterLock(folder / LOCK_FILE, old):
        folder.rename(target)


def _existing(name: str, data_dir: str) -> Path:
    validate_collection_name(name)
    folder = collection_dir(name, data_dir)
    if not (folder / DB_FILE).is_file():
        raise CollectionError(f"no collection named '{name}'")
    return folder
