"""Reading ahead: the next files an index run will read are parsed on a worker thread while
the run embeds, so parsing (trafilatura, pypdf: ~15 % of a run) no longer waits for the
model, nor the model for it. The index run chunks them there too when the embedder counts
tokens with a tokenizer of its own (`Embedder.counts_tokens_apart`; a Hugging Face tokenizer
the model also uses cannot serve two threads): else chunking stays on the run's thread.

A file that was not read ahead (too big to read beside another, or on a one-core machine) is
still read off the run's thread (`now`), on a thread of its own so that it never waits
behind the read-ahead queue: the run waits for it, but can report OCR progress and stop
meanwhile. That thread is a daemon: a big file's parse that a stopped run abandons must not
keep the process from exiting (a ThreadPoolExecutor's workers are joined at exit)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


class ReadAhead(Generic[T]):
    """At most `depth` reads queued or done and not yet taken; each path asked once."""

    def __init__(self, read: Callable[[Path], T], depth: int) -> None:
        self._read = read
        self.depth = depth
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="docchat-read")
        self._futures: dict[Path, Future[T]] = {}
        self._asked: set[Path] = set()

    def room(self) -> bool:
        return len(self._futures) < self.depth

    def now(self, path: Path) -> Future[T]:
        """Read `path` at once, beside (not after) the reads ahead."""
        future: Future[T] = Future()

        def read() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(self._read(path))
            except BaseException as e:  # handed to whoever waits, as an executor does
                future.set_exception(e)

        threading.Thread(target=read, name="docchat-read-now", daemon=True).start()
        return future

    def asked(self, path: Path) -> bool:
        return path in self._asked

    def want(self, path: Path, needed: bool) -> None:
        """Remember that `path` was considered; read it ahead if `needed`."""
        self._asked.add(path)
        if needed:
            self._futures[path] = self._pool.submit(self._read, path)

    def busy(self, path: Path) -> bool:
        """Whether `path` is being read ahead (or waits to be) and is not read yet."""
        future = self._futures.get(path)
        return future is not None and not future.done()

    def take(self, path: Path) -> Future[T] | None:
        """The read of `path` if it was started ahead (its result or its exception)."""
        return self._futures.pop(path, None)

    def discard(self, path: Path) -> None:
        """Forget the read of `path` (taken, or not needed after all)."""
        future = self._futures.pop(path, None)
        if future is not None:
            future.cancel()

    def close(self) -> None:
        """Drop reads nobody will take (a cancelled run); a read in progress finishes."""
        for future in self._futures.values():
            future.cancel()
        self._futures.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
