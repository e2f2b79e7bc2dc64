"""The main screen: one input (ask, or `/` to search), the results pane and the chat pane."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, ClassVar

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Input, Markdown, Static
from textual.worker import get_current_worker

from docchat.errors import CollectionLocked, DocchatError
from docchat.presentation import claim_line, count, highlight_terms, watch_state
from docchat.types import Answer, WatchStatus
from docchat.ui.guard import describe, guarded
from docchat.ui.items import Passage
from docchat.ui.messages import (
    AnswerDone,
    AnswerPhase,
    AnswerPiece,
    CollectionStats,
    ExportSession,
    OpenSource,
    SearchDone,
    WatchState,
    WorkFailed,
)
from docchat.ui.screens.preview import PreviewScreen
from docchat.ui.widgets.chat import ChatPane, ChatTurn
from docchat.ui.widgets.results import ResultsPane
from docchat.ui.widgets.titlebar import TitleBar

if TYPE_CHECKING:
    from textual.widgets.markdown import MarkdownStream

    from docchat.service import Docchat

log = logging.getLogger("docchat.ui")
NARROW = 100  # columns below which the panes stack, the one in use taking the room
ASK_HINT = "Ask a question — start with / to search"
SEARCH_HINT = "Search the collection — Ctrl+T to ask instead"


class MainScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        # The footer must fit 80 columns: Esc is named in the status line while it stops
        # something, and New chat is in the palette and F1 (words: ui/commands.py).
        Binding("escape", "stop", "Stop", show=False, id="main.stop"),
        Binding("ctrl+t", "toggle_mode", "Search", id="main.toggle_mode"),
        Binding("ctrl+o", "open_source", "Open source", show=False, id="main.open_source"),
        Binding("ctrl+n", "new_session", "New chat", show=False, id="main.new_session"),
        Binding("ctrl+s", "export_session", "Export chat", show=False, id="main.export_session"),
        Binding("ctrl+r", "focus_pane('results')", "Results", show=False, id="main.focus_results"),
        Binding("ctrl+y", "focus_pane('chat')", "Chat", show=False, id="main.focus_chat"),
        Binding("ctrl+l", "focus_pane('query')", "Input", show=False, id="main.focus_input"),
        Binding("down", "focus_pane('results')", "Results", show=False, id="main.down_to_results"),
    ]

    def __init__(self, service: Docchat, collection: str) -> None:
        super().__init__()
        self.service = service
        self.collection = collection
        self.models_ready = False
        self.models_error: str | None = None
        self.search_mode = False
        self.session: int | None = None
        self.cancel: threading.Event | None = None
        self._stream: MarkdownStream | None = None
        self._turn: ChatTurn | None = None
        self._last_query = ""
        self._phase = ""  # what answering does now, with the clock and speed below
        self._asked_at = 0.0
        self._first_piece_at: float | None = None
        self._pieces = 0
        self.focus_input_on_resume = False
        self._ticket = 0  # bumped per question; messages of older questions are ignored
        self.title = f"docchat — {collection}"
        self.watch_text = ""  # what following the collection's folders does (index.watch)
        self._watch_stop: threading.Event | None = None
        self._watch_ended = threading.Event()
        self._watch_ended.set()

    def compose(self) -> ComposeResult:
        yield TitleBar()
        # The input comes first in the DOM so Tab goes input → results → chat; CSS docks it.
        yield Input(placeholder=ASK_HINT, id="query")
        with Horizontal(id="panes"):
            yield ResultsPane(id="results")
            yield ChatPane(id="chat")
        yield Static("", id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.refresh_stats()
        self.update_status()
        self.start_watch()
        self.query_one("#query").focus()
        self.set_interval(0.5, self._tick)  # the answer's clock and speed

    def on_resize(self, event: events.Resize) -> None:
        narrow = event.size.width < NARROW
        self.set_class(narrow, "narrow")
        self.query_one(ResultsPane).compact = narrow

    def use_pane(self, pane: str) -> None:
        """The pane in use gets the room when they are stacked (narrow terminals)."""
        self.set_class(pane == "results", "results-active")
        self.set_class(pane == "chat", "chat-active")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, ResultsPane):
            self.use_pane("results")
        elif isinstance(event.widget, ChatPane):
            self.use_pane("chat")

    def on_screen_resume(self) -> None:
        # Back from settings: typing goes to the input, never to the results list, where
        # letters are keys (o opens, Enter previews). From a preview, focus stays put.
        if self.focus_input_on_resume:
            self.focus_input_on_resume = False
            self.query_one("#query").focus()

    # ------------------------------------------------------------ collection

    async def set_collection(self, name: str) -> None:
        self.action_stop()
        await self._end_stream()
        self.stop_watch()
        self.collection = name
        self.title = f"docchat — {name}"
        self.session = None
        self.query_one(ResultsPane).show([], "", "Results")
        await self.query_one(ChatPane).clear()
        self.refresh_stats()
        self.start_watch()

    # ------------------------------------------------------------ live folders

    def start_watch(self) -> None:
        """Follow the collection's folders (index.watch), unless that is already going.
        An index run of the collection stops it (the service hands the lock over); the
        app starts it again when the run ends."""
        if not self.service.settings.index.watch:
            return
        if self._watch_stop is not None and not self._watch_stop.is_set():
            return  # following already (or about to)
        stop = threading.Event()
        self._watch_stop = stop
        previous, self._watch_ended = self._watch_ended, threading.Event()
        self.follow_folders(self.collection, stop, previous, self._watch_ended)

    def stop_watch(self) -> None:
        if self._watch_stop is not None:
            self._watch_stop.set()
            self._watch_stop = None
        self.watch_text = ""

    def on_unmount(self) -> None:
        self.stop_watch()

    @work(thread=True, group="watch")
    def follow_folders(
        self,
        collection: str,
        stop: threading.Event,
        previous: threading.Event,
        ended: threading.Event,
    ) -> None:
        try:
            previous.wait(60)  # the watch before this one has let go of its lock
            if stop.is_set() or not self.service.open_collection(collection).folders():
                return
            for event in self.service.watch(collection, stop=stop):
                if isinstance(event, WatchStatus) and event.state == "notice":
                    self.post_message(WatchState(collection, "", notice=event.message))
                elif (text := watch_state(event)) is not None:
                    synced = isinstance(event, WatchStatus) and event.state == "synced"
                    self.post_message(WatchState(collection, text, synced=synced))
            self.post_message(WatchState(collection, ""))
        except CollectionLocked as e:
            log.info("not following %s: %s", collection, e)
            self.post_message(WatchState(collection, "not following (written elsewhere)"))
        except Exception as e:
            if not isinstance(e, DocchatError):
                log.exception("following %s failed", collection)
            self.post_message(WatchState(collection, "not following", notice=describe(e)))
        finally:
            ended.set()

    def on_watch_state(self, message: WatchState) -> None:
        if message.collection != self.collection:
            return
        if message.text or self._watch_stop is None or self._watch_stop.is_set():
            self.watch_text = message.text
        if message.notice:
            self.notify(message.notice, title="following folders", timeout=10)
        if message.synced:
            self.refresh_stats()
        self.update_status()

    @work(thread=True, exclusive=True, group="stats")
    def refresh_stats(self) -> None:
        with guarded(self, "collection"):
            info = self.service.open_collection(self.collection).info()
            self.post_message(CollectionStats(info))

    def on_collection_stats(self, message: CollectionStats) -> None:
        i = message.info
        self.sub_title = f"{i.documents} docs · {i.chunks} chunks · {i.model or 'no model yet'}"

    def show_models(self, ready: bool, error: str | None) -> None:
        """Whether the app's background model loading is done (or failed)."""
        self.models_ready, self.models_error = ready, error
        self.update_status()

    def update_status(self, text: str | None = None) -> None:
        mode = "search" if self.search_mode else "ask"
        models = "models ready" if self.models_ready else "loading models…"
        if self.models_error:
            models = "models failed to load"
        session = f"session {self.session}" if self.session else "new chat"
        if text is None and self.answering:
            waiting = "" if self.models_ready else " (waiting for the models to load)"
            text = f"{self._phase}{waiting} · {self._progress()} — Esc stops"
        watch = f" · {self.watch_text}" if self.watch_text else ""
        self.query_one("#status", Static).update(
            text or f"{mode} mode · {models} · {session}{watch} · Tab moves focus"
        )

    def _progress(self) -> str:
        """'3.2s' while waiting, '7.9s · 11 tok/s' once the answer streams."""
        now = time.monotonic()
        out = f"{now - self._asked_at:.1f}s"
        first = self._first_piece_at
        if first is not None and now - first > 0.5 and self._pieces > 1:
            out += f" · {(self._pieces - 1) / (now - first):.0f} tok/s"
        return out

    def _tick(self) -> None:
        if self.answering:
            self.update_status()

    # ------------------------------------------------------------ input

    def action_toggle_mode(self) -> None:
        self.search_mode = not self.search_mode
        self.query_one("#query", Input).placeholder = SEARCH_HINT if self.search_mode else ASK_HINT
        self.update_status()

    def action_focus_pane(self, widget_id: str) -> None:
        self.query_one(f"#{widget_id}").focus()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "query":
            return
        text = event.value.strip()
        if not text:
            return
        if self.search_mode or text.startswith("/"):
            # The query stays in the input, selected: typing replaces it (the next question
            # or query), an arrow key keeps it to refine.
            event.input.select_all()
            query = text.lstrip("/").strip()
            if query:
                self._last_query = query
                self.run_search(query)
        else:
            event.input.clear()
            await self.ask(text)

    # ------------------------------------------------------------ search

    @work(thread=True, exclusive=True, group="search")
    def run_search(self, query: str) -> None:
        with guarded(self, "search"):
            started = time.perf_counter()
            hits = self.service.search(self.collection, query)
            self.post_message(SearchDone(query, hits, (time.perf_counter() - started) * 1000))

    def on_search_done(self, message: SearchDone) -> None:
        results = self.query_one(ResultsPane)
        passages = [Passage.from_hit(h) for h in message.hits]
        # Focus stays in the input (type the next query at once); ↓ or Tab reaches the list.
        took = f"{count(len(passages), 'hit')} · {message.ms:.0f} ms"
        self.use_pane("results")
        results.show(passages, message.query, f"{message.query} — {took}")
        self.update_status(f"{took} · ↓ reaches the results · Enter previews · o opens")

    def on_results_pane_chosen(self, message: ResultsPane.Chosen) -> None:
        self.app.push_screen(PreviewScreen(message.passage, self.query_one(ResultsPane).terms))

    def action_open_source(self) -> None:
        current = self.query_one(ResultsPane).current
        if current:
            self.post_message(OpenSource(current))

    # ------------------------------------------------------------ ask

    @property
    def answering(self) -> bool:
        return self._stream is not None

    async def ask(self, question: str) -> None:
        if self.answering:  # a new question replaces the one being answered
            self.action_stop()
            replaced = await self._end_stream()
            if replaced is not None:
                replaced.meta.update("stopped: replaced by the next question")
        self._last_query = question
        turn = await self.query_one(ChatPane).new_turn(question)
        self._turn = turn
        self.use_pane("chat")
        self._stream = Markdown.get_stream(turn.answer_md)
        self.cancel = threading.Event()
        self._ticket += 1
        self._asked_at, self._first_piece_at, self._pieces = time.monotonic(), None, 0
        self._phase = "condensing the question…" if self.session is not None else "searching…"
        self.update_status()
        session = self.session if self.session is not None else "new"
        self.run_ask(question, session, self.cancel, self._ticket)

    @work(thread=True, exclusive=True, group="ask")
    def run_ask(
        self, question: str, session: int | str, cancel: threading.Event, ticket: int
    ) -> None:
        worker = get_current_worker()

        def query_made(query: str) -> None:  # the standalone question of a follow-up
            self.post_message(AnswerPhase(f"searching for “{query}”…", ticket))

        def sources_found(n: int) -> None:
            self.post_message(AnswerPhase(f"reading {count(n, 'source')}…", ticket))

        with guarded(self, "ask"):
            for item in self.service.ask(
                self.collection,
                question,
                session=session,
                cancel=cancel,
                on_query=query_made,
                on_sources=sources_found,
            ):
                if worker.is_cancelled:
                    cancel.set()  # keep draining: the final Answer still arrives, marked stopped
                if isinstance(item, str):
                    if not cancel.is_set():
                        self.post_message(AnswerPiece(item, ticket))
                else:
                    self.post_message(AnswerDone(item, ticket))

    def on_answer_phase(self, message: AnswerPhase) -> None:
        if self.answering and message.ticket == self._ticket:
            self._phase = message.text
            self.update_status()

    async def on_answer_piece(self, message: AnswerPiece) -> None:
        if self._stream is not None and message.ticket == self._ticket:
            if self._first_piece_at is None:
                self._first_piece_at = time.monotonic()
                self._phase = "generating"
            self._pieces += 1
            await self._stream.write(message.text)

    async def _end_stream(self) -> ChatTurn | None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.stop()
        turn, self._turn = self._turn, None
        return turn

    async def on_answer_done(self, message: AnswerDone) -> None:
        answer = message.answer
        if message.ticket != self._ticket:
            return
        turn = await self._end_stream()
        if turn is None:
            return
        await turn.show(answer, self.service.settings.answer.unsupported)
        if answer.session is not None:
            self.session = answer.session
        self._show_sources(answer)
        self.update_status()

    async def on_work_failed(self, message: WorkFailed) -> None:
        self.notify(message.error, title=f"{message.what} failed", severity="error", timeout=8)
        if message.what == "ask":
            turn = await self._end_stream()
            if turn is not None:
                turn.meta.update(f"error: {message.error}")
            self.update_status()

    def action_stop(self) -> None:
        if self.cancel is not None and self.answering:
            self.cancel.set()
            self.update_status("stopping…")
        elif self.focused is not self.query_one("#query"):
            self.query_one("#query").focus()

    def on_chat_pane_citation_chosen(self, message: ChatPane.CitationChosen) -> None:
        # The citation belongs to the last answer: take its source from that answer, never
        # from whatever the results pane lists now (a search, or another session's sources).
        turn = self.query_one(ChatPane).last_turn
        answer = turn.answer if turn is not None else None
        source = next((s for s in answer.sources if s.n == message.n), None) if answer else None
        if answer is None or source is None:
            self.app.bell()
            return
        results = self.query_one(ResultsPane)
        if results.showing is not answer:
            self._show_sources(answer)
        passage = results.select_rank(message.n) or Passage.from_source(
            source, source.n in answer.cited
        )
        self.app.push_screen(PreviewScreen(passage, highlight_terms(answer.query)))

    def on_chat_pane_claim_chosen(self, message: ChatPane.ClaimChosen) -> None:
        """A claim of the last answer: say whether it is supported and, when it is, preview
        its best source with the sentences that say it highlighted."""
        turn = self.query_one(ChatPane).last_turn
        answer = turn.answer if turn is not None else None
        if answer is None or not 0 <= message.index < len(answer.claims):
            self.app.bell()
            return
        claim = answer.claims[message.index]
        self.update_status(claim_line(answer, message.index))
        source = next((s for s in answer.sources if claim.sources[:1] == (s.n,)), None)
        if source is None:
            return
        results = self.query_one(ResultsPane)
        if results.showing is not answer:
            self._show_sources(answer)
        passage = results.select_rank(source.n) or Passage.from_source(
            source, source.n in answer.cited
        )
        self.app.push_screen(
            PreviewScreen(passage, highlight_terms(answer.query), sentences=claim.evidence)
        )

    def _show_sources(self, answer: Answer) -> None:
        cited = set(answer.cited)
        passages = [Passage.from_source(s, s.n in cited) for s in answer.sources]
        results = self.query_one(ResultsPane)
        results.show(passages, answer.query, "Sources of the answer")
        results.showing = answer

    # ------------------------------------------------------------ sessions

    async def action_new_session(self) -> None:
        self.action_stop()
        await self._end_stream()
        self.session = None
        await self.query_one(ChatPane).clear()
        self.update_status()

    async def show_history(self, session: int, turns: list[tuple[str, Answer]]) -> None:
        """Reopen a stored session: its questions and answers, then continue it."""
        chat = self.query_one(ChatPane)
        await chat.clear()
        self.session = session
        for question, answer in turns:
            turn = await chat.new_turn(question)
            await turn.show(answer, self.service.settings.answer.unsupported)
        # The results pane shows this session's last sources, not the previous session's.
        if turns:
            self._show_sources(turns[-1][1])
            self._last_query = turns[-1][1].query
        else:
            self.query_one(ResultsPane).show([], "", "Results")
        self.update_status()

    def action_export_session(self) -> None:
        if self.session is None:
            self.notify("nothing to export yet: ask a question first", severity="warning")
            return
        self.post_message(ExportSession(self.collection, self.session))
