"""`docchat models pull REPO[:FILE]`: fetch a GGUF from the Hugging Face hub into its cache.

huggingface_hub does the talking (URLs, token headers, HF_ENDPOINT, the metadata HEAD, the
streaming GET with a progress bar and in-call retries that resume with a Range request). The
file is written where `hf_hub_download` would put it — blobs/<etag>, a snapshot symlink and a
ref — so the HF tools and `docchat models` both see it. The partial download is kept as
blobs/<etag>.incomplete across runs (huggingface_hub 2 deletes its own on failure): after
Ctrl-C or a dropped connection, the same command resumes where it stopped. The result is
checked against the hub's size and, for LFS files, SHA-256 before it is moved into place.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from docchat.errors import DocchatError, ModelError
from docchat.generate.discovery import hf_hub_cache

DEFAULT_ENDPOINT = "https://huggingface.co"
_REPO = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SPLIT = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)
TIMEOUT_S = 10.0  # a hub that does not answer a HEAD in this long is not reachable


@dataclass(frozen=True)
class Pulled:
    repo_id: str
    files: tuple[str, ...]  # in the repo; a split model's parts in order
    path: Path  # the snapshot path of the first file: what llama.cpp loads
    downloaded_bytes: int  # 0 when everything was already in the cache

    @property
    def name(self) -> str:
        """The name `docchat models` lists it under and --model accepts."""
        return f"{self.repo_id}:{self.files[0]}"


def endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def parse_spec(spec: str) -> tuple[str, str | None]:
    """ "owner/repo[:file.gguf|:QUANT]" -> (repo id, file or quantization or None)."""
    repo, _, selector = spec.strip().partition(":")
    if not _REPO.match(repo) or ".." in repo or "--" in repo:
        raise DocchatError(
            f"'{spec}' is not a Hugging Face model: give owner/repo, owner/repo:FILE.gguf "
            "or owner/repo:Q4_K_M"
        )
    return repo, (selector.strip() or None)


def _offline() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().lower() in {"1", "true", "yes", "on"}


def pull(
    spec: str,
    *,
    revision: str = "main",
    cache_dir: Path | None = None,
    on_status: Callable[[str], None] | None = None,
) -> Pulled:
    """Download the GGUF that `spec` names (all parts of a split one) unless cached."""
    repo_id, selector = parse_spec(spec)
    if _offline():
        raise DocchatError(
            f"cannot download {spec}: offline (HF_HUB_OFFLINE is set); "
            "`docchat models` lists the models already on this machine"
        )
    say = on_status or (lambda _: None)
    cache = cache_dir or hf_hub_cache()
    files = _choose_files(repo_id, selector, revision)
    total = 0
    first: Path | None = None
    for file in files:
        path, n = _download(repo_id, file, revision, cache, say)
        total += n
        first = first or path
    assert first is not None
    return Pulled(repo_id, tuple(files), first, total)


# ---------------------------------------------------------------- which file


def _choose_files(repo_id: str, selector: str | None, revision: str) -> list[str]:
    if selector and selector.lower().endswith(".gguf"):
        chosen = selector
        listing = None
    else:
        listing = _list_ggufs(repo_id, revision)
        chosen = _pick(repo_id, selector, listing)
    split = _SPLIT.search(chosen)
    if split is None:
        return [chosen]
    count, prefix = int(split.group(2)), chosen[: split.start()]
    return [f"{prefix}-{i:05d}-of-{split.group(2)}.gguf" for i in range(1, count + 1)]


def _pick(repo_id: str, selector: str | None, files: list[str]) -> str:
    from docchat.generate.discovery import is_model_file, quant_tag

    models = [f for f in files if is_model_file(Path(f).name)]
    if not models:
        raise ModelError(f"{repo_id} has no GGUF model file")
    if selector:
        models = [f for f in models if (quant_tag(Path(f).name) or "") == selector.upper()]
        if not models:
            tags = sorted({quant_tag(Path(f).name) or Path(f).name for f in files})
            raise ModelError(f"{repo_id} has no {selector} GGUF; it has: {', '.join(tags)}")
    if len(models) > 1:
        shown = ", ".join(Path(f).name for f in models[:8])
        more = f" and {len(models) - 8} more" if len(models) > 8 else ""
        raise ModelError(
            f"{repo_id} has {len(models)} GGUF files ({shown}{more}); pick one: "
            f"docchat models pull {repo_id}:FILE.gguf (or :Q4_K_M)"
        )
    return models[0]


def _list_ggufs(repo_id: str, revision: str) -> list[str]:
    """The repo's .gguf paths, from the hub's tree listing (one request per page)."""
    url: str | None = (
        f"{endpoint()}/api/models/{repo_id}/tree/{quote(revision, safe='')}?recursive=true"
    )
    out: list[str] = []
    while url:
        response = _request("GET", url, repo_id)
        out += [
            e["path"]
            for e in response.json()
            if e.get("type") == "file" and str(e.get("path", "")).lower().endswith(".gguf")
        ]
        url = response.links.get("next", {}).get("url")
    return out


def _request(method: str, url: str, what: str) -> Any:
    """One request, no retries, so an unreachable hub fails at once with one line."""
    import httpx2
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    try:
        response = get_session().request(
            method, url, headers=build_hf_headers(), timeout=TIMEOUT_S, follow_redirects=True
        )
        hf_raise_for_status(response)
    except httpx2.TransportError as e:
        raise _unreachable(e) from None
    except Exception as e:
        raise _hub_error(e, what) from None
    return response


def _unreachable(e: BaseException) -> DocchatError:
    return DocchatError(
        f"cannot reach {endpoint()} ({_first_line(e) or type(e).__name__}): no network? "
        "`docchat models` lists the models already on this machine"
    )


def _hub_error(e: Exception, what: str) -> DocchatError:
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(e, OfflineModeIsEnabled):
        return DocchatError(f"cannot download {what}: offline (HF_HUB_OFFLINE is set)")
    if isinstance(e, GatedRepoError):
        return ModelError(
            f"{what} is gated: accept its terms on the hub, then `hf auth login` (or set HF_TOKEN)"
        )
    if isinstance(e, RepositoryNotFoundError):
        return ModelError(f"no model repository {what} on {endpoint()} (or it is private)")
    if isinstance(e, RevisionNotFoundError):
        return ModelError(f"{what}: no such revision on {endpoint()}")
    if isinstance(e, RemoteEntryNotFoundError):
        return ModelError(f"no file {what} on {endpoint()}")
    if isinstance(e, HfHubHTTPError):
        return ModelError(f"{endpoint()} refused {what}: {_first_line(e)}")
    if isinstance(e, DocchatError):
        return e
    raise e


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else ""


# ---------------------------------------------------------------- one file


def _download(
    repo_id: str, file: str, revision: str, cache: Path, say: Callable[[str], None]
) -> tuple[Path, int]:
    """(snapshot path, bytes fetched now) for one file of the repo."""
    import httpx2
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.file_download import http_get, repo_folder_name
    from huggingface_hub.utils import build_hf_headers

    url = hf_hub_url(repo_id, file, revision=revision, endpoint=endpoint())
    try:
        meta = get_hf_file_metadata(url, timeout=TIMEOUT_S, endpoint=endpoint())
    except httpx2.TransportError as e:
        raise _unreachable(e) from None
    except Exception as e:
        raise _hub_error(e, f"{repo_id}:{file}") from None
    if not meta.etag or not meta.commit_hash or meta.size is None:
        raise ModelError(f"{endpoint()} gave no size, etag or commit for {repo_id}:{file}")
    storage = cache / repo_folder_name(repo_id=repo_id, repo_type="model")
    blob = storage / "blobs" / meta.etag
    pointer = storage / "snapshots" / meta.commit_hash / file
    _write_ref(storage, revision, meta.commit_hash)
    if pointer.exists() and pointer.stat().st_size == meta.size:
        return pointer, 0
    fetched = 0
    if not (blob.is_file() and blob.stat().st_size == meta.size):
        blob.parent.mkdir(parents=True, exist_ok=True)
        partial = blob.with_name(blob.name + ".incomplete")
        have = partial.stat().st_size if partial.exists() else 0
        if have > meta.size:  # not ours, or from another version of the file
            partial.unlink()
            have = 0
        if have:
            say(f"resuming {file} at {have / 1e6:.0f} of {meta.size / 1e6:.0f} MB")
        with partial.open("ab") as f:
            try:
                http_get(
                    meta.location,
                    f,
                    resume_size=have,
                    headers=build_hf_headers(),
                    expected_size=meta.size,
                    displayed_filename=Path(file).name,
                )
            except httpx2.TransportError as e:
                raise DocchatError(
                    f"download of {repo_id}:{file} broke off ({_first_line(e)}); "
                    "run the same command again to resume it"
                ) from None
            except OSError as e:  # huggingface_hub's size check, disk full...
                raise DocchatError(
                    f"download of {repo_id}:{file} failed: {_first_line(e)}"
                ) from None
        fetched = meta.size - have
        _verify(partial, meta.size, meta.etag, f"{repo_id}:{file}", say)
        os.replace(partial, blob)
    _link(blob, pointer)
    return pointer, fetched


def _verify(path: Path, size: int, etag: str, what: str, say: Callable[[str], None]) -> None:
    """Size always; SHA-256 when the etag is one (LFS files: every GGUF on the hub)."""
    actual = path.stat().st_size
    if actual != size:
        path.unlink()
        raise DocchatError(
            f"download of {what} has {actual} bytes, the hub says {size}; "
            "it was deleted, run the same command again"
        )
    if not _SHA256.match(etag):
        return
    say(f"checking the SHA-256 of {path.name.split('.')[0][:12]}…")
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 * 1024 * 1024):
            digest.update(block)
    if digest.hexdigest() != etag:
        path.unlink()
        raise DocchatError(
            f"download of {what} is corrupt (its SHA-256 does not match the hub's); "
            "it was deleted, run the same command again"
        )


def _write_ref(storage: Path, revision: str, commit: str) -> None:
    if revision == commit:
        return
    ref = storage / "refs" / revision
    ref.parent.mkdir(parents=True, exist_ok=True)
    if not ref.exists() or ref.read_text(encoding="utf-8").strip() != commit:
        ref.write_text(commit, encoding="utf-8")


def _link(blob: Path, pointer: Path) -> None:
    """Snapshot entry -> blob, relative, as huggingface_hub makes it (a move where symlinks
    are not allowed, e.g. Windows without developer mode)."""
    pointer.parent.mkdir(parents=True, exist_ok=True)
    if pointer.is_symlink() or pointer.exists():
        pointer.unlink()
    try:
        pointer.symlink_to(os.path.relpath(blob, pointer.parent))
    except OSError:
        os.replace(blob, pointer)
