"""The collections of a data dir as a whole: which exist, removing and renaming one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from docchat.errors import CollectionError
from docchat.locations import collection_dir, collections_root, validate_collection_name
from docchat.store.layout import DB_FILE, LOCK_FILE
from docchat.store.lock import WriterLock


def list_collections(data_dir: str = "") -> list[str]:
    root = collections_root(data_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / DB_FILE).is_file())


def remove_collection(
    name: str, data_dir: str = "", before: Callable[[], list[str]] | None = None
) -> list[str]:
    """Delete a collection's folder, refusing while a writer holds it; `before` runs under
    the lock first (the facade drops vectors kept outside the folder, on a Milvus server)
    and returns lines for the user, which this returns."""
    import shutil

    folder = _existing(name, data_dir)
    with WriterLock(folder / LOCK_FILE, name):
        notes = before() if before is not None else []
        shutil.rmtree(folder)
    return notes


def discard_collection(name: str, data_dir: str = "") -> None:
    """Delete what a collection that failed to be made left (its folder), quietly: no lock
    (nobody else can hold a collection that was never made) and nothing to write."""
    import shutil

    shutil.rmtree(collection_dir(name, data_dir), ignore_errors=True)


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
