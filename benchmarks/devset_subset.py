"""A smaller copy of the documentation dev set's corpora, for iterating on ranking (issue 14).

Indexing the whole dev set takes well over an hour on the 2 shared cores; this subset keeps
every page any question names plus 20 other pages per HTML corpus, drawn with a fixed seed
(`random.Random(14).sample` over the sorted remaining file names), and the Debian Reference
PDF whole. All 91 answerable questions stay answerable; distractors are fewer, so figures
are higher than on the full set and only comparisons within the subset mean anything.

    python benchmarks/devset_prepare.py       # the full corpora first
    python benchmarks/devset_subset.py        # -> ~/.cache/docchat/devset-subset/<corpus>
    docchat eval --questions benchmarks/data/devset/questions.jsonl \\
        --docs ~/.cache/docchat/devset-subset --keep

Files are copied with their modification times (shutil.copy2), so a kept index of the
subset stays valid across reruns.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from pathlib import Path

QUESTIONS = Path(__file__).parent / "data" / "devset" / "questions.jsonl"
CACHE = Path.home() / ".cache" / "docchat"
SEED = 14
DISTRACTORS = 20


def files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def subset(questions: list[dict[str, object]], corpus: str, available: list[str]) -> list[str]:
    """The answer pages of `corpus` plus DISTRACTORS others drawn with SEED (all of a corpus
    of a single file)."""
    answers = {
        str(a["path"])
        for q in questions
        if q.get("corpus") == corpus
        for a in q.get("answers") or []  # type: ignore[attr-defined]
    }
    others = [f for f in available if f not in answers]
    if len(available) <= 1:
        return available
    drawn = random.Random(SEED).sample(others, min(DISTRACTORS, len(others)))
    return sorted(answers | set(drawn))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=CACHE / "devset")
    ap.add_argument("--dest", type=Path, default=CACHE / "devset-subset")
    args = ap.parse_args()
    questions = [json.loads(line) for line in QUESTIONS.open(encoding="utf-8") if line.strip()]
    for corpus in sorted({str(q["corpus"]) for q in questions}):
        src, dst = args.source / corpus, args.dest / corpus
        if not src.is_dir():
            raise SystemExit(f"{src} missing: run benchmarks/devset_prepare.py first")
        chosen = subset(questions, corpus, files(src))
        for rel in chosen:
            target = dst / rel
            if target.is_file() and target.stat().st_size == (src / rel).stat().st_size:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / rel, target)
        extra = sorted(set(files(dst)) - set(chosen)) if dst.is_dir() else []
        for rel in extra:  # left from another subset: would be indexed too
            (dst / rel).unlink()
        print(f"{corpus}: {len(chosen)} files -> {dst}")


if __name__ == "__main__":
    main()
