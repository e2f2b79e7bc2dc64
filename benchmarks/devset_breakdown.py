"""Where a page-level eval wins and loses: hit@1 / MRR@10 by question kind, and the pages that
most often take rank 1 from the right one, from `docchat eval --questions ... --details FILE`.

    python benchmarks/devset_breakdown.py details.jsonl [--mode default] [--misses]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("details", type=Path)
    parser.add_argument("--mode", default="default")
    parser.add_argument("--misses", action="store_true", help="list every question not at 1")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.details.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r["mode"] == args.mode]
    by_kind: dict[str, list[int | None]] = defaultdict(list)
    for r in rows:
        by_kind[r["kind"] or "-"].append(r["first_relevant"])
    print(f"mode {args.mode}: {len(rows)} questions")
    print("| kind | n | hit@1 | MRR@10 | not in top 10 |\n|---|---:|---:|---:|---:|")
    for kind, firsts in sorted(by_kind.items(), key=lambda kv: -len(kv[1])):
        n = len(firsts)
        hit1 = sum(1 for f in firsts if f == 1) / n
        mrr = sum(1 / f for f in firsts if f) / n
        print(f"| {kind} | {n} | {hit1:.3f} | {mrr:.3f} | {sum(1 for f in firsts if not f)} |")
    stealers = Counter(
        f"{r['corpus']}: {r['top'][0][0]}" + (f" p.{r['top'][0][1]}" if r["top"][0][1] else "")
        for r in rows
        if r["top"] and r["first_relevant"] != 1
    )
    print("\nrank-1 pages of the questions not answered at rank 1 (most frequent first):")
    for page, n in stealers.most_common(10):
        print(f"  {n} × {page}")
    if args.misses:
        print()
        for r in rows:
            if r["first_relevant"] != 1:
                top = ", ".join(f"{p}" + (f"#{n}" if n else "") for p, n in r["top"][:3])
                print(f"{r['id']} (rank {r['first_relevant']}): {r['question']}\n    top: {top}")


if __name__ == "__main__":
    main()
