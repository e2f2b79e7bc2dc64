"""How fast the terminal app answers the user, measured through a real pseudo-terminal.

    python benchmarks/ui_latency.py [--runs 3] [--files 3000] [--keys 30]

1. Start-up: time from launching `docchat` (an existing collection, the real configured
   models) to the first frame, to the main screen, and to "models ready".
2. Keypress-to-screen: a key is written to the terminal and timed until the typed text is
   drawn back, with the app idle and while an index run of --files generated text files is
   going on (the real embedder working on a worker thread).
3. Answer: Enter on a question until the status line shows the first phase ("searching…"),
   and until the answer is done.
4. Quit: Ctrl+Q until the process has exited.
5. Progress lag: in-process (Textual's headless driver, the real configured embedder), how
   far the indexing screen trails the run: at each progress message it handles, the age of
   the newest event the run yielded (a file done, an embedding batch).

Everything runs in a temp data dir and config; nothing in your home is touched. Prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import platform
import pty
import random
import re
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

DOCCHAT = Path(sys.executable).with_name("docchat")
SAMPLE = Path(__file__).resolve().parent.parent / "docchat" / "sample"
# CSI sequences, OSC strings, DCS/APC strings, then any other two-byte escape.
ANSI = re.compile(
    r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|.)"
)


class Terminal:
    """`docchat ARGS` on a pseudo-terminal of 100×30; reads everything it draws."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(DOCCHAT), *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.fd = master
        self.text = ""  # everything drawn so far, escape sequences removed

    def read_until(self, needle: str, timeout: float, since: int = 0) -> float:
        """Seconds (perf_counter) at which `needle` appeared after offset `since`."""
        deadline = time.perf_counter() + timeout
        while needle not in self.text[since:]:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"{needle!r} not drawn within {timeout}s")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    raise TimeoutError("the app exited") from None
                self.text += ANSI.sub("", chunk.decode("utf-8", "replace"))
        return time.perf_counter()

    def drain(self) -> None:
        while select.select([self.fd], [], [], 0)[0]:
            try:
                self.text += ANSI.sub("", os.read(self.fd, 65536).decode("utf-8", "replace"))
            except OSError:
                return

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self.fd)


def keypress_latencies(term: Terminal, keys: int) -> list[float]:
    """Type distinct letters one at a time; each is timed until the input shows all typed."""
    typed = ""
    out: list[float] = []
    for i in range(keys):
        term.drain()
        mark = len(term.text)
        typed += "abcdefghijklmnopqrstuvwxyz"[i % 26]
        t0 = time.perf_counter()
        term.type(typed[-1])
        # The input line is redrawn with its whole value, so the typed tail shows up at once.
        out.append(term.read_until(typed[-8:], 10, since=mark) - t0)
        time.sleep(0.05)  # like a fast typist, not a flood
    return out


def make_corpus(folder: Path, files: int) -> None:
    rng = random.Random(7)
    words = (SAMPLE / "guide.md").read_text(encoding="utf-8").split()
    for i in range(files):
        sub = folder / f"part{i // 500:02}"
        sub.mkdir(parents=True, exist_ok=True)
        text = " ".join(rng.choice(words) for _ in range(rng.randint(120, 400)))
        (sub / f"note{i:05}.txt").write_text(text + "\n", encoding="utf-8")


