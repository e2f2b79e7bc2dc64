"""Odd/even split of a question set's results: hit@1 and MRR@10 per variant on the questions
with odd numbers and on those with even numbers, from `ranking_ablation.py --details`.

    python benchmarks/devset_split.py det.jsonl

A weight chosen on one half should also be (among) the best on the other: a check that it is
not fitted to a few questions.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path


def metrics(firsts: list[int | None]) -> tuple[float, float]:
    hit1 = sum(1 for f in firsts if f == 1) / len(firsts)
    mrr = sum(1 / f for f in firsts if f is not None and f <= 10) / len(firsts)
    return hit1, mrr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("details", type=Path)
    args = ap.parse_args()
    first: dict[str, dict[str, int | None]] = defaultdict(dict)
    for line in args.details.read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        if "set" not in d:  # a question, not a BEIR query
            first[d["variant"]].setdefault(d["id"], d["first"])
    print("| variant | odd hit@1 | odd MRR@10 | even hit@1 | even MRR@10 |")
    print("|---|---:|---:|---:|---:|")
    for variant, by_id in first.items():
        number = {q: int(m.group()) for q in by_id if (m := re.search(r"\d+$", q))}
        odd = [by_id[q] for q in number if number[q] % 2]
        even = [by_id[q] for q in number if not number[q] % 2]
        (h1o, mo), (h1e, me) = metrics(odd), metrics(even)
        print(f"| {variant} | {h1o:.3f} | {mo:.3f} | {h1e:.3f} | {me:.3f} |")


if __name__ == "__main__":
    main()
