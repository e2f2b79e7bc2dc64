"""An exact in-memory copy of FTS5's BM25 for warm processes (TUI, MCP server, watch, eval).

FTS5's bm25() scores every row that shares a term with the query: at 100k chunks a 12-word
query matches ~44k rows and takes ~45 ms (benchmarks/README.md). This keeps, per collection,
the same statistics FTS5 scores with — term -> chunk postings with the term's frequency in
each column, each row's token count, the row count and average length — read from FTS5's
own index (the `fts5vocab` instance table and the docsize/averages records), so there is no
second tokeniser to drift from SQLite's. Scoring is fts5_aux.c's formula, term by term in
query order, in float64: the scores are FTS5's scores, the ranking is FTS5's ranking.

It never serves stale results: it is keyed to FTS5's own averages and structure records
(the structure record's write counter changes with every committed write to the index), read
in the same transaction as the postings, and compared on every query; a missing, stale or
still-building copy answers None and the caller asks FTS5. It is built off the query path,
on a thread with its own connection, once a collection object has served `warm_after`
keyword queries (a one-off CLI search never pays for it), and only when the index is small
enough (`max_postings`).

retrieve/keyword.py decides when to use it: unfiltered free-text queries only (a document,
page or phrase restriction goes to FTS5, which applies it).
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

K1, B = 1.2, 0.75  # fts5_aux.c's constants
TOKENIZE = "porter unicode61"  # the chunks_fts tokenizer (store/migrations.py, migration 1)
# Measured: 100k chunks of ~120 tokens = 12.1M token instances -> 9.2M postings, 57 MiB
# (int32 row + uint8 frequencies; ~5 bytes an instance). Past this many instances no copy is
# built: 150M ~ 1.2M such chunks, ~0.7 GB (their 384-d vectors alone take 1.8 GB).
MAX_INSTANCES = 150_000_000
_AVERAGES_ID, _STRUCTURE_ID = 1, 10  # FTS5 %_data record ids
_BATCH = 1_000_000  # token instances parsed per numpy batch while building


def _varints(blob: bytes) -> list[int]:
    """SQLite's big-endian varints, as FTS5 writes its averages and docsize records."""
    out: list[int] = []
    value, i = 0, 0
    n = len(blob)
    while i < n:
        byte = blob[i]
        i += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            out.append(value)
            value = 0
    return out


def fts_version(db: sqlite3.Connection) -> bytes:
    """FTS5's averages + structure records: they change with every committed index write."""
    rows = db.execute(
        "SELECT block FROM chunks_fts_data WHERE id IN (?, ?) ORDER BY id",
        (_AVERAGES_ID, _STRUCTURE_ID),
    ).fetchall()
    return b"\0".join(bytes(r[0]) for r in rows)


