"""What a failed write of a collection says to the user."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from docchat.errors import StoreWriteError

_UNKNOWN = "check the disk (free space, permissions, errors)"


def write_error(name: str, folder: Path, error: BaseException) -> StoreWriteError:
    """The one line for a write that failed: what could not be written, why in plain words
    ("disk full" whether SQLite, FAISS or the OS said it), and what to do."""
    cause, fix = _cause(error)
    if fix == _UNKNOWN and _nearly_full(folder):
        cause, fix = "disk full", "free some space"
    return StoreWriteError(
        f"cannot write collection '{name}' at {folder}: {cause}; {fix} and run the same "
        "command again"
    )


def _cause(error: BaseException) -> tuple[str, str]:
    code = getattr(error, "errno", None)
    text = str(error)
    if code == errno.ENOSPC or "disk is full" in text or os.strerror(errno.ENOSPC) in text:
        return "disk full", "free some space"
    if code == errno.EDQUOT:
        return "disk quota exceeded", "free some space"
    if code == errno.EFBIG:
        return "a file would pass the file size limit", "raise the limit (ulimit -f)"
    if code == errno.EROFS or "readonly database" in text:
        return "the folder is read-only", "make it writable"
    if code == errno.EACCES or code == errno.EPERM:
        return "permission denied", "fix the folder's permissions"
    detail = (getattr(error, "strerror", None) or text).strip()
    cause = detail.splitlines()[0] if detail else type(error).__name__
    return cause, _UNKNOWN


def _nearly_full(folder: Path) -> bool:
    """SQLite says only "disk I/O error" for some failed writes, FAISS only that a write
    failed: on a disk with almost no room left, that is the cause."""
    import shutil

    try:
        return shutil.disk_usage(folder).free < 16 * 1024 * 1024
    except OSError:
        return False
