"""Chat models already on this machine: GGUF files docchat can run without downloading.

Where it looks, in order: the bundled model, the folders in `generate.model_dirs`, the
Hugging Face hub cache, Ollama's model store and LM Studio's models folder. Each model gets
a name the way its store spells it, and `--model NAME` accepts those names:

    bundled       SmolLM2-135M-Instruct.Q4_1
    folder        relative/path/in/the/folder.gguf
    huggingface   bartowski/Llama-3.2-3B-Instruct-GGUF:Llama-3.2-3B-Instruct-Q4_K_M.gguf
    ollama        llama3.2:3b   (hf.co/org/repo:Q4_K_M, user/model:tag)
    lm-studio     lmstudio-community/Qwen2.5-7B-Instruct-GGUF/Qwen2.5-7B-Instruct-Q4_K_M.gguf

Finding candidates only walks folders; `local_models()` also reads each GGUF header (see
gguf_header.py) for size, quantization, context length and chat template.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from docchat.errors import ModelError
from docchat.generate.fit import Memory, machine_memory, too_big
from docchat.generate.gguf_header import read_header
from docchat.types import LocalModel

SOURCES = ("bundled", "folder", "huggingface", "ollama", "lm-studio")
_SPLIT = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)
_QUANT = re.compile(r"(?:^|[-_.])(I?Q\d(?:_[A-Z0-9]+)*|BF16|F16|F32)(?=[-_.]|$)", re.IGNORECASE)
# Architectures that embed or encode but do not chat.
_NOT_CHAT = frozenset(
    {"bert", "nomic-bert", "jina-bert-v2", "t5encoder", "clip", "wavtokenizer-dec"}
)
_OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
_MAX_DEPTH = 6  # folder levels walked below a models folder (no symlinked folders)

# Folders from generate.model_dirs, set by the facade, so that resolving `--model NAME` deep in
# a backend (which only sees the name) knows them too.
_configured_dirs: tuple[str, ...] = ()


def use_model_dirs(dirs: Sequence[str]) -> None:
    global _configured_dirs
    _configured_dirs = tuple(dirs)


@dataclass(frozen=True)
class Candidate:
    """A GGUF file found in a store, before its header is read."""

    name: str
    source: str
    path: Path  # for a split model, its first part
    size_bytes: int  # all parts together
    aliases: tuple[str, ...] = ()  # shorter names it also answers to, when unambiguous


# ---------------------------------------------------------------- where the stores are


def hf_hub_cache(environ: dict[str, str] | None = None) -> Path:
    """The hub cache as huggingface_hub computes it, read from the environment now (the
    library reads it once at import): HF_HUB_CACHE, else HF_HOME/hub, else
    $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub."""
    env = os.environ if environ is None else environ
    explicit = env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return Path(os.path.expandvars(explicit)).expanduser()
    home = env.get("HF_HOME") or os.path.join(
        env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "huggingface",
    )
    return Path(os.path.expandvars(home)).expanduser() / "hub"


def ollama_dirs(environ: dict[str, str] | None = None) -> list[Path]:
    env = os.environ if environ is None else environ
    if env.get("OLLAMA_MODELS"):
        return [Path(env["OLLAMA_MODELS"]).expanduser()]
    # The Linux installer runs Ollama as its own user, with its store under /usr/share.
    return [Path("~/.ollama/models").expanduser(), Path("/usr/share/ollama/.ollama/models")]


def lm_studio_dirs() -> list[Path]:
    return [Path("~/.lmstudio/models").expanduser(), Path("~/.cache/lm-studio/models").expanduser()]


def searched_places(model_dirs: Sequence[str] = ()) -> list[tuple[str, Path]]:
    """(source, folder) for every place looked in, for messages that say where."""
    places = [("folder", Path(d).expanduser()) for d in model_dirs]
    places.append(("huggingface", hf_hub_cache()))
    places += [("ollama", p) for p in ollama_dirs()]
    places += [("lm-studio", p) for p in lm_studio_dirs()]
    return places


# ---------------------------------------------------------------- walking the stores


def find_candidates(
    model_dirs: Sequence[str] | None = None, *, one_per_file: bool = True
) -> list[Candidate]:
    """Every GGUF chat-model candidate, cheaply (no file is opened). `one_per_file`: a file
    reached from two stores is listed once, under the first store's name."""
    dirs = _configured_dirs if model_dirs is None else tuple(model_dirs)
    found: list[Candidate] = []
    found += _bundled()
    for d in dirs:
        found += _in_folder(Path(d).expanduser(), "folder")
    found += _in_hf_cache(hf_hub_cache())
    for root in ollama_dirs():
        found += _in_ollama(root)
    for root in lm_studio_dirs():
        found += _in_folder(root, "lm-studio")
    if not one_per_file:
        return found
    # One file reached from two places (a model folder inside the HF cache, say) is listed
    # once; within one store every name stays (Ollama's llama3.2:latest and llama3.2:3b).
    first_source: dict[Path, str] = {}
    unique = []
    for c in found:
        source = first_source.setdefault(c.path.resolve(), c.source)
        if source == c.source:
            unique.append(c)
    return unique