@dataclass(frozen=True)
class Postings:
    """One collection's BM25 statistics as of `version` (see the module docstring)."""

    version: bytes
    ids: np.ndarray  # int64 chunk ids, ascending; postings refer to positions in it
    norm: np.ndarray  # float64 per row: k1 * (1 - b + b * D / avgdl)
    nrow: int
    vocab: dict[str, int]  # FTS5 token -> term index
    starts: np.ndarray  # int64, len(vocab) + 1: term t's postings are starts[t]:starts[t+1]
    rows: np.ndarray  # int32 row positions, ascending within a term
    tf_text: np.ndarray  # the token's count in the text column
    tf_heading: np.ndarray  # ... and in the heading column

    @property
    def nbytes(self) -> int:
        arrays = (self.ids, self.norm, self.starts, self.rows, self.tf_text, self.tf_heading)
        # dict: ~100 bytes an entry (key str + slot)
        return sum(a.nbytes for a in arrays) + 100 * len(self.vocab)

    def _term(self, token: str, heading_weight: float) -> tuple[float, np.ndarray, np.ndarray]:
        """(idf, row positions, weighted frequency f) as fts5_aux.c computes them."""
        t = self.vocab.get(token)
        if t is None:
            return 0.0, self.rows[:0], np.zeros(0)
        s, e = int(self.starts[t]), int(self.starts[t + 1])
        hits = e - s
        idf = math.log((self.nrow - hits + 0.5) / (hits + 0.5))
        if idf <= 0.0:
            idf = 1e-6
        f = self.tf_text[s:e].astype(np.float64)  # 1.0 per text instance: exact
        heading = self.tf_heading[s:e]
        if heading_weight == 1.0:
            f += heading
        elif heading_weight != 0.0:
            # FTS5 adds the heading's weight once per instance, after the text's (instances
            # come column by column); repeat that addition rather than multiply, bit for bit.
            for n in range(int(heading.max(initial=0))):
                f[heading > n] += heading_weight
        return idf, self.rows[s:e], f

    def search(
        self, tokens: Sequence[str], k: int, heading_weight: float = 1.0
    ) -> list[tuple[int, float, float]]:
        """(chunk id, BM25 score, BM25 of the text column alone) best first, for an OR of
        single-token phrases, as `-bm25(chunks_fts, 1.0, heading_weight)` ranks them
        (ties: lower id first)."""
        n = len(self.ids)
        if k <= 0 or not tokens or n == 0:
            return []
        score = np.zeros(n)
        matched = np.zeros(n, dtype=bool)
        k2 = K1 + 1.0
        for token in tokens:  # phrase order, as FTS5 sums them
            idf, rows, f = self._term(token, heading_weight)
            if len(rows):
                score[rows] += idf * ((f * k2) / (f + self.norm[rows]))
                matched[rows] = True
        found = np.flatnonzero(matched)
        if len(found) == 0:
            return []
        values = score[found]
        if len(found) > k:
            kth = np.partition(values, len(values) - k)[len(values) - k]
            above = np.flatnonzero(values > kth)
            ties = np.flatnonzero(values == kth)[: k - len(above)]  # lowest ids first
            keep = np.concatenate([above, ties])
            found, values = found[keep], values[keep]
        order = np.lexsort((found, -values))
        top, values = found[order], values[order]
        text = np.zeros(len(top))
        for token in tokens:
            idf, rows, f = self._term(token, 0.0)
            if not len(rows):
                continue
            at = np.minimum(np.searchsorted(rows, top), len(rows) - 1)
            has = rows[at] == top
            ft = f[at[has]]
            text[has] += idf * ((ft * k2) / (ft + self.norm[top[has]]))
        ids = self.ids[top]
        return [
            (int(cid), float(s), float(t))
            for cid, s, t in zip(ids.tolist(), values.tolist(), text.tolist(), strict=True)
        ]


def build(db: sqlite3.Connection, max_instances: int = MAX_INSTANCES) -> Postings | None:
    """Read the postings from FTS5's index in one read transaction; None when the collection
    is too big for `max_instances` or its FTS table is not the one this copies."""
    schema = db.execute("SELECT sql FROM sqlite_master WHERE name = 'chunks_fts'").fetchone()
    if not schema or f"tokenize='{TOKENIZE}'" not in schema[0]:
        return None
    for kind in ("instance", "row"):
        db.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_fts_{kind}s "
            f"USING fts5vocab(main, chunks_fts, {kind})"
        )
    db.execute("BEGIN")
    try:
        return _read(db, max_instances)
    finally:
        db.execute("COMMIT")


