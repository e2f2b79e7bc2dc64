"""The facade: the one object the CLI, the TUI and the tests drive.

It owns settings, keeps loaded models (docchat/model_cache.py: one policy for every kind),
opens collections and delegates each job to the stage that does it. Nothing here imports a
heavy library at module level; models load on first use (or in a TUI worker through
`embedder()`).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docchat.config import EmbedSettings, SearchSettings, Settings
from docchat.embed.base import Embedder
from docchat.errors import CollectionError, ConfigError, DocchatError, StoreWriteError
from docchat.model_cache import ModelCache
from docchat.store.catalog import list_collections, remove_collection
from docchat.store.collection import Collection
from docchat.types import (
    Answer,
    CheckReport,
    CollectionInfo,
    FileCounts,
    FilesReport,
    FileState,
    Hit,
    IndexEvent,
    MessageRow,
    SessionRow,
    WatchEvent,
)

if TYPE_CHECKING:
    from docchat.generate.base import Generator
    from docchat.generate.pipeline import VerifyFactory
    from docchat.indexing import IndexRun
    from docchat.passages import PassageText
    from docchat.retrieve.rerank import Reranker
    from docchat.types import LocalModel


def _told(hits: list[Hit], hear: Callable[[int], None] | None) -> list[Hit]:
    if hear is not None:
        hear(len(hits))
    return hits


def load_plugins(modules: Sequence[str]) -> None:
    """Import plugin modules; they register backends on import, as the built-ins do."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise ConfigError(f"config error: plugins: cannot import {name!r}: {e}") from None


