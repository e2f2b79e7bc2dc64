"""An answer that starts to repeat itself is stopped, and ends before the repetition."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fakes import FakeGenerator
from hypothesis import given, settings
from hypothesis import strategies as st

from docchat.generate.base import GenerationOptions
from docchat.generate.loops import LoopGuard
from docchat.generate.pipeline import answer_stream
from docchat.types import Answer, Hit

A = "The guide is designed to help you find documents that contain your files."
B = "It does this by using the help command to get more information about a document."
C = "You can paste this into a text box or use the help command to learn more."


def fed(text: str) -> tuple[LoopGuard, int]:
    """The guard after the text's word pieces, and how many pieces it took to stop."""
    guard = LoopGuard()
    pieces = re.findall(r"\s*\S+", text)
    for i, piece in enumerate(pieces, start=1):
        if guard.feed(piece):
            return guard, i
    return guard, len(pieces)


def test_a_repeated_pair_of_sentences_stops_the_answer_before_the_repeat() -> None:
    looping = " ".join([A, B, C, A, B, C, A, B, C])
    guard, used = fed(looping)
    assert guard.cut is not None
    assert guard.text == " ".join([A, B, C])
    assert used < len(re.findall(r"\s*\S+", looping)) * 2 / 3  # stopped early, not at the end


def test_legitimate_repeats_are_left_alone() -> None:
    # One sentence said twice (a summary), short list items, and code are not loops.
    text = "\n".join(
        [
            A,
            B,
            "- Run it.",
            "- Run it.",
            "```",
            "for x in range(3): print('the same long line of code here')",
            "for x in range(3): print('the same long line of code here')",
            "for x in range(3): print('the same long line of code here')",
            "```",
            C,
            A,
            "In short: " + B,
        ]
    )
    guard, _ = fed(text + "\nThe end of it all, said once more in closing.")
    assert guard.cut is None and guard.text.startswith(text)


def streamed(response: str, make_hit: Callable[..., Hit]) -> tuple[list[str], Answer]:
    """(the pieces that streamed, the Answer) when the fake model gives `response`."""
    items = list(
        answer_stream(
            "what is the guide for?",
            search=lambda q: [make_hit(1)],
            generator=FakeGenerator(responses=[response]),
            options=GenerationOptions(max_tokens=400, temperature=0.0),
        )
    )
    answer = items[-1]
    assert isinstance(answer, Answer)
    return [str(p) for p in items[:-1]], answer


def answered(response: str, make_hit: Callable[..., Hit]) -> tuple[str, Answer]:
    """(what streamed, the Answer) when the fake model gives `response`."""
    pieces, answer = streamed(response, make_hit)
    return "".join(pieces), answer


def test_the_pipeline_stops_a_looping_model_and_keeps_the_first_copy(
    make_hit: Callable[..., Hit],
) -> None:
    shown, answer = answered(" ".join([A, B, C] * 6), make_hit)
    assert not answer.stopped and answer.repeated
    assert answer.to_json()["repeated"] is True
    assert answer.text == " ".join([A, B, C])
    # Stopped at the start of the second copy, of which nothing was shown.
    assert shown.count(A) == 1 and shown.strip() == answer.text


def test_what_streams_holds_back_only_a_possible_repeat() -> None:
    guard = LoopGuard()
    for piece in re.findall(r"\s*\S+", " ".join([A, B, C]) + " The guide is"):
        guard.feed(piece)
    # "The guide is" begins like A, which begins a pair: held, the rest shown.
    assert guard.visible == " ".join([A, B, C]) + " "
    guard.feed(" small.")
    guard.feed(" Next")
    # It differed ("The guide is small." is no sentence seen before): shown again.
    assert guard.visible.endswith("The guide is small. Next")
    guard.feed(" step.")
    guard.feed(" " + A)
    guard.feed(" It does")
    # A whole copy of A (which begins a pair), then what may be B's start: held from A on.
    assert guard.visible.endswith("Next step. ")
    guard.feed(" something else entirely, far from the help command.")
    guard.feed(" Done")
    assert guard.cut is None and guard.visible.endswith("far from the help command. Done")


