"""A plugin for the hostile-corpus test: records each file's chunking work and time.

Loaded into the real `docchat index` process (DOCCHAT_PLUGINS=fakes,hostile.probe); it wraps
the indexer's two steps without changing what they do, and appends one JSON line per file to
$HOSTILE_PROBE_OUT: the path, seconds spent examining it, and the chunker's work counters.
At exit it appends the process's peak RSS (VmHWM), measured from inside: what the parent could
read (wait4's ru_maxrss) also counts the pytest worker's pages copied at fork, before exec.
"""

from __future__ import annotations

import atexit
import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from docchat import indexing
from docchat.ingest.prepare import prepare_chunks

_examine = indexing.IndexRun._examine
_prepare = prepare_chunks
_current: dict[str, Any] = {}


def _record(entry: dict[str, Any]) -> None:
    out = os.environ.get("HOSTILE_PROBE_OUT")
    if out:
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=True) + "\n")


def examine(self: indexing.IndexRun, path: Path, pending: list[Any]) -> Any:
    _current.clear()
    started = time.perf_counter()
    try:
        return _examine(self, path, pending)
    finally:
        entry = {"path": os.fsdecode(path), "seconds": time.perf_counter() - started}
        _record(entry | _current)


def prepare(*args: Any, **kwargs: Any) -> Any:
    result = _prepare(*args, **kwargs)
    _current.update(asdict(result.stats), chunks=len(result.spans))
    return result


indexing.IndexRun._examine = examine  # type: ignore[method-assign]
setattr(indexing, "prepare_chunks", prepare)  # the name indexing.py calls  # noqa: B010


def _peak_rss() -> None:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            _record({"peak_rss_kib": int(line.split()[1])})


atexit.register(_peak_rss)
