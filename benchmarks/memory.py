"""Peak memory (issue 11 item 6): an index run, and the terminal app with every model loaded.

    python benchmarks/memory.py [CORPUS_DIR] [--limit 60]

1. `docchat index` of the first --limit files of CORPUS_DIR (default: Debian's PostgreSQL
   HTML manual, else docchat/sample) in a fresh process: its peak RSS from `wait4` (this
   script is small, so the pages a child shares with it at fork barely count).
2. The app on a pseudo-terminal: `docchat CORPUS_COPY` indexes the folder in the app (the
   embedding model loaded in the app's process), opens it, then answers a question (the
   query encoder in the app, the LLM in its model process). Before quitting, the peak RSS
   (VmHWM) of the app's process and of each process under it is read from /proc.

Defaults throughout (bundled models, the shipped settings), in a temp data dir and config.
Prints a Markdown table; the goal is under 1.5 GB for each.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ui_latency import DOCCHAT, SAMPLE, Terminal

DEFAULT_CORPUS = Path("/usr/share/doc/postgresql-doc-15/html")


def vm_hwm_mib(pid: int) -> float:
    """A live process's peak resident set (kernel's VmHWM), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmHWM for {pid}")


def descendants(pid: int) -> list[int]:
    """Every live process under `pid` (from /proc's parent links)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def command(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    return " ".join(a.decode(errors="replace") for a in argv[:3] if a)[:60]


def copy_corpus(source: Path, limit: int, into: Path) -> Path:
    files = sorted(p for p in source.rglob("*") if p.is_file())[:limit]
    for path in files:
        target = into / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return into


def index_run(corpus: Path, env: dict[str, str]) -> tuple[float, float]:
    """(seconds, peak RSS MiB) of `docchat index` in a fresh process."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(DOCCHAT), "index", str(corpus), "-c", "memory", "-q"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0, 1):  # 1: some files failed
        raise SystemExit(f"docchat index exited with {os.waitstatus_to_exitcode(status)}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def app_with_models(corpus: Path, env: dict[str, str]) -> list[tuple[str, float]]:
    """(process, peak RSS MiB) of the app and the processes under it, after an index run
    and an answer in the app."""
    term = Terminal([str(corpus)], env)
    try:
        term.read_until("ask mode", 1800)  # indexed in the app, collection open
        term.read_until("models ready", 300)
        term.drain()
        mark = len(term.text)
        term.type("how do I create an index\r")
        term.read_until("session 1", 600, since=mark)  # the answer is done
        pids = [term.proc.pid, *descendants(term.proc.pid)]
        rows = [(f"{pid} {command(pid)}", vm_hwm_mib(pid)) for pid in pids]
        term.type("\x11")  # Ctrl+Q
        term.proc.wait(60)
        return rows
    finally:
        term.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path)
    ap.add_argument("--limit", type=int, default=60)
    args = ap.parse_args()
    source = args.corpus or (DEFAULT_CORPUS if DEFAULT_CORPUS.is_dir() else SAMPLE)
    work = Path(tempfile.mkdtemp(prefix="docchat-memory-"))
    env = {
        **os.environ,
        "DOCCHAT_DATA_DIR": str(work / "data"),
        "DOCCHAT_CONFIG": str(work / "config.toml"),
        "TERM": "xterm-256color",
        "HF_HUB_OFFLINE": "1",
    }
    try:
        seconds, index_mib = index_run(copy_corpus(source, args.limit, work / "a"), env)
        app_rows = app_with_models(copy_corpus(source, args.limit, work / "b"), env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"\ndocchat peak memory — {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, python {platform.python_version()}; "
        f"{args.limit} files of {source}\n"
    )
    print("| what | peak RSS MiB |")
    print("|---|---:|")
    print(f"| `docchat index` ({seconds:.0f} s) | {index_mib:,.0f} |")
    for name, mib in app_rows:
        print(f"| app process tree: {name} | {mib:,.0f} |")
    print(f"| app, all processes together (upper bound) | {sum(m for _, m in app_rows):,.0f} |")


if __name__ == "__main__":
    main()
