"""Making a folder searchable: the seed tutorial's pipeline vs `docchat index` at each
embedding precision, each a fresh process (imports and model load included), alternating.

    python benchmarks/index_speed.py [CORPUS_DIR] [--limit 40] [--rounds 1]
        [--paths auto fp32 bf16 int8 ov-bf16 ov-int8]

Default corpus: Debian's python3.11-doc HTML (/usr/share/doc/python3.11/html;
`apt-get install python3.11-doc`), the first --limit pages by path. Prints a Markdown table:
seconds, files/s, chunks/s, ratio to the seed, peak RSS, and docchat's time per stage
(`docchat index --json` timings). Then a no-change re-index (`docchat index` again).

The seed pipeline, as in the tutorial: the same text extraction (docchat's parser, so only
the pipeline differs), fixed 1,000-character chunks, sentence-transformers all-MiniLM-L6-v2
in fp32 (`encode`, batch 32), a FAISS IndexFlatL2, saved with its texts.

Quality per path is `docchat eval` (not run here; minutes per path):
    DOCCHAT_EMBED_PRECISION=bf16 docchat eval /work/shared/data/scifact
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED = r"""
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
import faiss, numpy as np
from sentence_transformers import SentenceTransformer
from docchat.embed.models import resolve_embedding_model
from docchat.ingest.parsers import parse
corpus, out = Path(sys.argv[1]), Path(sys.argv[2])
model = SentenceTransformer(resolve_embedding_model("all-MiniLM-L6-v2"), device="cpu")
texts, files = [], 0
for path in sorted(corpus.rglob("*.html")):
    text = "\n".join(p.text for p in parse(path).pages)
    texts += [text[i : i + 1000] for i in range(0, len(text), 1000)]
    files += 1
vectors = model.encode(texts, batch_size=32, convert_to_numpy=True)
index = faiss.IndexFlatL2(vectors.shape[1])
index.add(np.asarray(vectors, dtype="float32"))
out.mkdir(parents=True, exist_ok=True)
faiss.write_index(index, str(out / "index.faiss"))
(out / "texts.json").write_text(json.dumps(texts))
print(json.dumps({"files": files, "chunks": len(texts), "seconds": time.perf_counter() - t0}))
"""


def machine() -> str:
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from docchat.embed.precision import BF16_FLAGS, cpu_flags

    flags = sorted(f for f in cpu_flags() if f in BF16_FLAGS | {"amx_int8", "avx512_vnni"})
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{name}, {os.cpu_count()} CPUs ({' '.join(flags) or 'no bf16/vnni'}), load {load:.1f}"


def timed(cmd: list[str], env: dict[str, str]) -> tuple[str, float, float]:
    """stdout, wall seconds and peak RSS (MiB) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) not in (0, 3):  # 3: some files failed
        sys.exit(f"{' '.join(cmd)} failed:\n{err[-2000:]}")
    return out, wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", default="/usr/share/doc/python3.11/html")
    parser.add_argument("--limit", type=int, default=40, help="Copy only the first N pages.")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--paths", nargs="+", default=["auto", "fp32"])
    args = parser.parse_args()
    source = Path(args.corpus)
    if not source.is_dir():
        sys.exit(f"corpus not found: {source} (apt-get install python3.11-doc)")
    work = Path(tempfile.mkdtemp(prefix="docchat-bench-"))
    corpus = work / "corpus"
    # Only the HTML pages: the doc folder also holds _sources/ (the same text as .txt).
    for f in sorted(p for p in source.rglob("*.html") if p.is_file())[: args.limit or None]:
        dest = corpus / f.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dest)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    # Their ONNX / OpenVINO models are built once per machine: not part of a run.
    from docchat.embed.precision import resolve_precision

    model = "all-MiniLM-L6-v2"
    built = {resolve_precision(p) for p in args.paths}  # "auto": what this machine gets
    # Exported/quantised models are built before the timed runs, in a process of their own:
    # a child's peak RSS (wait4's ru_maxrss) starts at its parent's RSS when forked, so a
    # parent that imported torch and NNCF for a build would inflate every row after it.
    build = [
        f"prepared_model(folder, int8=True, name={model!r})"
        if p == "int8"
        else f"prepared_ir(folder, {p == 'ov-int8'}, name={model!r})"
        for p in sorted(built & {"int8", "ov-bf16", "ov-int8"})
    ]
    if build:
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from pathlib import Path\n"
                "from docchat.embed.models import resolve_embedding_model\n"
                "from docchat.embed.onnx import prepared_model\n"
                "from docchat.embed.openvino import prepared_ir\n"
                f"folder = Path(resolve_embedding_model({model!r}))\n" + "\n".join(build),
            ],
            env=env,
            check=True,
        )
    docchat = [sys.executable, "-m", "docchat"]
    rows: dict[str, list[dict[str, float]]] = {}
    timings: dict[str, dict[str, float]] = {}
    for r in range(args.rounds):
        out, wall, rss = timed(
            [sys.executable, "-c", SEED, str(corpus), str(work / f"seed-{r}")], env
        )
        seed = json.loads(out.strip().splitlines()[-1])
        rows.setdefault("seed", []).append(
            {"s": wall, "files": seed["files"], "chunks": seed["chunks"], "rss": rss}
        )
        for path in args.paths:
            run_env = dict(
                env, DOCCHAT_DATA_DIR=str(work / f"data-{path}-{r}"), DOCCHAT_EMBED_PRECISION=path
            )
            out, wall, rss = timed([*docchat, "index", str(corpus), "-c", "b", "--json"], run_env)
            summary = json.loads(out)
            rows.setdefault(path, []).append(
                {
                    "s": wall,
                    "files": summary["indexed"],
                    "chunks": summary["chunks_added"],
                    "rss": rss,
                }
            )
            timings[path] = summary.get("timings", {})
            if path == args.paths[0] and r == 0:
                out, again, _ = timed(
                    [*docchat, "index", str(corpus), "-c", "b", "--json"], run_env
                )
                rows["no change"] = [
                    {"s": again, "files": json.loads(out)["unchanged"], "chunks": 0, "rss": 0.0}
                ]
    print(f"\ncorpus: {source}, first {args.limit} pages; rounds {args.rounds} (median)")
    print(f"machine: {machine()}, python {platform.python_version()}\n")
    print(
        "| run | files | chunks | seconds | files/s | chunks/s | × seed | peak RSS MiB | "
        "parse / chunk / embed / store s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    base = statistics.median(x["s"] for x in rows["seed"])
    for name, runs in rows.items():
        s = statistics.median(x["s"] for x in runs)
        files, chunks = runs[0]["files"], runs[0]["chunks"]
        stages = timings.get(name, {})
        split = " / ".join(f"{stages.get(k, 0):.1f}" for k in ("parse", "chunk", "embed", "store"))
        label = (
            "seed (1000-char chunks, fp32, IndexFlatL2)"
            if name == "seed"
            else (
                "docchat index, nothing changed"
                if name == "no change"
                else f"docchat index, {name}"
            )
        )
        print(
            f"| {label} | {files:.0f} | {chunks:.0f} | {s:.1f} | {files / s:.2f} | "
            f"{chunks / s:.1f} | {base / s:.2f}× | {max(x['rss'] for x in runs):.0f} | "
            f"{split if stages else '-'} |"
        )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
