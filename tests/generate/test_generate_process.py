"""The model process: the fake generator driven through the child-process protocol — tokens,
stop, errors, and children that crash, get killed, or ignore a stop."""

from __future__ import annotations

import collections.abc
import os
import signal
import threading
from collections.abc import Iterator

import pytest
from fakes import FakeGenerator

from docchat.config import GenerateSettings
from docchat.errors import ModelCrashed, ModelError
from docchat.generate.base import ChatMessage, GenerationOptions
from docchat.generate.child_process import crash_message
from docchat.generate.process import ProcessGenerator
from docchat.generate.registry import create_generator

SOURCES = "[1] notes/dropout.md lines 1-3\nDropout reduces overfitting in deep networks."
QUESTION: list[ChatMessage] = [
    {"role": "system", "content": "Answer from the sources."},
    {"role": "user", "content": f"{SOURCES}\n\nQuestion: what does dropout do?"},
]


def asking(word: str) -> list[ChatMessage]:
    return [QUESTION[0], {"role": "user", "content": f"{SOURCES}\n\nQuestion: {word}?"}]


@pytest.fixture
def child() -> Iterator[ProcessGenerator]:
    gen = create_generator(GenerateSettings(backend="fake-process"))
    assert isinstance(gen, ProcessGenerator)
    yield gen
    gen.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_tokens_and_counts_match_the_in_process_model(child: ProcessGenerator) -> None:
    inline = FakeGenerator()
    options = GenerationOptions(max_tokens=64)
    assert list(child.stream(QUESTION, options)) == list(inline.stream(QUESTION, options))
    assert child.count_tokens("Dropout reduces overfitting.") == inline.count_tokens(
        "Dropout reduces overfitting."
    )
    assert child.count_prompt_tokens(QUESTION) == inline.count_prompt_tokens(QUESTION)
    assert child.name == "fake-generator" and child.n_ctx == 4096


def test_one_child_serves_every_question(child: ProcessGenerator) -> None:
    pid = child.pid
    for _ in range(3):
        assert child.generate(QUESTION, GenerationOptions()).endswith("[1]")
    assert child.pid == pid and pid is not None and alive(pid)


def test_stop_strings_are_honoured_in_the_child(child: ProcessGenerator) -> None:
    text = child.generate(QUESTION, GenerationOptions(stop=(" reduces",)))
    assert text == "The documents say: Dropout"


def test_a_stop_request_ends_generation_within_a_token(child: ProcessGenerator) -> None:
    cancel = threading.Event()
    seen: list[str] = []
    endless = GenerationOptions(max_tokens=1_000_000)
    for piece in child.stream(asking("ENDLESS"), endless, cancel):
        seen.append(piece)
        if len(seen) == 3:
            cancel.set()
    assert len(seen) == 3  # nothing is shown after the stop
    stats = child.last_stream
    assert stats is not None and stats.after_stop is not None
    # Counted in the child: the model produced at most one more token once it heard "stop".
    assert stats.after_stop <= 1 and stats.tokens < endless.max_tokens
    assert child.generate(QUESTION, GenerationOptions()).endswith("[1]")  # same child, clean


def test_closing_the_stream_early_stops_the_model(child: ProcessGenerator) -> None:
    pid = child.pid
    stream = child.stream(asking("ENDLESS"), GenerationOptions(max_tokens=1_000_000))
    assert isinstance(stream, collections.abc.Generator)
    assert next(stream) == " word"
    stream.close()  # what the pipeline does when its own consumer goes away
    stats = child.last_stream
    assert stats is not None and stats.after_stop is not None and stats.after_stop <= 1
    assert child.pid == pid


def test_a_child_that_ignores_stop_is_killed_and_replaced(
    child: ProcessGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(child, "stop_grace_s", 0.2)
    old = child.pid
    assert old is not None
    cancel = threading.Event()
    cancel.set()  # asked to stop at once, but the fake is stuck where it never looks
    assert list(child.stream(asking("IGNORE_STOP"), GenerationOptions(), cancel)) == []
    assert child.pid is None and not alive(old)  # killed, not left computing
    assert child.generate(QUESTION, GenerationOptions()).endswith("[1]")
    assert child.pid not in (None, old)


@pytest.mark.parametrize(
    ("word", "signal_name"),
    [("CRASH_SIGSEGV", "SIGSEGV"), ("CRASH_SIGKILL", "SIGKILL"), ("CRASH_ABORT", "SIGABRT")],
)
def test_a_crash_mid_answer_is_one_line_and_the_next_question_restarts(
    child: ProcessGenerator, word: str, signal_name: str
) -> None:
    old = child.pid
    seen: list[str] = []
    with pytest.raises(ModelCrashed) as crash:
        for piece in child.stream(asking(word), GenerationOptions()):
            seen.append(piece)
    assert seen == ["The", " documents"]  # the partial answer reached the caller first
    message = str(crash.value)
    assert "\n" not in message
    assert f"the model process crashed ({signal_name}" in message
    assert "model.log" in message and "ask again" in message
    assert child.generate(QUESTION, GenerationOptions()).endswith("[1]")
    assert child.pid not in (None, old)


def test_a_child_killed_while_idle_is_reported_then_replaced(child: ProcessGenerator) -> None:
    old = child.pid
    assert old is not None
    os.kill(old, signal.SIGKILL)
    with pytest.raises(ModelCrashed, match=r"crashed \(SIGKILL, often out of memory\)"):
        child.generate(QUESTION, GenerationOptions())
    assert child.generate(QUESTION, GenerationOptions()).endswith("[1]")


def test_an_error_in_the_child_keeps_its_class_and_the_child(child: ProcessGenerator) -> None:
    pid = child.pid
    with pytest.raises(ModelError, match="failed on purpose") as failure:
        child.generate(asking("RAISE_ERROR"), GenerationOptions())
    assert not isinstance(failure.value, ModelCrashed)
    assert child.pid == pid
    assert child.generate(QUESTION, GenerationOptions()).endswith("[1]")


def test_a_crash_while_loading_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_GENERATOR_LOAD_CRASH", "1")
    with pytest.raises(ModelCrashed, match=r"crashed \(SIGSEGV\) while loading"):
        create_generator(GenerateSettings(backend="fake-process"))


def test_the_child_logs_where_the_message_says(child: ProcessGenerator) -> None:
    with pytest.raises(ModelCrashed):
        child.generate(asking("CRASH_SIGSEGV"), GenerationOptions())
    assert child.log_path is not None and str(child.log_path) in crash_message(
        -11, "x", "y", child.log_path
    )
    text = child.log_path.read_text(encoding="utf-8", errors="replace")
    # faulthandler left the Python side of the crash there.
    assert "Fatal Python error: Segmentation fault" in text and "_misbehave" in text


def test_crash_message_for_an_exit_code() -> None:
    message = crash_message(3, "answering with", "/m/x.gguf", None)
    assert message.startswith("the model process exited unexpectedly (exit code 3)")
    assert "/m/x.gguf" in message and "no log file" in message


def test_a_slow_model_gets_time_to_finish_its_token(child: ProcessGenerator) -> None:
    """The kill deadline after a stop grows with the slowest gap between pieces, so a big
    model on a slow CPU finishes its token instead of being killed (and reloaded)."""
    list(child.stream(asking("ENDLESS"), GenerationOptions(max_tokens=200)))
    assert 0 < child._slowest_piece < child.stop_grace_s  # measured between pieces
    assert child._grace() == child.stop_grace_s
    child._slowest_piece = 2.0  # as if a token took two seconds
    assert child._grace() == 3.0