def _bundled() -> list[Candidate]:
    from docchat.generate.bundled import DEFAULT_NAME, default_model_path

    try:
        path = default_model_path()
    except ModelError:
        return []
    return [Candidate(DEFAULT_NAME, "bundled", path, file_size(path), aliases=("bundled",))]


def _ggufs_under(root: Path) -> Iterator[Path]:
    """GGUF files below root (files may be symlinks, as in the HF cache; folders may not)."""
    if not root.is_dir():
        return
    base = len(root.parts)
    for folder, subdirs, files in os.walk(root, onerror=lambda e: None):
        if len(Path(folder).parts) - base >= _MAX_DEPTH:
            subdirs[:] = []
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(files):
            if name.lower().endswith(".gguf") and is_model_file(name):
                path = Path(folder) / name
                if path.exists():  # a dangling symlink is a deleted or unfinished download
                    yield path


def is_model_file(name: str) -> bool:
    """Not a vision projector, and the first part of a split model (or not split)."""
    if "mmproj" in name.lower():
        return False
    split = _SPLIT.search(name)
    return split is None or int(split.group(1)) == 1


def file_size(path: Path) -> int:
    """The file's size; a split model's parts together."""
    split = _SPLIT.search(path.name)
    if split is None:
        return path.stat().st_size
    total, prefix = 0, path.name[: split.start()]
    for i in range(1, int(split.group(2)) + 1):
        part = path.with_name(f"{prefix}-{i:05d}-of-{split.group(2)}.gguf")
        if part.exists():
            total += part.stat().st_size
    return total


def quant_tag(file_name: str) -> str | None:
    tags = _QUANT.findall(_SPLIT.sub("", file_name).removesuffix(".gguf"))
    return tags[-1].upper() if tags else None


def _file_aliases(path: Path) -> tuple[str, ...]:
    stem = _SPLIT.sub(".gguf", path.name).removesuffix(".gguf")
    return (path.name, stem)


def _in_folder(root: Path, source: str) -> list[Candidate]:
    return [
        Candidate(p.relative_to(root).as_posix(), source, p, file_size(p), _file_aliases(p))
        for p in _ggufs_under(root)
    ]


def _in_hf_cache(cache: Path) -> list[Candidate]:
    out: list[Candidate] = []
    if not cache.is_dir():
        return out
    for repo_dir in sorted(cache.glob("models--*")):
        repo_id = "/".join(repo_dir.name.split("--")[1:])
        snapshots = repo_dir / "snapshots"
        main = repo_dir / "refs" / "main"
        order = []
        if main.is_file():  # the files of the current revision first
            order.append(snapshots / main.read_text(encoding="utf-8").strip())
        order += [s for s in sorted(snapshots.glob("*")) if s not in order]
        seen: set[str] = set()
        for snapshot in order:
            for path in _ggufs_under(snapshot):
                file = path.relative_to(snapshot).as_posix()
                if file in seen:
                    continue
                seen.add(file)
                aliases = [repo_id, *_file_aliases(path)]
                quant = quant_tag(path.name)
                if quant:
                    aliases.append(f"{repo_id}:{quant}")
                out.append(
                    Candidate(
                        f"{repo_id}:{file}", "huggingface", path, file_size(path), tuple(aliases)
                    )
                )
    return out


