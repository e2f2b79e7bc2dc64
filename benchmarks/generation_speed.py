"""Generation speed: time to first token and tokens/s for each backend, with the default model
(the bundled SmolLM2-135M-Instruct GGUF) and a ~1,000-token RAG prompt.

Each run asks a different SciFact claim with SciFact abstracts as its numbered sources, built
by docchat's own prompt assembly and trimmed to the target size with the model's tokenizer.
Runs differ from the start of the sources on, so llama.cpp's prompt cache cannot skip the
prompt (only the shared system prompt is reused, as in real use). One warm-up run per backend
is not counted. Greedy decoding, so runs are comparable.

    python benchmarks/generation_speed.py [--backends llama-cpp transformers] [--runs 3]

Prints a Markdown table (medians over the runs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docchat.config import GenerateSettings  # noqa: E402
from docchat.generate.base import GenerationOptions, Generator  # noqa: E402
from docchat.generate.prompt import Prompt, build_prompt  # noqa: E402
from docchat.generate.registry import create_generator  # noqa: E402
from docchat.types import Hit  # noqa: E402


def scifact(data: Path) -> tuple[list[str], list[dict[str, str]]]:
    folder = data / "scifact"
    with (folder / "queries.jsonl").open(encoding="utf-8") as f:
        queries = [json.loads(line)["text"] for line in f]
    with (folder / "corpus.jsonl").open(encoding="utf-8") as f:
        corpus = [json.loads(line) for _, line in zip(range(400), f, strict=False)]
    return queries, corpus


def rag_prompt(gen: Generator, run: int, context: int, data: Path, max_tokens: int) -> Prompt:
    """A prompt of about `context` tokens (templated, by the model's own count)."""
    queries, corpus = scifact(data)
    docs = corpus[run * 12 : run * 12 + 12]
    hits = [
        Hit(
            rank=i + 1,
            score=0.5,
            chunk_id=i,
            path=f"scifact/{d['_id']}.txt",
            page=None,
            line_start=1,
            line_end=12,
            heading=d["title"],
            text=d["text"],
        )
        for i, d in enumerate(docs)
    ]
    saved = gen.n_ctx
    gen.n_ctx = context + max_tokens  # let the budget cut the sources at the target size
    try:
        return build_prompt(gen, queries[run], hits, (), max_tokens)
    finally:
        gen.n_ctx = saved


def one_run(gen: Generator, prompt: Prompt, max_tokens: int) -> tuple[float, float, int]:
    options = GenerationOptions(max_tokens=max_tokens, temperature=0.0, repeat_penalty=1.1)
    start = time.perf_counter()
    first = 0.0
    pieces: list[str] = []
    for piece in gen.stream(prompt.messages, options):
        if not pieces:
            first = time.perf_counter()
        pieces.append(piece)
    end = time.perf_counter()
    tokens = gen.count_tokens("".join(pieces))
    rate = (tokens - 1) / (end - first) if tokens > 1 and end > first else 0.0
    return (first - start) * 1000, rate, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["llama-cpp", "transformers"])
    parser.add_argument("--model", default="", help="default: the bundled GGUF")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--context", type=int, default=1000, help="prompt tokens")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=0, help="llama.cpp threads; 0 = auto")
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data"))
    args = parser.parse_args()
    data = Path(args.data) if Path(args.data).is_dir() else Path("/work/shared/data")

    rows = []
    for backend in args.backends:
        settings = GenerateSettings(
            backend=backend, model=args.model, n_ctx=4096, n_threads=args.threads, device="auto"
        )
        t = time.perf_counter()
        gen = create_generator(settings)
        load_s = time.perf_counter() - t
        one_run(gen, rag_prompt(gen, 0, args.context, data, args.max_tokens), 8)  # warm-up
        results = []
        for run in range(1, args.runs + 1):
            prompt = rag_prompt(gen, run, args.context, data, args.max_tokens)
            ttft, rate, tokens = one_run(gen, prompt, args.max_tokens)
            results.append((prompt.prompt_tokens, ttft, rate, tokens))
            print(
                f"  {backend} run {run}: {prompt.prompt_tokens} prompt tokens, "
                f"TTFT {ttft:.0f} ms, {rate:.1f} tok/s, {tokens} tokens",
                file=sys.stderr,
            )
        rows.append((backend, gen.name, gen.device or "?", load_s, results))
        gen.close()

    print(f"\n{args.runs} runs each, greedy, answers up to {args.max_tokens} tokens; medians.\n")
    print("| backend | model | device | load s | prompt tokens | TTFT ms | tokens/s |")
    print("|---|---|---|---|---|---|---|")
    for backend, name, device, load_s, results in rows:
        prompt_tokens = statistics.median(r[0] for r in results)
        ttft = statistics.median(r[1] for r in results)
        rate = statistics.median(r[2] for r in results)
        print(
            f"| {backend} | {name} | {device} | {load_s:.1f} | {prompt_tokens:.0f} "
            f"| {ttft:.0f} | {rate:.1f} |"
        )


if __name__ == "__main__":
    main()
