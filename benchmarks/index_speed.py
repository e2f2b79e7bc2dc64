"""Indexing speed on a real corpus, next to the raw model speed on the same chunks.

    python benchmarks/index_speed.py [CORPUS_DIR] [--limit N]

Default corpus: Debian's python3.11-doc HTML (/usr/share/doc/python3.11/html;
`apt-get install python3.11-doc`). Prints a Markdown table:
  1. a full `docchat index` of the corpus (fresh collection): files/s, chunks/s;
  2. raw sentence-transformers `encode` of exactly the chunks that run stored, same model
     instance, same process — the ceiling the pipeline is measured against;
  3. a second `docchat index` with nothing changed.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from docchat.config import load_settings
from docchat.service import Docchat
from docchat.types import IndexSummary


def run_index(service: Docchat, name: str, corpus: Path) -> tuple[IndexSummary, float]:
    t0 = time.perf_counter()
    summary = None
    for event in service.index(name, [corpus]):
        summary = event
    assert isinstance(summary, IndexSummary)
    return summary, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", default="/usr/share/doc/python3.11/html")
    parser.add_argument("--limit", type=int, default=0, help="Copy only the first N files.")
    args = parser.parse_args()
    source = Path(args.corpus)
    if not source.is_dir():
        sys.exit(f"corpus not found: {source} (apt-get install python3.11-doc)")

    work = Path(tempfile.mkdtemp(prefix="docchat-bench-"))
    # Only the HTML pages: the doc folder also holds _sources/ (the same text again as .txt)
    # and _static/ (JavaScript), which would blur what is being measured.
    corpus = work / "corpus"
    files = sorted(p for p in source.rglob("*.html") if p.is_file())
    for f in files[: args.limit or None]:
        dest = corpus / f.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dest)
    os.environ["DOCCHAT_DATA_DIR"] = str(work / "data")
    settings = load_settings(environ={"DOCCHAT_DATA_DIR": str(work / "data")})
    service = Docchat(settings)
    embedder = service.embedder()  # load once, outside the timings
    embedder.embed(["warm up"])

    first, t_first = run_index(service, "bench", corpus)
    coll = service.open_collection("bench")
    texts = [text for _, text in coll.embedded_texts()]
    t0 = time.perf_counter()
    embedder.model.encode(  # type: ignore[attr-defined]
        texts, batch_size=settings.embed.batch_size, normalize_embeddings=True
    )
    t_raw = time.perf_counter() - t0
    second, t_second = run_index(service, "bench", corpus)

    files = first.indexed + len(first.skipped) + len(first.failed)
    print(f"\ncorpus: {source} ({files} files{', first ' + str(args.limit) if args.limit else ''})")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, model {embedder.name}, device cpu\n"
    )
    print("| run | files | chunks | seconds | files/s | chunks/s |")
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| docchat index (fresh) | {first.indexed} | {first.chunks_added} | {t_first:.1f} | "
        f"{first.indexed / t_first:.1f} | {first.chunks_added / t_first:.1f} |"
    )
    print(
        f"| raw ST encode, same chunks | - | {len(texts)} | {t_raw:.1f} | - | "
        f"{len(texts) / t_raw:.1f} |"
    )
    print(
        f"| docchat index (no change) | {second.unchanged} | 0 | {t_second:.2f} | "
        f"{second.unchanged / t_second:.0f} | - |"
    )
    print(
        f"\nskipped {len(first.skipped)}, failed {len(first.failed)}; distinct chunk texts "
        f"{len(texts)} of {first.chunks_added}; pipeline / raw encode = "
        f"{(first.chunks_added / t_first) / (len(texts) / t_raw):.2f}"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
