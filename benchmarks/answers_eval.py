"""Answer quality on the documentation dev set (issue 15): `docchat eval --answers`, as tables.

    python benchmarks/devset_prepare.py          # once: the corpora, ~/.cache/docchat/devset/
    python benchmarks/answers_eval.py [--limit 3] [--llm MODEL ...] [--backend NAME]

Runs the full ask path (hybrid search, the abstention threshold, the model, the claim check)
on benchmarks/data/devset/questions.jsonl — 91 answerable and 26 unanswerable questions
over three manuals — and prints one row per model: answered/abstained, abstention precision
and recall on the unanswerable questions, citation accuracy with the model's own markers
and after verification (a citation is right when its source is an expected page), claim
support, time to first token, total time and the check's own time (p50/p95). `--limit N`
takes the first N answerable and N unanswerable questions of each corpus (the whole set
with the bundled model takes ~30 min on 2 cores). The indexed corpora are kept
(~/.cache/docchat/eval/), so a rerun only asks. `--details FILE` keeps every answer.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docchat.answer_eval import evaluate_answers  # noqa: E402
from docchat.config import load_settings  # noqa: E402
from docchat.service import load_plugins  # noqa: E402

QUESTIONS = ROOT / "benchmarks" / "data" / "devset" / "questions.jsonl"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", default=str(QUESTIONS))
    ap.add_argument("--docs", default=str(Path.home() / ".cache" / "docchat" / "devset"))
    ap.add_argument("--llm", action="append", default=[], help="answer model (repeatable)")
    ap.add_argument("--backend")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--details")
    args = ap.parse_args()
    if not Path(args.docs).is_dir():
        print(f"no corpora in {args.docs}: run benchmarks/devset_prepare.py first")
        return 1
    settings = load_settings()
    load_plugins(settings.plugins)
    report = evaluate_answers(
        settings,
        Path(args.questions),
        Path(args.docs),
        args.llm or [""],
        backend=args.backend,
        limit=args.limit,
        keep=True,
        progress=lambda msg: print(msg, file=sys.stderr, flush=True),
    )
    if args.details:
        with open(args.details, "w", encoding="utf-8") as f:
            for d in report.details:
                f.write(json.dumps(d.to_json(), ensure_ascii=False) + "\n")
    print(
        "| model | questions | answered | abstained | abstention P | abstention R "
        "| citation acc. (markers) | citation acc. (verified) | claim support "
        "| TTFT p50 s | total p50 s | verify p50 / p95 ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in report.rows:
        print(
            f"| {r.model} | {r.questions} | {r.answered} | {r.abstained} "
            f"| {r.abstain_precision:.2f} | {r.abstain_recall:.2f} "
            f"| {r.citation_accuracy_marked:.2f} ({r.citations_marked}) "
            f"| {r.citation_accuracy_verified:.2f} ({r.citations_verified}) "
            f"| {r.claim_support:.2f} | {r.ttft_p50_ms / 1000:.2f} | {r.total_p50_ms / 1000:.2f} "
            f"| {r.verify_p50_ms:.0f} / {r.verify_p95_ms:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
