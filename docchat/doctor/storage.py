"""Doctor checks of the user's set-up: the config file, the data dir and each collection."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docchat.doctor.check import Check, guarded
from docchat.errors import ConfigError

if TYPE_CHECKING:
    from docchat.config import Settings
    from docchat.service import Docchat

MB = 1024**2
FREE_FAIL_MB = 100  # below this, indexing fails part-way
FREE_WARN_MB = 1024


def config_check(
    config_file: str | None, overrides: dict[str, Any] | None
) -> tuple[Settings, Check]:
    """The settings to go on with, and the row for the config file (and the environment)."""
    from docchat.config import Settings, config_path, load_settings

    path = config_path(config_file)
    data: dict[str, Any] = {"path": str(path), "exists": path.is_file()}
    try:
        settings = load_settings(config_file, overrides)
    except ConfigError as e:
        data["error"] = str(e)
        # Go on without the config file (or with plain defaults, if the environment is what
        # is wrong) so the other rows still help.
        try:
            fallback = load_settings(os.devnull, overrides)
        except ConfigError:
            data_dir = (overrides or {}).get("data_dir") or os.environ.get("DOCCHAT_DATA_DIR")
            fallback = Settings(data_dir=data_dir or "")
        check = Check(
            "config",
            "Config",
            "fail",
            str(e),
            f"fix that value in {path} (or the environment variable); every key is "
            "documented in config.example.toml",
            data,
        )
        return fallback, check
    where = str(path) if data["exists"] else f"{path} (not present: defaults)"
    return settings, Check("config", "Config", "pass", where, data=data)


def checks(settings: Settings) -> Iterator[Check]:
    yield guarded("data_dir", "Data dir", lambda: data_dir_check(settings))


def data_dir_check(settings: Settings) -> Check:
    from docchat.locations import data_dir

    folder = data_dir(settings.data_dir)
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("/"))
    free = shutil.disk_usage(existing).free
    data = {"path": str(folder), "exists": folder.is_dir(), "free_bytes": free}
    summary = f"{folder}, {free / 1024**3:.1f} GB free"
    if not os.access(existing, os.W_OK):
        return Check(
            "data_dir",
            "Data dir",
            "fail",
            f"{summary}, but {existing} is not writable",
            "set data_dir (or DOCCHAT_DATA_DIR, --data-dir) to a folder you can write",
            data,
        )
    if free < FREE_FAIL_MB * MB:
        return Check(
            "data_dir",
            "Data dir",
            "fail",
            summary,
            "free some disk space, or move data_dir to a larger disk",
            data,
        )
    if free < FREE_WARN_MB * MB:
        return Check(
            "data_dir", "Data dir", "warn", summary, "less than 1 GB free: indexing may fail", data
        )
    return Check("data_dir", "Data dir", "pass", summary, data=data)


def collection_checks(service: Docchat) -> Iterator[Check]:
    try:
        names = service.collection_names()
    except OSError as e:
        yield Check("collection:*", "Collections", "fail", f"cannot list collections: {e}")
        return
    for name in names:
        yield guarded(f"collection:{name}", f"Collection {name}", _collection(service, name))


def _collection(service: Docchat, name: str) -> Callable[[], Check]:
    return lambda: _one(service, name)


def _one(service: Docchat, name: str) -> Check:
    report = service.check(name)
    data = {
        "name": name,
        "ok": report.ok,
        "chunks": report.chunks,
        "vectors": report.vectors,
        "problems": report.problems,
    }
    summary = f"{report.chunks} chunks, {report.vectors} vectors"
    if not report.ok:
        return Check(
            f"collection:{name}",
            f"Collection {name}",
            "fail",
            f"{summary}: {'; '.join(report.problems)}",
            f"docchat collections rebuild {name}",
            data,
        )
    return Check(f"collection:{name}", f"Collection {name}", "pass", summary, data=data)