class Docchat:
    def __init__(self, settings: Settings, config_file: str | None = None) -> None:
        self.settings = settings
        self.config_file = config_file  # where save_settings writes (None: the default file)
        self._embedders: ModelCache[Embedder] = ModelCache()
        self._rerankers: ModelCache[Reranker] = ModelCache()
        self._collections: dict[str, Collection] = {}
        self._lock = threading.RLock()
        # The watches this process runs, by collection: (their stop, set once they ended).
        self._watches: dict[str, tuple[threading.Event, threading.Event]] = {}
        load_plugins(settings.plugins)

    def save_settings(self, values: Mapping[tuple[str, str], object]) -> Path:
        """Write (section, key) = value to the config file and apply them here; returns the
        file. A value the settings refuse is a ConfigError and nothing is written or applied
        (all are checked first, then the file is replaced once)."""
        from docchat.config import config_path, save_settings

        path = config_path(self.config_file)
        save_settings(path, values)
        for (section, key), value in values.items():
            setattr(getattr(self.settings, section), key, value)
        return path

    # ------------------------------------------------------------ models

    def embedder(self, model: str | None = None, precision: str | None = None) -> Embedder:
        """The embedder for `model` (default: the configured one) at `precision` (default:
        embed.precision, "auto" resolved for this machine), loaded once and reused."""
        from docchat.embed.precision import resolve_precision
        from docchat.embed.registry import create_embedder

        cfg = self.settings.embed
        precision = precision or resolve_precision(cfg.precision, device=cfg.device)
        if (model and model != cfg.model) or precision != cfg.precision:
            cfg = EmbedSettings.model_validate(
                {**cfg.model_dump(), "model": model or cfg.model, "precision": precision}
            )
        return self._embedders.get(
            (cfg.backend, cfg.model, cfg.device, cfg.precision), lambda: create_embedder(cfg)
        )

    def reranker(self, model: str) -> Reranker:
        """The cross-encoder `model` (search.rerank_model), loaded once and reused."""
        from docchat.retrieve.rerank import CrossEncoderReranker

        return self._rerankers.get(model, lambda: CrossEncoderReranker(model))

    def embedder_for(self, coll: Collection) -> Embedder | None:
        """What embeds queries for a collection: the model it was embedded with, at its
        precision's family. For the built-in backend that is the light ONNX query encoder
        (embed/registry.py: no torch in a one-off search); plugins embed queries themselves."""
        from docchat.embed.precision import PRECISIONS, family
        from docchat.embed.registry import BUILT_IN, create_query_embedder

        model = coll.meta("model")
        if not model:
            return None
        cfg = self.settings.embed
        if cfg.backend != BUILT_IN:
            return self.embedder(model)
        precision = coll.meta("embed_precision") or "fp32"
        # A model of the same family that this process loaded to index (the app indexes,
        # then searches) makes the same vectors: no second model, no export to wait for.
        for p in PRECISIONS:
            indexing = self._embedders.loaded((cfg.backend, model, cfg.device, p))
            if family(p) == family(precision) and getattr(indexing, "is_loaded", False):
                assert indexing is not None
                return indexing
        cfg = EmbedSettings.model_validate({**cfg.model_dump(), "model": model})
        return self._embedders.get(
            ("query", cfg.backend, model, cfg.device, family(precision)),
            lambda: create_query_embedder(cfg, precision),
        )

    # ------------------------------------------------------------ collections

    def open_collection(self, name: str, *, create: bool = False) -> Collection:
        with self._lock:
            coll = self._collections.get(name)
            if coll is None or not coll.exists:  # removed or renamed by another process
                coll = Collection.open(
                    name, self.settings.data_dir, create=create, store=self.settings.store
                )
                self._collections[name] = coll
            return coll

    def collection_names(self) -> list[str]:
        return list_collections(self.settings.data_dir)

    def collections(self) -> list[CollectionInfo]:
        return [self.open_collection(n).info() for n in self.collection_names()]

    def collections_readable(self) -> tuple[list[CollectionInfo], list[str]]:
        """Every collection that can be read, and a line for each that cannot: one damaged
        collection does not hide the others."""
        infos: list[CollectionInfo] = []
        problems: list[str] = []
        for name in self.collection_names():
            try:
                infos.append(self.open_collection(name).info())
            except DocchatError as e:
                problems.append(str(e))
        return infos, problems

    def check(self, name: str) -> CheckReport:
        from docchat.store.integrity import check_collection

        return check_collection(self.open_collection(name))

    def rebuild(self, name: str) -> int:
        """Refill the collection's vector store from SQLite; returns the vector count."""
        from docchat.store.writer import writing

        coll = self.open_collection(name)
        with writing(coll) as writer:
            return writer.rebuild()

    def migrate(
        self, name: str, to: str, overrides: Mapping[str, object] | None = None
    ) -> Iterator[tuple[int, int] | str]:
        """Move a collection's vectors to backend `to` (configured by the [store] settings,
        plus `overrides` such as milvus_uri), from SQLite; yields (done, total), and a line
        for anything left behind. Stopped half way, running it again resumes."""
        from docchat.config import StoreSettings
        from docchat.store.transfer import same_destination
        from docchat.store.vector_backends import new_config
        from docchat.store.writer import writing

        store = StoreSettings.model_validate(
            {**self.settings.store.model_dump(), **(overrides or {})}
        )
        target = new_config(store, to)
        coll = self.open_collection(name)
        if same_destination(coll.vector_config(), target):
            raise CollectionError(
                f"collection '{name}' already keeps its vectors in {to} with these settings; "
                f"to refill them from SQLite: docchat collections rebuild {name}"
            )
        with writing(coll) as writer:
            yield from writer.migrate(target)

    def remove(self, name: str) -> list[str]:
        """Delete a collection: its folder and, on a Milvus server, its vector collection;
        returns a line for anything that could not be deleted."""
        from docchat.store.transfer import drop_outside_vectors

        with self._lock:
            coll = self._collections.pop(name, None)
            if coll:
                coll.close()

        def drop_vectors() -> list[str]:
            doomed = Collection.open(name, self.settings.data_dir, store=self.settings.store)
            try:
                return drop_outside_vectors(doomed)
            finally:
                doomed.close()

        return remove_collection(name, self.settings.data_dir, before=drop_vectors)

    def close(self) -> None:
        """Close every open collection (and the connections of their vector stores)."""
        with self._lock:
            for coll in self._collections.values():
                coll.close()
            self._collections.clear()

    def rename_collection(self, old: str, new: str) -> None:
        """Rename a collection (under its writer lock) if `new` is free."""
        from docchat.store.catalog import rename_collection

        with self._lock:
            coll = self._collections.pop(old, None)
            if coll:
                coll.close()
            rename_collection(old, new, self.settings.data_dir)

    def reembed(self, name: str, model: str) -> Iterator[tuple[int, int]]:
        """Re-embed every chunk with another model; yields (done, total) as it goes."""
        from docchat.reembed import reembed
        from docchat.store.writer import writing

        coll = self.open_collection(name)
        with writing(coll) as writer:
            yield from reembed(writer, self.embedder(model), self.settings)

    # ------------------------------------------------------------ the jobs

    def index(
        self,
        name: str,
        paths: Sequence[str | Path],
        cancel: threading.Event | None = None,
        *,
        retry_failed: bool = False,
        reread: bool = False,
    ) -> Iterator[IndexEvent]:
        """Index folders/files into a collection, yielding progress; the last event is the
        IndexSummary. Setting `cancel` stops the run cleanly (it still checkpoints).
        `retry_failed`: read again files that failed before although they did not change;
        `reread`: read every file again (only chunks that come out different change)."""
        roots = self._roots(paths)
        self._end_watch(name)  # the app's watch of this collection hands over its lock
        with self._index_run(name, cancel, retry_failed=retry_failed, reread=reread) as (
            run,
            _,
        ):
            yield from run.run(roots)

    def watch(
        self,
        name: str,
        paths: Sequence[str | Path] = (),
        stop: threading.Event | None = None,
        *,
        rescan: float | None = None,
    ) -> Iterator[WatchEvent]:
        """Index folders/files into a collection (none given: the folders it was indexed
        from), then follow their changes until `stop` is set, holding the writer lock all
        along (docchat/watching.py). Yields the index events of the first run and of each
        batch of changes, and WatchStatus events in between. `rescan`: also walk the folders
        every so many seconds (default: index.rescan_seconds; 0 = only when file events are
        lost or unavailable)."""
        from docchat.watching import follow

        if not paths:
            paths = self.folders(name)
        roots = self._roots(paths)
        every = self.settings.index.rescan_seconds if rescan is None else rescan
        stop = stop or threading.Event()
        done = threading.Event()
        with self._lock:
            self._watches[name] = (stop, done)
        try:
            with self._index_run(name, stop) as (run, coll):
                yield from follow(run, roots, stop, rescan=every, ignore=coll.folder)
        finally:
            done.set()
            with self._lock:
                if self._watches.get(name) == (stop, done):
                    del self._watches[name]

    def watching(self, name: str) -> bool:
        """Whether this process is watching the collection now."""
        with self._lock:
            return name in self._watches

    def _end_watch(self, name: str, seconds: float = 60.0) -> None:
        """Stop this process's watch of a collection, if any, and wait until it let go of
        the writer lock (it finishes its batch first)."""
        with self._lock:
            entry = self._watches.get(name)
        if entry is not None:
            entry[0].set()
            entry[1].wait(seconds)

    def folders(self, name: str) -> list[str]:
        """The folders (and files) a collection remembers being indexed from."""
        folders = self.open_collection(name).folders() if name in self.collection_names() else []
        if not folders:
            raise CollectionError(
                f"collection '{name}' has no folders to follow yet; "
                f"name them once: docchat watch FOLDER... -c {name}"
            )
        return folders

    @staticmethod
    def _roots(paths: Sequence[str | Path]) -> list[Path]:
        roots = [Path(p).expanduser().resolve() for p in paths]
        for root in roots:
            if not root.exists():
                raise DocchatError(f"no such file or folder: {root}")
            if not os.access(root, os.R_OK | (os.X_OK if root.is_dir() else 0)):
                raise DocchatError(f"cannot read {root}: permission denied")
        return roots

    @contextlib.contextmanager
    def _index_run(
        self,
        name: str,
        cancel: threading.Event | None,
        *,
        retry_failed: bool = False,
        reread: bool = False,
    ) -> Iterator[tuple[IndexRun, Collection]]:
        """An IndexRun over the collection's writer (lock held while inside)."""
        from docchat.embed.precision import resolve_precision
        from docchat.indexing import IndexRun
        from docchat.store.catalog import discard_collection
        from docchat.store.writer import writing

        # The writer gets a Collection of its own (its own connections), so searches through
        # the shared one never see a half-written state.
        store = self.settings.store
        new = name not in self.collection_names()
        coll = Collection.open(name, self.settings.data_dir, create=True, store=store)
        try:
            # A model or vector backend the user asked for (flag, env, config file) must
            # match the collection's; otherwise an existing collection keeps its own.
            embed = self.settings.embed
            asked = embed.model if "model" in embed.model_fields_set else None
            model = asked or coll.meta("model") or embed.model
            backend = store.vector_backend if "vector_backend" in store.model_fields_set else None
            precision = resolve_precision(
                embed.precision, coll.meta("embed_precision"), device=embed.device
            )
            with writing(
                coll,
                model=model,  # checked before any model is loaded
                precision=precision,
                backend=backend,
                checkpoint_seconds=self.settings.index.checkpoint_seconds,
            ) as writer:
                yield (
                    IndexRun(
                        writer,
                        self.embedder(model, precision),
                        self.settings,
                        cancel,
                        retry_failed=retry_failed,
                        reread=reread,
                    ),
                    coll,
                )
        except StoreWriteError:
            # A collection this run was making that got nothing written (a full disk) is
            # not left behind as an empty one that `list` keeps showing.
            if new and not coll.read_only_because:
                empty = True
                with contextlib.suppress(Exception):
                    empty = not coll.document_paths()
                if empty:
                    coll.close()
                    discard_collection(name, self.settings.data_dir)
            raise
        finally:
            coll.close()

    def files(self, name: str, states: Sequence[FileState] = ()) -> FilesReport:
        """The collection's ledger: its folders, every file it has seen (or those in
        `states`) with what happened to it and why, and the counts by state."""
        coll = self.open_collection(name)
        return FilesReport(
            collection=name,
            folders=coll.folders(),
            files=coll.file_records(states),
            counts=coll.file_counts(),
        )

    def file_counts(self, name: str) -> FileCounts:
        """How many of the collection's files are searchable, skipped, failed."""
        return self.open_collection(name).file_counts()

    def search(
        self,
        collection: str,
        query: str,
        k: int | None = None,
        mode: str | None = None,
        *,
        settings: SearchSettings | None = None,
    ) -> list[Hit]:
        """The best `k` passages for `query`; `settings` replaces the configured [search]
        settings for this one query (docchat eval compares variants this way)."""
        from docchat.retrieve.search import search

        if not query.strip():
            raise DocchatError("empty query")
        s = settings or self.settings.search
        coll = self.open_collection(collection)
        mode = mode or s.mode
        embedder = self.embedder_for(coll) if mode != "keyword" else None
        if embedder is None and mode == "dense":
            raise CollectionError(f"collection '{collection}' has nothing indexed yet")
        reranker = self.reranker(s.rerank_model) if s.rerank_model else None
        return search(coll, embedder, query, k or s.k, mode, s, reranker=reranker)

    # ------------------------------------------------------------ answers

    def generator(self, **overrides: Any) -> Generator:
        """The chat model (generate settings, plus `overrides`), loaded once per process and
        reused; the TUI calls this in a worker to warm the model up."""
        from docchat.generate.discovery import use_model_dirs
        from docchat.generate.registry import get_generator, with_overrides

        settings = with_overrides(self.settings.generate, overrides)
        use_model_dirs(settings.model_dirs)  # so `--model NAME` also finds models there
        return get_generator(settings)

    def ask(
        self,
        collection: str,
        question: str,
        *,
        session: str | int | None = None,
        cancel: threading.Event | None = None,
        k: int | None = None,
        on_query: Callable[[str], None] | None = None,
        on_sources: Callable[[int], None] | None = None,
        **generation_overrides: Any,
    ) -> Iterator[str | Answer]:
        """Yield the answer's text pieces, then the Answer. `session`: None (a one-off, not
        stored), "new", "last" or an id — history comes from, and the exchange goes to, the
        collection; setting `cancel` stops the model and keeps the partial answer;
        `on_query` hears the rewritten query of a follow-up before search, `on_sources` how
        many passages the search found (before the model reads them)."""
        from docchat.generate.base import GenerationOptions
        from docchat.generate.models import display_name
        from docchat.generate.pipeline import abstain_threshold, answer_stream
        from docchat.generate.prompt import Turn
        from docchat.generate.registry import with_overrides

        if not question.strip():
            raise DocchatError("empty question")
        question = question.strip()
        cfg = with_overrides(self.settings.generate, generation_overrides)
        coll = self.open_collection(collection)
        session_id = coll.sessions.find(session) if session is not None else None
        history = coll.sessions.turns(session_id) if session_id is not None else []
        embedder = None
        if self.settings.search.mode != "keyword":
            embedder = self.embedder_for(coll)  # load it now: retrieval_ms times search alone
        answer: Answer | None = None
        for item in answer_stream(
            question,
            history=[Turn(q, a.text) for q, a in history],
            search=lambda query: _told(self.search(collection, query, k), on_sources),
            generator=lambda: self.generator(**generation_overrides),
            options=GenerationOptions.from_settings(cfg),
            abstain_below=abstain_threshold(cfg.abstain_below, coll.meta("model")),
            cancel=cancel,
            on_query=on_query,
            model_name=display_name(cfg.model),
            verify=self._verifier(embedder),
        ):
            if isinstance(item, Answer):
                answer = item
            else:
                yield item
        assert answer is not None
        if session is not None:
            if session_id is None:  # created only now, so a failed first ask leaves none
                session_id = coll.sessions.create(question)
            coll.sessions.add_exchange(session_id, answer)
            answer = replace(answer, session=session_id)
        yield answer

    def _verifier(self, embedder: Embedder | None) -> VerifyFactory | None:
        """How answers are checked (answer.verify): claims against the offered sources, with
        the collection's embedder (lexical signals alone in keyword-only mode)."""
        if not self.settings.answer.verify:
            return None
        from docchat.claims.verify import Check

        mode = self.settings.answer.unsupported
        return lambda question, sources: Check(embedder, question, sources, mode)

    # ------------------------------------------------------------ conversations

    def sessions(self, collection: str) -> list[SessionRow]:
        """The collection's chat sessions, most recently used first."""
        return self.open_collection(collection).sessions.recent()

    def session(self, collection: str, session: int) -> SessionRow:
        row = self.open_collection(collection).sessions.get(session)
        if row is None:
            raise CollectionError(
                f"no session {session} in collection '{collection}' "
                f"(see: docchat sessions list -c {collection})"
            )
        return row

    def session_messages(self, collection: str, session: int) -> list[MessageRow]:
        """A session's messages, oldest first."""
        self.session(collection, session)
        return self.open_collection(collection).sessions.messages(session)

    def session_turns(self, collection: str, session: int) -> list[tuple[str, Answer]]:
        """A session's (question, Answer) pairs, oldest first, to show it again."""
        self.session(collection, session)
        return self.open_collection(collection).sessions.turns(session)

    def delete_session(self, collection: str, session: int) -> None:
        self.session(collection, session)
        self.open_collection(collection).sessions.delete(session)

    def export_session(self, collection: str, session: int) -> str:
        """A session as Markdown with its citations as footnotes."""
        from docchat.export import to_markdown

        row = self.session(collection, session)
        return to_markdown(row, self.session_messages(collection, session), collection)

    def generator_backends(self) -> list[str]:
        """Names of the registered generator backends (built-ins and plugins)."""
        from docchat.generate.registry import generator_names

        return generator_names()

    def open_passage(
        self,
        collection: str,
        path: str,
        line_start: int,
        line_end: int | None = None,
        page: int | None = None,
        context: int = 3,
    ) -> PassageText:
        """The exact lines of a passage of one of the collection's documents, with context."""
        from docchat.passages import open_passage

        coll = self.open_collection(collection)
        return open_passage(coll, path, line_start, line_end, page, context)

    def extracted_text(self, collection: str, path: str, page: int | None = None) -> str | None:
        """The text indexed from a document (one page of a PDF), whose lines a passage's line
        numbers count; None for plain-text files, whose own lines are those lines."""
        from docchat.passages import extracted_text

        return extracted_text(self.open_collection(collection), path, page)

    # ------------------------------------------------------------ models on this machine

    def local_models(self, **generation_overrides: Any) -> list[LocalModel]:
        """Chat models runnable without downloading (generate/discovery.py): the bundled one,
        generate.model_dirs, the HF cache, Ollama, LM Studio; each judged against this
        machine's RAM/VRAM for generate.n_ctx and n_gpu_layers (overridable)."""
        from docchat.generate.discovery import local_models
        from docchat.generate.registry import with_overrides

        cfg = with_overrides(self.settings.generate, generation_overrides)
        return local_models(cfg.model_dirs, n_ctx=cfg.n_ctx, n_gpu_layers=cfg.n_gpu_layers)

    def pull_model(
        self, spec: str, on_status: Callable[[str], None] | None = None
    ) -> tuple[LocalModel, int]:
        """Download `owner/repo[:FILE|:QUANT]` from the HF hub into its cache (resuming a
        partial download); returns the model as listed and the bytes fetched now."""
        from docchat.generate.discovery import Candidate, describe, file_size
        from docchat.generate.fit import machine_memory
        from docchat.generate.pull import pull

        pulled = pull(spec, on_status=on_status)
        cfg = self.settings.generate
        candidate = Candidate(pulled.name, "huggingface", pulled.path, file_size(pulled.path))
        model = describe(
            candidate, n_ctx=cfg.n_ctx, n_gpu_layers=cfg.n_gpu_layers, memory=machine_memory()
        )
        if model is None:
            raise DocchatError(f"{pulled.name} was downloaded but is not a chat model")
        return model, pulled.downloaded_bytes
