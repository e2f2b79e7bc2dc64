"""`docchat watch` (issue 13): save-to-searchable latency, idle cost on a large tree, OCR speed.

    python benchmarks/watch_latency.py latency [--embedder fake|real] [--edits 100]
    python benchmarks/watch_latency.py idle [--files 100000] [--seconds 60]
    python benchmarks/watch_latency.py ocr [--pages 10]

latency: a real `docchat watch --json` subprocess follows a folder of 50 small files; the
benchmark rewrites one file at a time with a word never seen before and measures from the
moment the write returns until a keyword search through the facade (this process, its own
connection, polled every 2 ms) finds the word in that file. "fake" is the hash embedder of
tests/fakes.py (the pipeline alone), "real" the bundled all-MiniLM-L6-v2 on CPU.

idle: generates a tree of N small text files (100 per folder), lets `docchat watch` (fake
embedder) index it, then samples the process's CPU time and RSS (/proc) while nothing
changes; also counts the kernel watches it holds (one inotify watch per folder, none per
file). Then one edit inside the tree, to show a batch costs what its paths cost, not a walk.

ocr: pages/s of RapidOCR on pages rendered from a text PDF and bound into an image-only PDF
(the parser's path: pypdfium2 render at 150 dpi, then OCR).

Prints Markdown tables. Work files go to benchmarks/.work/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work" / "watch"
TESTS = ROOT / "tests"


def env_for(data: Path, embedder: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCCHAT_")}
    env["DOCCHAT_DATA_DIR"] = str(data)
    env["DOCCHAT_CONFIG"] = str(data / "none.toml")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(TESTS), env.get("PYTHONPATH", "")])
    if embedder == "fake":
        env.update(
            DOCCHAT_PLUGINS="fakes",
            DOCCHAT_EMBED_BACKEND="fake",
            DOCCHAT_EMBED_MODEL="fake-embedder",
        )
    else:
        env.update(DOCCHAT_EMBED_DEVICE="cpu", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return env


class Watch:
    """A `docchat watch --json` subprocess and a thread reading its JSON lines."""

    def __init__(self, folder: Path, data: Path, embedder: str, name: str = "bench") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "docchat", "watch", str(folder), "-c", name, "--json"],
            env=env_for(data, embedder),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self.reader.start()

    def _read(self, stream: IO[str] | None) -> None:
        assert stream is not None
        for raw in stream:
            with self.changed:
                self.lines.append(json.loads(raw))
                self.changed.notify_all()
        with self.changed:
            self.lines.append({"event": "exit"})
            self.changed.notify_all()

    def wait_synced(self, after: int = 0, timeout: float = 3600) -> int:
        """Wait for a "synced" line past line `after`; returns the line count then."""
        with self.changed:
            ok = self.changed.wait_for(
                lambda: any(x["event"] in ("synced", "exit") for x in self.lines[after:]),
                timeout,
            )
            if not ok or self.lines[-1]["event"] == "exit":
                err = self.proc.stderr.read() if self.proc.stderr else ""
                raise SystemExit(f"watch did not sync: {self.lines[-3:]} {err[-2000:]}")
            return len(self.lines)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(600)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{cpu}, {os.cpu_count()} CPUs, load {load:.1f}"


# ---------------------------------------------------------------- latency


def latency(embedder: str, edits: int) -> None:
    from docchat.config import load_settings
    from docchat.service import Docchat

    work = WORK / f"latency-{embedder}"
    shutil.rmtree(work, ignore_errors=True)
    folder, data = work / "docs", work / "data"
    folder.mkdir(parents=True)
    for i in range(50):
        (folder / f"note{i:02}.md").write_text(f"# Note {i}\n\nSome text about topic {i}.\n")
    watch = Watch(folder, data, embedder)
    seen = watch.wait_synced()
    service = Docchat(load_settings(environ={"DOCCHAT_DATA_DIR": str(data)}))
    took: list[float] = []
    for n in range(edits):
        word = f"zq{n:04}marker"
        target = folder / f"note{n % 50:02}.md"
        target.write_text(f"# Note {n}\n\nThe word {word} appears in edit {n}.\n")
        t0 = time.perf_counter()
        while not any(
            h.path == str(target) for h in service.search("bench", word, k=1, mode="keyword")
        ):
            if time.perf_counter() - t0 > 120:
                raise SystemExit(f"edit {n} never became searchable")
            time.sleep(0.002)
        took.append(time.perf_counter() - t0)
        seen = watch.wait_synced(seen)  # the batch is over before the next edit
    rc = watch.stop()
    service.close()
    ms = sorted(t * 1000 for t in took)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(f"\nmachine: {machine()}; watch exit code on SIGTERM: {rc}\n")
    print("| embedder | edits | p50 ms | p95 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    print(f"| {embedder} | {len(ms)} | {statistics.median(ms):.0f} | {p95:.0f} | {ms[-1]:.0f} |")


# ---------------------------------------------------------------- idle


def make_tree(root: Path, files: int, per_folder: int = 100) -> None:
    marker = root / ".complete"
    if marker.exists() and marker.read_text() == str(files):
        return
    shutil.rmtree(root, ignore_errors=True)
    for i in range(files):
        folder = root / f"d{i // (per_folder * 100):03}" / f"f{(i // per_folder) % 100:02}"
        if i % per_folder == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"n{i:06}.txt").write_text(f"Note {i} about subject {i % 97}.\n")
    marker.write_text(str(files))


def proc_cpu_rss(pid: int) -> tuple[float, int]:
    """(CPU seconds used so far, RSS bytes) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
    return cpu, rss


