"""Build the documentation dev set's corpora (issue 14) from Debian's documentation packages.

    apt-get update && apt-get install -y postgresql-doc-15 git-doc debian-reference-en
    python benchmarks/devset_prepare.py            # -> ~/.cache/docchat/devset/<corpus>/

Each corpus becomes one folder under the output directory, named as the `corpus` field of
benchmarks/data/devset/questions.jsonl, holding copies of the package's files (mtimes kept,
so a second run changes nothing and a kept eval collection re-embeds nothing). Copies rather
than the installed tree because git-doc ships every page twice (.html and its .txt source),
and because a question's `path` is relative to its corpus folder. The script then checks
that every expected file (and PDF page) of the question set exists, so a package version
with renamed pages fails here, not as a silently lower score.

Standard library only, except for the PDF page-count check (pypdf, a docchat dependency).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUESTIONS = HERE / "data" / "devset" / "questions.jsonl"


@dataclass(frozen=True)
class Corpus:
    package: str
    root: str
    include: tuple[str, ...]  # globs relative to root


CORPORA = {
    "postgresql": Corpus("postgresql-doc-15", "/usr/share/doc/postgresql-doc-15/html", ("*.html",)),
    "git": Corpus(
        "git-doc", "/usr/share/doc/git-doc", ("*.html", "howto/*.html", "technical/*.html")
    ),
    "debian-reference": Corpus(
        "debian-reference-en", "/usr/share/debian-reference", ("debian-reference.en.pdf",)
    ),
}


def package_version(package: str) -> str | None:
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}|${Version}", package],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        return None
    status, _, version = out.stdout.partition("|")
    return version if out.returncode == 0 and status.endswith("installed") else None


def copy_corpus(name: str, corpus: Corpus, out: Path) -> int:
    root = Path(corpus.root)
    dest = out / name
    n = 0
    for pattern in corpus.include:
        for src in sorted(root.glob(pattern)):
            if not src.is_file():
                continue
            target = dest / src.relative_to(root)
            stat = src.stat()
            if target.exists():
                t = target.stat()
                if t.st_size == stat.st_size and t.st_mtime_ns == stat.st_mtime_ns:
                    n += 1
                    continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
            n += 1
    return n


def pdf_pages(path: Path) -> int | None:
    try:
        from pypdf import PdfReader
    except ImportError:
        return None
    return len(PdfReader(path).pages)


def check_questions(out: Path) -> list[str]:
    """Every expected file exists in its corpus folder, every expected PDF page in the file."""
    problems: list[str] = []
    pages: dict[Path, int | None] = {}
    with QUESTIONS.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            q = json.loads(line)
            for answer in q["answers"]:
                path = out / q["corpus"] / answer["path"]
                if not path.is_file():
                    problems.append(f"{q['id']}: no file {path}")
                    continue
                if answer.get("pages"):
                    if path not in pages:
                        pages[path] = pdf_pages(path)
                    count = pages[path]
                    bad = [p for p in answer["pages"] if count is not None and not 1 <= p <= count]
                    if bad:
                        problems.append(f"{q['id']}: {path.name} has {count} pages, not {bad}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path.home() / ".cache" / "docchat" / "devset",
        help="where the corpus folders go (default: ~/.cache/docchat/devset)",
    )
    args = parser.parse_args()
    missing = [c.package for c in CORPORA.values() if package_version(c.package) is None]
    if missing:
        print(f"missing packages; run: apt-get install -y {' '.join(missing)}", file=sys.stderr)
        return 1
    for name, corpus in CORPORA.items():
        n = copy_corpus(name, corpus, args.out)
        print(f"{name:<17} {corpus.package} {package_version(corpus.package)}: {n} files")
    problems = check_questions(args.out)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"corpora ready in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