def test_a_list_number_is_held_with_its_item() -> None:
    item = "The document can be edited in the editor of your choice."
    other = "Another point that the answer makes here."
    guard = LoopGuard()
    shown: list[str] = []
    text = f"1. {item}\n2. {other}\n3. {item}\n4. {other}\n5. {item}"
    for char in text:  # a model may stream "3" and "." apart: every split is one of these
        if guard.feed(char):
            break
        shown.append(guard.visible)
    assert guard.cut is not None and guard.text == f"1. {item}\n2. {other}"
    # Nothing shown was ever taken back: not the repeat, nor its number.
    assert all(guard.text.startswith(s.rstrip()) for s in shown)


@pytest.mark.parametrize("marker", ["{n}.", "{n})", "**{n}.**", "### {n}."])
def test_a_numbered_list_that_loops_is_stopped_whatever_its_numbers(marker: str) -> None:
    """The demo's answer from the bundled SmolLM2-135M (session 25): items came back with new
    numbers, and each number ("5.") ended a "sentence" of its own between them."""

    def listed(items: list[str]) -> str:
        return "\n".join(f"{marker.format(n=n)} {item}" for n, item in enumerate(items, start=1))

    guard, _ = fed(listed([A, B, C, A, B, C, A, B]))
    assert guard.cut is not None
    assert guard.text == listed([A, B, C])


def test_a_numbered_list_of_different_items_is_not_a_loop() -> None:
    text = "\n".join(f"{n}. {item}" for n, item in enumerate([A, B, C], start=1))
    text += "\n- " + A.replace("guide", "manual") + "\n- " + B.replace("help", "info")
    guard, _ = fed(text + "\nThe end of it all, said once more in closing.")
    assert guard.cut is None and guard.text.startswith(text)


SENTENCES = [A, B, C, "Short one.", "```", "1.", "**2.**", "- " + A, "b) " + B, "The guide is"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(SENTENCES), max_size=14),
    st.lists(st.sampled_from([" ", "\n", "\n\n"]), min_size=14, max_size=14),
    st.lists(st.integers(1, 9), min_size=1, max_size=40),
)
def test_nothing_shown_is_taken_back(
    sentences: list[str], gaps: list[str], cuts: list[int]
) -> None:
    """Whatever the text and however it is split into pieces, what is visible only grows,
    and the final answer begins with all of it."""
    text = "".join(s + g for s, g in zip(sentences, gaps, strict=False))
    guard, shown, at = LoopGuard(), [""], 0
    for size in cuts * (len(text) // max(sum(cuts), 1) + 1):
        if at >= len(text):
            break
        stop = guard.feed(text[at : at + size])
        at += size
        assert guard.visible.startswith(shown[-1]), (guard.visible, shown[-1])
        shown.append(guard.visible)
        if stop:
            break
    assert guard.text.startswith(shown[-1].rstrip())


def test_text_held_back_is_shown_when_the_answer_ends(make_hit: Callable[..., Hit]) -> None:
    # The answer ends on a sentence said before (held back while it streamed): not a loop.
    shown, answer = answered(" ".join([A, B, C, A]), make_hit)
    assert not answer.repeated
    assert shown.strip() == answer.text == " ".join([A, B, C, A])


def test_held_back_text_is_released_as_the_models_pieces(make_hit: Callable[..., Hit]) -> None:
    # Each item's number is held until its sentence shows it is no repeat, and "Item number"
    # until the word after it differs from the first item's.
    response = "1. Item number one is here.\n2. Item number two is here.\n3. Item number three."
    pieces, _ = streamed(response, make_hit)
    assert pieces == re.findall(r"\s*\S+", response)  # one piece out per piece in


def test_a_list_item_shows_as_soon_as_it_is_no_repeat() -> None:
    guard = LoopGuard()
    for piece in ["1", ".", " Alpha"]:
        guard.feed(piece)
    assert guard.visible == "1. Alpha"  # nothing was said before it
    for piece in [" beta gamma delta epsilon zeta.", "\n", "2", ".", " Mu", " nu"]:
        guard.feed(piece)
    assert guard.visible.endswith("zeta.\n2. Mu nu")  # differs from every earlier sentence


def test_a_loop_is_caught_however_its_newlines_stream() -> None:
    for newline in (["\n\n"], ["\n", "\n"], [" ", "\n"]):
        guard = LoopGuard()
        for sentence in [A, B, A, B]:
            for piece in [sentence, *newline]:
                guard.feed(piece)
        assert guard.cut is not None and guard.text == f"{A}{''.join(newline)}{B}".rstrip()
