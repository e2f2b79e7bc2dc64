"""The cost of running the model in its own process: time to first token and tokens/s with the
model in a child process (what docchat does for llama.cpp and transformers) vs in-process,
plus the start-up and the round trips that prompt budgeting makes.

Same prompts as benchmarks/generation_speed.py (SciFact abstracts as sources, ~1,000 tokens,
docchat's own prompt assembly), greedy. Each run asks the in-process model and the child the
same prompt, one after the other (alternating which goes first), so load on the machine hits
both alike; one warm-up run each is not counted.

    python benchmarks/model_process.py [--backends llama-cpp transformers] [--runs 5]

Prints Markdown tables (medians over the runs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generation_speed import one_run, rag_prompt, scifact  # noqa: E402

from docchat.config import GenerateSettings  # noqa: E402
from docchat.generate.base import Generator  # noqa: E402
from docchat.generate.prompt import build_prompt  # noqa: E402
from docchat.generate.registry import create_generator  # noqa: E402
from docchat.types import Hit  # noqa: E402

COUNT_TEXT = "Dropout randomly zeroes activations during training, which reduces overfitting."


def timed_load(settings: GenerateSettings, in_process: bool) -> tuple[Generator, float]:
    start = time.perf_counter()
    gen = create_generator(settings, in_process=in_process)
    return gen, time.perf_counter() - start


def round_trips(gen: Generator, data: Path, runs: int, max_tokens: int) -> dict[str, float]:
    """Microseconds per count_tokens call and milliseconds per whole prompt assembly
    (build_prompt: dozens of counts), on texts the child has not counted yet (no cache)."""
    n = 200
    start = time.perf_counter()
    for i in range(n):
        gen.count_tokens(f"{COUNT_TEXT} {i}")
    per_count = (time.perf_counter() - start) / n * 1e6
    queries, corpus = scifact(data)
    spent = 0.0
    for run in range(runs):
        docs = corpus[100 + run * 12 : 100 + run * 12 + 12]
        hits = [
            Hit(i + 1, 0.5, i, f"scifact/{d['_id']}.txt", None, 1, 12, d["title"], d["text"])
            for i, d in enumerate(docs)
        ]
        start = time.perf_counter()
        build_prompt(gen, queries[100 + run], hits, (), max_tokens)
        spent += time.perf_counter() - start
    return {"count_us": per_count, "build_ms": spent / runs * 1000}


def protocol_overhead(repeats: int = 50) -> list[tuple[str, float, float]]:
    """The protocol alone, with the fake echo model of the tests (no compute): time to the
    first piece of a short answer, and time per piece over a 2,000-piece stream."""
    sys.path.insert(0, str(ROOT / "tests"))
    import fakes  # noqa: F401 - registers the "fake" and "fake-process" backends

    from docchat.generate.base import GenerationOptions

    ask = [{"role": "user", "content": "[1] a.md\nDropout reduces overfitting in networks."}]
    endless = [{"role": "user", "content": "ENDLESS"}]
    rows = []
    for backend, where in (("fake", "in-process"), ("fake-process", "child process")):
        gen = create_generator(GenerateSettings(backend=backend))
        firsts = []
        for _ in range(repeats):
            start = time.perf_counter()
            stream = gen.stream(ask, GenerationOptions())  # type: ignore[arg-type]
            next(iter(stream))
            firsts.append((time.perf_counter() - start) * 1000)
            for _ in stream:
                pass
        # In-process, ENDLESS is an ordinary prompt (the fake only obeys it in a child), so
        # the per-piece time there is over the echo's pieces.
        many = endless if backend == "fake-process" else ask
        options = GenerationOptions(max_tokens=2000)
        start = time.perf_counter()
        pieces = sum(1 for _ in gen.stream(many, options))  # type: ignore[arg-type]
        per_piece = (time.perf_counter() - start) / max(pieces, 1) * 1e6
        rows.append((where, statistics.median(firsts), per_piece))
        gen.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["llama-cpp"])
    parser.add_argument("--model", default="", help="default: the bundled GGUF")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--context", type=int, default=1000, help="prompt tokens")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data"))
    args = parser.parse_args()
    data = Path(args.data) if Path(args.data).is_dir() else Path("/work/shared/data")

    speed_rows, cost_rows = [], []
    for backend in args.backends:
        settings = GenerateSettings(backend=backend, model=args.model, n_ctx=4096, device="cpu")
        inline, inline_load = timed_load(settings, in_process=True)
        child, child_load = timed_load(settings, in_process=False)
        pair = {"in-process": inline, "child process": child}
        for gen in pair.values():  # warm-up
            one_run(gen, rag_prompt(gen, 0, args.context, data, args.max_tokens), 8)
        results: dict[str, list[tuple[float, float, int]]] = {k: [] for k in pair}
        for run in range(1, args.runs + 1):
            order = list(pair) if run % 2 else list(reversed(pair))
            for where in order:
                gen = pair[where]
                prompt = rag_prompt(gen, run, args.context, data, args.max_tokens)
                ttft, rate, tokens = one_run(gen, prompt, args.max_tokens)
                results[where].append((ttft, rate, tokens))
                print(
                    f"  {backend} {where} run {run}: {prompt.prompt_tokens} prompt tokens, "
                    f"TTFT {ttft:.0f} ms, {rate:.1f} tok/s, {tokens} tokens",
                    file=sys.stderr,
                )
        for where, gen in pair.items():
            ttft = statistics.median(r[0] for r in results[where])
            rate = statistics.median(r[1] for r in results[where])
            load = inline_load if gen is inline else child_load
            speed_rows.append((backend, where, load, ttft, rate))
            cost_rows.append((backend, where, round_trips(gen, data, 5, args.max_tokens)))
        child.close()
        inline.close()

    print(f"\n{args.runs} runs each, greedy, answers up to {args.max_tokens} tokens; medians.\n")
    print("| backend | where | load s | TTFT ms | tokens/s |")
    print("|---|---|---|---|---|")
    for backend, where, load, ttft, rate in speed_rows:
        print(f"| {backend} | {where} | {load:.2f} | {ttft:.0f} | {rate:.1f} |")
    print("\nThe protocol alone (the tests' fake echo model, no compute):\n")
    print("| where | first piece ms | per piece µs |")
    print("|---|---|---|")
    for where, first, per_piece in protocol_overhead():
        print(f"| {where} | {first:.2f} | {per_piece:.0f} |")
    print("\nRound trips (prompt budgeting):\n")
    print("| backend | where | count_tokens µs | build_prompt ms (12 sources) |")
    print("|---|---|---|---|")
    for backend, where, c in cost_rows:
        print(f"| {backend} | {where} | {c['count_us']:.0f} | {c['build_ms']:.1f} |")


if __name__ == "__main__":
    main()