def _in_ollama(root: Path) -> list[Candidate]:
    """Manifests at manifests/<host>/<namespace>/<model>/<tag> point at blobs/sha256-…"""
    out: list[Candidate] = []
    manifests = root / "manifests"
    if not manifests.is_dir():
        return out
    for folder, _, files in sorted(os.walk(manifests)):
        for tag in sorted(files):
            manifest = Path(folder) / tag
            parts = manifest.relative_to(manifests).parts
            if len(parts) != 4:
                continue
            try:
                layers = json.loads(manifest.read_text(encoding="utf-8")).get("layers", [])
                digest = next(
                    x["digest"] for x in layers if x.get("mediaType") == _OLLAMA_MODEL_LAYER
                )
            except (OSError, ValueError, StopIteration, KeyError, TypeError, AttributeError):
                continue  # not a model manifest (or a damaged one): nothing to run
            blob = root / "blobs" / str(digest).replace(":", "-")
            if not blob.is_file():
                continue
            host, namespace, model, _ = parts
            if host == "registry.ollama.ai":
                base = model if namespace == "library" else f"{namespace}/{model}"
            else:
                base = f"{host}/{namespace}/{model}"
            aliases = (base,) if tag == "latest" else ()
            out.append(Candidate(f"{base}:{tag}", "ollama", blob, blob.stat().st_size, aliases))
    return out


# ---------------------------------------------------------------- names -> files


def find_model(name: str, model_dirs: Sequence[str] | None = None) -> Path | None:
    """The file of the local model called `name`: an exact name first, else a shorter alias
    (file name, file stem, HF repo, repo:QUANT, an Ollama name without :latest) when only one
    model answers to it. None when none does; ModelError when several do."""
    candidates = find_candidates(model_dirs, one_per_file=False)  # every name counts
    exact = [c for c in candidates if c.name == name]
    if len(exact) == 1:
        return exact[0].path
    wanted = name.lower()
    matches = exact or [c for c in candidates if wanted in (a.lower() for a in c.aliases)]
    if not matches:
        return None
    if len({c.path.resolve() for c in matches}) > 1:
        names = ", ".join(c.name for c in matches[:6])
        raise ModelError(f"'{name}' matches several local models ({names}); give the full name")
    return matches[0].path


def describe(
    candidate: Candidate, *, n_ctx: int, n_gpu_layers: int, memory: Memory
) -> LocalModel | None:
    """The candidate with its header read; None when it is not a chat model."""
    base = LocalModel(candidate.name, candidate.source, str(candidate.path), candidate.size_bytes)
    try:
        h = read_header(candidate.path)
    except ModelError as e:
        return _replace(base, problem=str(e))
    if h.model_type in ("mmproj", "adapter") or h.architecture in _NOT_CHAT:
        return None
    reason = too_big(
        candidate.size_bytes,
        kv_bytes_per_token=h.kv_bytes_per_token,
        n_ctx=min(n_ctx, h.context_length or n_ctx),
        n_gpu_layers=n_gpu_layers,
        block_count=h.block_count,
        memory=memory,
    )
    return _replace(
        base,
        architecture=h.architecture,
        parameters=h.size_label,
        quantization=h.quantization or quant_tag(candidate.path.name),
        context_length=h.context_length,
        chat_template=h.chat_template,
        too_big=reason,
    )


def _replace(model: LocalModel, **changes: object) -> LocalModel:
    from dataclasses import replace

    return replace(model, **changes)  # type: ignore[arg-type]


def local_models(
    model_dirs: Sequence[str] | None = None,
    *,
    n_ctx: int = 4096,
    n_gpu_layers: int = 0,
    memory: Memory | None = None,
) -> list[LocalModel]:
    """Every chat model on this machine, described, in SOURCES order."""
    memory = memory or machine_memory()
    out = []
    for c in find_candidates(model_dirs):
        model = describe(c, n_ctx=n_ctx, n_gpu_layers=n_gpu_layers, memory=memory)
        if model is not None:
            out.append(model)
    return out