def inotify_watches(pid: int) -> int:
    count = 0
    for info in Path(f"/proc/{pid}/fdinfo").iterdir():
        try:
            count += sum(1 for line in info.read_text().splitlines() if line.startswith("inotify"))
        except OSError:
            continue
    return count


def idle(files: int, seconds: float) -> None:
    work = WORK / "idle"
    tree, data = work / f"tree-{files}", work / "data"
    t0 = time.perf_counter()
    make_tree(tree, files)
    made = time.perf_counter() - t0
    shutil.rmtree(data, ignore_errors=True)
    t0 = time.perf_counter()
    watch = Watch(tree, data, "fake")
    seen = watch.wait_synced()
    first_run = time.perf_counter() - t0
    summary = next(x for x in watch.lines if x["event"] == "summary")
    time.sleep(5)  # let the first run's garbage settle before sampling
    cpu0, _ = proc_cpu_rss(watch.proc.pid)
    samples = []
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        time.sleep(1)
        samples.append(proc_cpu_rss(watch.proc.pid)[1])
    cpu1, rss = proc_cpu_rss(watch.proc.pid)
    wall = time.perf_counter() - t0
    watches = inotify_watches(watch.proc.pid)
    # One edit deep in the tree: the batch applies one path, whatever the tree's size.
    target = next(tree.glob("d000/f00/n000000.txt"))
    target.write_text("An edit about herons.\n")
    t_edit = time.perf_counter()
    seen = watch.wait_synced(seen)
    edit_s = time.perf_counter() - t_edit
    batch = [x for x in watch.lines[:seen] if x["event"] == "summary"][-1]
    rc = watch.stop()
    print(f"\nmachine: {machine()}; tree made in {made:.0f} s; exit code on SIGTERM: {rc}\n")
    print("| files | first run s | idle s | idle CPU % | RSS MiB (max) | kernel watches |"
          " one edit: synced in s | its batch: files looked at |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    cpu_pct = 100 * (cpu1 - cpu0) / wall
    print(
        f"| {files} | {first_run:.0f} ({summary['indexed']} indexed) | {wall:.0f} | "
        f"{cpu_pct:.2f} | {rss / 2**20:.0f} ({max(samples) / 2**20:.0f}) | {watches} | "
        f"{edit_s:.2f} | {int(batch['indexed']) + int(batch['unchanged'])} |"
    )


# ---------------------------------------------------------------- ocr


def ocr(pages: int) -> None:
    sys.path.insert(0, str(TESTS / "ingest"))
    sys.path.insert(0, str(TESTS))
    from test_ocr import scanned_pdf  # the tests' maker of image-only PDFs

    from docchat.ingest import ocr as engine
    from docchat.ingest.parsers import parse

    work = WORK / "ocr"
    work.mkdir(parents=True, exist_ok=True)
    text = [
        "IMAGE:Herons wait patiently in shallow water and strike at passing fish.",
        "IMAGE:The grey heron is a long-legged wading bird of the family Ardeidae.",
        "IMAGE:It breeds in colonies in trees close to lakes, the seashore or wetlands.",
    ] * 6
    path = scanned_pdf(work / "scan.pdf", *[text for _ in range(pages)])
    with engine.using(engine.OcrOptions("auto")):
        t0 = time.perf_counter()
        engine._engine()  # the model load, outside the rate
        load = time.perf_counter() - t0
        t0 = time.perf_counter()
        doc = parse(path)
        took = time.perf_counter() - t0
    words = sum(len(p.text.split()) for p in doc.pages)
    print(f"\nmachine: {machine()}; engine load {load:.1f} s\n")
    print("| pages | lines/page | s | pages/s | words read |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {pages} | {len(text)} | {took:.1f} | {pages / took:.2f} | {words} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("latency")
    p.add_argument("--embedder", choices=["fake", "real"], default="fake")
    p.add_argument("--edits", type=int, default=100)
    p = sub.add_parser("idle")
    p.add_argument("--files", type=int, default=100_000)
    p.add_argument("--seconds", type=float, default=60)
    p = sub.add_parser("ocr")
    p.add_argument("--pages", type=int, default=10)
    args = parser.parse_args()
    if args.what == "latency":
        latency(args.embedder, args.edits)
    elif args.what == "idle":
        idle(args.files, args.seconds)
    else:
        ocr(args.pages)


if __name__ == "__main__":
    main()
