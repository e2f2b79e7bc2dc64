"""Support scoring with the fake embedder: the right source, wrong markers corrected,
unsupported claims flagged, the three display modes, and abstention from evidence."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pytest
from fakes import FakeEmbedder

from docchat.claims.render import UNSUPPORTED_MARK, render
from docchat.claims.split import split_claims
from docchat.claims.support import prepare, support
from docchat.claims.verify import check
from docchat.types import Claim, Source

TEXTS = [
    "Dropout randomly zeroes activations during training. This reduces overfitting of large "
    "networks.",
    "CREATE INDEX CONCURRENTLY builds an index without locking out writes to the table. "
    "It takes longer than a plain build.",
    "The server listens on port 5432 by default. Change it with the port setting.",
]
SOURCES = [
    Source(n, f"/docs/s{n}.md", None, 1, 5, 1.0, text) for n, text in enumerate(TEXTS, start=1)
]


def claims(answer: str) -> list[Claim]:
    embedder = FakeEmbedder()
    return support(split_claims(answer), prepare(embedder, SOURCES), embedder)


def test_a_copied_claim_is_supported_by_its_source() -> None:
    (c,) = claims("Dropout randomly zeroes activations during training [1].")
    assert c.supported and c.sources == (1,) and c.marked == (1,) and c.score > 0.8
    assert c.evidence[0] == "Dropout randomly zeroes activations during training."


def test_a_wrong_marker_is_corrected_to_the_source_that_says_it() -> None:
    (c,) = claims("CREATE INDEX CONCURRENTLY builds an index without locking out writes [1].")
    assert c.marked == (1,) and c.sources == (2,) and c.supported and c.corrected


def test_a_missing_marker_is_added() -> None:
    (c,) = claims("The server listens on port 5432 by default.")
    assert c.marked == () and c.sources == (3,) and c.supported


def test_a_claim_found_nowhere_is_unsupported() -> None:
    (c,) = claims("Paris is the capital of France and hosts the Louvre museum [2].")
    assert not c.supported and c.sources == () and c.marked == (2,) and c.score < 0.55


def test_a_number_the_source_lacks_weakens_support() -> None:
    right, wrong = claims(
        "The server listens on port 5432 by default. The server listens on port 8080 by default."
    )
    assert right.score > wrong.score


def test_render_modes() -> None:
    answer = (
        "Dropout randomly zeroes activations during training [2]. "
        "Paris is the capital of France and hosts the Louvre museum [1]."
    )
    found = claims(answer)
    marked = render(answer, found, "mark")
    assert marked == (
        f"Dropout randomly zeroes activations during training [1]. "
        f"Paris is the capital of France and hosts the Louvre museum {UNSUPPORTED_MARK}."
    )
    assert (
        render(answer, found, "hide") == "Dropout randomly zeroes activations during training [1]."
    )
    assert render(answer, found, "keep") == answer


def test_hide_drops_an_unsupported_list_item_whole() -> None:
    answer = "Steps:\n\n- Dropout randomly zeroes activations.\n- Paris is the capital of France.\n"
    shown = check(FakeEmbedder(), "q", SOURCES, answer, "hide").text
    assert shown == "Steps:\n\n- Dropout randomly zeroes activations [1]."


def test_cited_is_the_union_of_supported_sources() -> None:
    v = check(
        FakeEmbedder(),
        "q",
        SOURCES,
        "The server listens on port 5432 by default [1]. Dropout reduces overfitting [3].",
        "mark",
    )
    assert v.cited == (3, 1) and not v.abstained


@pytest.mark.parametrize("mode", ["mark", "hide", "keep"])
def test_no_supported_claim_means_the_documents_dont_say(mode: str) -> None:
    answer = "Paris is the capital of France [1]. The Louvre is a museum there [2]."
    v = check(FakeEmbedder(), "What is the capital of France?", SOURCES, answer, mode)
    assert v.abstained and v.cited == ()
    assert v.text.startswith("Your documents don't say")
    assert "What is the capital of France?" in v.text and "[3] s3.md" in v.text
    assert (answer in v.text) == (mode == "keep")
    assert all(not c.supported for c in v.claims) and len(v.claims) == 2


def test_a_stopped_answer_is_not_turned_into_an_abstention() -> None:
    from docchat.claims.verify import Check

    v = Check(FakeEmbedder(), "q", SOURCES, background=False)("Paris is in France", True)
    assert not v.abstained and v.text.endswith(UNSUPPORTED_MARK)


def test_without_an_embedder_words_alone_decide() -> None:
    (c,) = support(
        split_claims("CREATE INDEX CONCURRENTLY builds an index without locking out writes."),
        prepare(None, SOURCES),
        None,
    )
    assert c.supported and c.sources == (2,)


class Recording(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []

    def embed_few(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return super().embed_few(texts)


def test_claims_are_embedded_while_the_answer_streams() -> None:
    from docchat.claims.verify import Check

    embedder = Recording()
    answer = (
        "Dropout randomly zeroes activations during training [1]. "
        "The server listens on port 5432 by default [3]. "
        "CREATE INDEX CONCURRENTLY builds an index without locking out writes [2]."
    )
    check = Check(embedder, "q", SOURCES)
    for piece in re.findall(r"\s*\S+", answer):
        check.feed(piece)
    v = check(answer, False)
    claims_batches = embedder.batches[1:]  # the first is the sources' sentences
    assert [t for b in claims_batches[:-1] for t in b] == [
        "Dropout randomly zeroes activations during training  .",
        "The server listens on port 5432 by default  .",
    ]
    assert claims_batches[-1] == [
        "CREATE INDEX CONCURRENTLY builds an index without locking out writes  ."
    ]  # only the last claim is left for after the last token
    assert [c.sources for c in v.claims] == [(1,), (3,), (2,)]
