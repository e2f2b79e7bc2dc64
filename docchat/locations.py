"""Where things live on disk: config file, data dir, one folder per collection, logs."""

from __future__ import annotations

import re
from pathlib import Path

from docchat.errors import CollectionError

APP = "docchat"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def user_config_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP, appauthor=False))


def user_log_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_log_dir(APP, appauthor=False))


def user_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP, appauthor=False))


def model_cache_dir() -> Path:
    """Where models built locally from the bundled ones are kept (the ONNX export, the
    OpenVINO model): DOCCHAT_MODEL_CACHE, else the user cache dir. They are keyed by model,
    CPU and library versions, so one folder may serve several data dirs (the test suite
    shares one across its tests instead of rebuilding per test)."""
    import os

    configured = os.environ.get("DOCCHAT_MODEL_CACHE", "")
    return Path(configured).expanduser() if configured else user_cache_dir()


def data_dir(configured: str = "") -> Path:
    """The configured data dir (DOCCHAT_DATA_DIR / --data-dir land here too) or the default."""
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP, appauthor=False))


# Device names Windows reserves, whatever the case or extension ("nul.txt" too): a data dir
# may be synced to a Windows machine, where a folder so named cannot exist.
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"{dev}{n}" for dev in ("com", "lpt") for n in (*"123456789", "¹", "²", "³")}
)


def validate_collection_name(name: str) -> str:
    """Letters, digits, '-', '_', '.'; starts with a letter or digit; no '..'; <= 64 chars;
    not a name Windows reserves (con, nul.txt, COM1 ...) nor ending in '.'."""
    if not _NAME.match(name) or ".." in name:
        raise CollectionError(
            f"invalid collection name {name!r}: use letters, digits, '-', '_' and '.', "
            "starting with a letter or digit (at most 64 characters)"
        )
    if name.split(".", 1)[0].lower() in _WINDOWS_RESERVED or name.endswith("."):
        raise CollectionError(
            f"invalid collection name {name!r}: Windows reserves it for a device "
            "(con, prn, aux, nul, com1-9, lpt1-9, with any extension) or forbids it"
        )
    return name


def collections_root(configured_data_dir: str = "") -> Path:
    return data_dir(configured_data_dir) / "collections"


def collection_dir(name: str, configured_data_dir: str = "") -> Path:
    return collections_root(configured_data_dir) / validate_collection_name(name)