def _read(db: sqlite3.Connection, max_instances: int) -> Postings | None:
    version = fts_version(db)
    averages = db.execute(
        "SELECT block FROM chunks_fts_data WHERE id = ?", (_AVERAGES_ID,)
    ).fetchone()
    if averages is None:
        return None
    # Empty until the first row: then there is nothing to score either.
    nrow, *totals = _varints(bytes(averages[0])) or [0]
    if sum(totals) > max_instances:
        return None
    avgdl = float(sum(totals)) / float(nrow) if nrow else 1.0
    ids_list: list[int] = []
    sizes: list[int] = []
    for cid, blob in db.execute("SELECT id, sz FROM chunks_fts_docsize ORDER BY id"):
        ids_list.append(cid)
        sizes.append(sum(_varints(bytes(blob))))
    ids = np.asarray(ids_list, dtype=np.int64)
    if len(ids) and (ids[0] < 0 or ids[-1] >= 2**31):
        return None  # row ids past int32: not worth a special case
    size = np.asarray(sizes, dtype=np.float64)
    norm = K1 * (1 - B + B * size / avgdl)
    # The exact number of (term, row) postings, so the arrays are allocated once at their
    # final size: concatenating per-batch parts peaked at ~6x the copy at 1M chunks.
    total = db.execute("SELECT coalesce(sum(doc), 0) FROM temp.chunks_fts_rows").fetchone()[0]
    rows_out = np.empty(total, dtype=np.int32)
    text_out = np.empty(total, dtype=np.uint16)
    heading_out = np.empty(total, dtype=np.uint16)
    filled = 0
    vocab: dict[str, int] = {}
    per_term: list[np.ndarray] = []
    texts: list[str] = []
    counts: list[int] = []
    pending = 0

    def flush() -> None:
        nonlocal pending, filled
        if not texts:
            return
        first = len(vocab) - len(texts)
        keys = np.fromstring(",".join(texts), dtype=np.int64, sep=",")
        term = np.repeat(np.arange(first, len(vocab), dtype=np.int64), counts)
        rows, text_tf, heading_tf, term_of = _postings((term << 33) | keys, ids)
        end = filled + len(rows)
        if end > total or max(text_tf.max(initial=0), heading_tf.max(initial=0)) >= 2**16:
            raise RuntimeError("FTS5 postings do not add up (or a count past 65535)")
        rows_out[filled:end] = rows
        text_out[filled:end] = text_tf
        heading_out[filled:end] = heading_tf
        filled = end
        per_term.append(np.bincount(term_of - first, minlength=len(texts)))
        texts.clear()
        counts.clear()
        pending = 0

    sql = (
        "SELECT term, count(*), group_concat(doc * 2 + (col = 'heading')) "
        "FROM temp.chunks_fts_instances GROUP BY term"
    )
    for token, count, docs in db.execute(sql):
        vocab[token] = len(vocab)
        texts.append(docs)
        counts.append(count)
        pending += count
        if pending >= _BATCH:
            flush()
    flush()
    if filled != total:
        raise RuntimeError("FTS5 postings do not add up")
    lengths = np.concatenate(per_term) if per_term else np.zeros(0, dtype=np.int64)
    starts = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    return Postings(
        version=version,
        ids=ids,
        norm=norm,
        nrow=int(nrow),
        vocab=vocab,
        starts=starts,
        rows=rows_out,
        tf_text=_narrow(text_out),
        tf_heading=_narrow(heading_out),
    )


def _narrow(a: np.ndarray) -> np.ndarray:
    """uint16 -> uint8 when every count fits (they do for chunk-sized rows)."""
    return a.astype(np.uint8) if int(a.max(initial=0)) < 2**8 else a