def progress_lag(corpus: Path, env: dict[str, str]) -> list[float]:
    """At each progress message the screen handles, the age of the run's newest event: how far
    the screen trails the work. Messages go at most every 0.1 s (POST_EVERY_S), so an event
    waits at most that much longer to be sent."""
    import asyncio

    os.environ.update(env)
    from docchat.cli.common import AppContext
    from docchat.ui.app import DocchatApp
    from docchat.ui.screens.index import IndexScreen
    from docchat.ui.screens.main import MainScreen

    service = AppContext().service()
    produced: list[float] = []  # when each event left the run
    lags: list[float] = []
    real_index = service.index

    def timed_index(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        for event in real_index(*args, **kwargs):  # type: ignore[arg-type]
            produced.append(time.perf_counter())
            yield event

    service.index = timed_index  # type: ignore[method-assign]
    handled = IndexScreen.on_index_progress

    def on_progress(self: IndexScreen, message: object) -> None:
        handled(self, message)  # type: ignore[arg-type]
        if produced:  # the newest event this message can carry
            lags.append(time.perf_counter() - produced[-1])

    IndexScreen.on_index_progress = on_progress  # type: ignore[method-assign]

    async def run() -> None:
        app = DocchatApp(lambda: service, None, [str(corpus)])
        async with app.run_test(size=(100, 30)) as pilot:
            while not isinstance(app.screen, MainScreen):
                await pilot.pause(0.05)

    asyncio.run(run())
    return lags


def fmt(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"{statistics.median(ms):8.1f} | {p95:8.1f} | {ms[-1]:8.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--files", type=int, default=3000)
    ap.add_argument("--keys", type=int, default=30)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="docchat-ui-bench-"))
    env = {
        **os.environ,
        "DOCCHAT_DATA_DIR": str(work / "data"),
        "DOCCHAT_CONFIG": str(work / "config.toml"),
        "TERM": "xterm-256color",
        "HF_HUB_OFFLINE": "1",
    }
    print(f"setting up: indexing {SAMPLE} with the configured embedder…", file=sys.stderr)
    subprocess.run(
        [str(DOCCHAT), "index", str(SAMPLE), "-c", "sample", "-q"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    first, main_screen, ready = [], [], []
    idle: list[float] = []
    phase, answered, quit_s = [], [], []
    for run in range(args.runs):
        term = Terminal(["-c", "sample"], env)
        try:
            first.append(term.read_until("starting docchat", 60) - term.started)
            main_screen.append(term.read_until("ask mode", 60) - term.started)
            ready.append(term.read_until("models ready", 120) - term.started)
            if run == 0:
                idle = keypress_latencies(term, args.keys)
                term.type("\x15")  # Ctrl+U: clear what the keypress test typed
            term.drain()
            mark = len(term.text)
            t0 = time.perf_counter()
            term.type("how do I index a folder\r")
            phase.append(term.read_until("searching", 30, since=mark) - t0)
            answered.append(term.read_until(f"session {run + 1}", 300, since=mark) - t0)
            term.drain()
            t0 = time.perf_counter()
            term.type("\x11")  # Ctrl+Q
            term.proc.wait(30)
            quit_s.append(time.perf_counter() - t0)
        finally:
            term.close()
    corpus = work / "corpus"
    make_corpus(corpus, args.files)
    term = Terminal([str(corpus)], env)  # indexes into collection "corpus" on start
    try:
        term.read_until("files ·", 120)  # the run is going and reporting progress
        busy = keypress_latencies(term, args.keys)
        term.drain()
        still_running = "done in" not in term.text
    finally:
        term.close()
    lag_corpus = work / "lag"
    make_corpus(lag_corpus, min(args.files, 500))
    lags = progress_lag(lag_corpus, env)
    print(
        f"\ndocchat UI latency — {platform.node()}, {os.cpu_count()} CPUs, "
        f"python {platform.python_version()}, terminal 100×30 (pty)\n"
    )
    print("| measurement | runs | median ms | p95 ms | max ms |")
    print("|---|---|---|---|---|")
    print(f"| start → first frame | {len(first)} | {fmt(first)} |")
    print(f"| start → main screen (collection open) | {len(main_screen)} | {fmt(main_screen)} |")
    print(f"| start → models ready (embedder + LLM loaded) | {len(ready)} | {fmt(ready)} |")
    print(f"| keypress → screen, idle | {len(idle)} | {fmt(idle)} |")
    print(f"| Enter → first answer phase on screen | {len(phase)} | {fmt(phase)} |")
    print(f"| Enter → answer done | {len(answered)} | {fmt(answered)} |")
    print(f"| Ctrl+Q → process exited | {len(quit_s)} | {fmt(quit_s)} |")
    note = "" if still_running else " (run finished during the test)"
    print(f"| keypress → screen, indexing {args.files} files{note} | {len(busy)} | {fmt(busy)} |")
    print(f"| index event → progress shown (in-process) | {len(lags)} | {fmt(lags)} |")


if __name__ == "__main__":
    main()