def _postings(
    keys: np.ndarray, ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Token instances as (term << 33 | row id << 1 | is heading), sorted (fts5vocab's order)
    -> per (term, row): row position, text count, heading count, term."""
    n = len(keys)
    new_key = np.ones(n, dtype=bool)
    new_key[1:] = keys[1:] != keys[:-1]
    first = np.flatnonzero(new_key)
    count = np.diff(np.append(first, n))
    unique = keys[first]
    pair = unique >> 1
    new_pair = np.ones(len(pair), dtype=bool)
    new_pair[1:] = pair[1:] != pair[:-1]
    index = np.cumsum(new_pair) - 1
    pairs = pair[new_pair]
    text_tf = np.zeros(len(pairs), dtype=np.int64)
    heading_tf = np.zeros(len(pairs), dtype=np.int64)
    heading = (unique & 1).astype(bool)
    text_tf[index[~heading]] = count[~heading]
    heading_tf[index[heading]] = count[heading]
    row_id = pairs & (2**32 - 1)
    rows = np.searchsorted(ids, row_id)
    if len(rows) and (rows.max() >= len(ids) or not np.array_equal(ids[rows], row_id)):
        raise RuntimeError("FTS5 postings name a row without a docsize record")
    return rows.astype(np.int32), text_tf, heading_tf, pairs >> 32


def _trim() -> None:
    """Hand the build's freed temporaries back to the OS: glibc keeps them otherwise (RSS
    stayed ~10x the copy's size on a 5k-chunk collection; 45 vs 104 MB after this)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


class QueryTokens:
    """Query terms as FTS5 tokenises a quoted phrase (an in-memory FTS5 table with the same
    tokenizer, so stemming and case/diacritic folding are SQLite's own). Thread-safe."""

    def __init__(self, tokenize: str = TOKENIZE, size: int = 50_000) -> None:
        self._lock = threading.Lock()
        self._size = size
        self._cache: dict[str, tuple[str, ...]] = {}
        self._db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._db.execute(f"CREATE VIRTUAL TABLE q USING fts5(x, tokenize='{tokenize}')")
        self._db.execute("CREATE VIRTUAL TABLE temp.qv USING fts5vocab(main, q, instance)")

    def __call__(self, terms: Sequence[str]) -> list[tuple[str, ...]]:
        with self._lock:
            missing = [t for t in dict.fromkeys(terms) if t not in self._cache]
            if missing:
                if len(self._cache) + len(missing) > self._size:
                    self._cache.clear()
                self._db.executemany(
                    "INSERT INTO q(rowid, x) VALUES (?, ?)", list(enumerate(missing))
                )
                found: dict[int, list[tuple[int, str]]] = {}
                for doc, offset, token in self._db.execute("SELECT doc, offset, term FROM qv"):
                    found.setdefault(doc, []).append((offset, token))
                self._db.execute("DELETE FROM q")
                for n, term in enumerate(missing):
                    self._cache[term] = tuple(tok for _, tok in sorted(found.get(n, [])))
            return [self._cache[t] for t in terms]


_query_tokens: QueryTokens | None = None
_tokens_lock = threading.Lock()


def query_tokens(terms: Sequence[str]) -> list[tuple[str, ...]]:
    global _query_tokens
    with _tokens_lock:
        if _query_tokens is None:
            _query_tokens = QueryTokens()
        tokenizer = _query_tokens
    return tokenizer(terms)


class Accelerator:
    """One collection's in-memory BM25, built lazily on a background thread.

    `search` answers from the copy when it is current (same FTS5 version as `db` sees now),
    else None (the caller asks FTS5) and, once `warm_after` queries have asked, starts a
    build — at most one at a time, never twice for the same index version."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        *,
        warm_after: int = 2,
        max_instances: int = MAX_INSTANCES,
    ) -> None:
        self._connect = connect
        self.warm_after = warm_after
        self.max_instances = max_instances
        self._lock = threading.Lock()
        self._postings: Postings | None = None
        self._asked = 0
        self._thread: threading.Thread | None = None
        self._gave_up: bytes | None = None  # a version that could not be built
        # While an index run keeps writing, every build goes stale at once: after a build
        # that took t seconds the next waits 4t, so rebuilding takes at most ~1/5 of a core.
        self.pause = 4.0
        self._next_build = 0.0
        self._closed = False
        # DOCCHAT_BM25=off: always FTS5 (an A/B switch, and a way out should this misbehave)
        self.enabled = os.environ.get("DOCCHAT_BM25", "on").lower() not in ("off", "0", "no")

    @property
    def postings(self) -> Postings | None:
        return self._postings

    def search(
        self, db: sqlite3.Connection, terms: Sequence[str], k: int, heading_weight: float
    ) -> list[tuple[int, float, float]] | None:
        """FTS5's BM25 top `k` for an OR of `terms` (query words), or None: not built,
        stale, building, or a term FTS5 reads as a multi-token phrase."""
        if not self.enabled or heading_weight < 0:
            return None
        phrases = query_tokens(terms)
        if any(len(p) > 1 for p in phrases):
            return None  # "read_csv" is the phrase "read csv": positions needed
        postings = self.current(db)
        if postings is None:
            return None
        return postings.search([p[0] for p in phrases if p], k, heading_weight)

    def current(self, db: sqlite3.Connection) -> Postings | None:
        """The copy if it matches what `db` sees now; else None, starting a build when due."""
        with self._lock:
            self._asked += 1
            postings = self._postings
        version = fts_version(db)
        if postings is not None and postings.version == version:
            return postings
        with self._lock:
            if self._postings is postings:
                self._postings = None  # stale: let it go before building the next
            due = (
                self._asked >= self.warm_after
                and self._gave_up != version
                and time.monotonic() >= self._next_build
            )
        if due:
            self.start()
        return None

    def start(self) -> None:
        """Build now on a background thread (unless one is running)."""
        with self._lock:
            if self._closed or (self._thread is not None and self._thread.is_alive()):
                return
            self._thread = threading.Thread(target=self._build, name="docchat-bm25", daemon=True)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> Postings | None:
        """Block until a running build ends (the benchmark and tests use it)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self._postings

    def _build(self) -> None:
        try:
            db = self._connect()
        except sqlite3.Error as e:  # pragma: no cover - the collection went away
            log.info("bm25 copy not built: %s", e)
            return
        began = time.monotonic()
        version = b""
        postings: Postings | None = None
        try:
            version = fts_version(db)
            postings = build(db, self.max_instances)
        except Exception as e:  # never kill a search over an optional copy: FTS5 answers
            log.warning("in-memory BM25 not built (FTS5 answers instead): %r", e)
        finally:
            db.close()
            _trim()
            ended = time.monotonic()
            self._next_build = ended + self.pause * (ended - began)
        with self._lock:
            if self._closed:
                return
            if postings is None:
                self._gave_up = version
            else:
                self._postings = postings
                log.debug("bm25 copy: %d rows, %.1f MB", len(postings.ids), postings.nbytes / 1e6)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._postings = None
