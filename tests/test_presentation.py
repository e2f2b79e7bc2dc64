"""The phrases the CLI and the TUI share (docchat/presentation.py)."""

from __future__ import annotations

from docchat.presentation import (
    REPEATED_NOTE,
    claim_notes,
    cut_notes,
    highlight_terms,
    index_summary,
    link_citations,
    place,
    size,
    sources_line,
)
from docchat.types import Answer, Claim, IndexSummary, MessageRow, Source


def source(n: int, page: int | None = None) -> Source:
    return Source(n, f"/d/doc{n}.md", page, 3, 5 if n != 2 else 3, 0.5)


def test_a_place_in_a_file() -> None:
    assert place("/d/a.pdf", 3, 10, 24) == "/d/a.pdf, p. 3, lines 10–24"
    assert place("a.md", None, 7, 7) == "a.md, line 7"


def test_sizes() -> None:
    assert [size(n) for n in (512, 1536, 3 * 1024**3, 2 * 1024**4)] == [
        "512 B",
        "1.5 KB",
        "3.0 GB",
        "2.0 TB",
    ]


def test_index_summary_with_and_without_chunks() -> None:
    s = IndexSummary("c", 3, 1, [("x", "binary")], [], 0, 9, 2, 2.04, cancelled=True)
    assert index_summary(s) == (
        "stopped in 2.0s — 3 indexed, 1 unchanged, 1 skipped, 0 failed, 0 removed; chunks +9 −2"
    )
    assert index_summary(s, 5.0, chunks=False).startswith("stopped in 5.0s — 3 indexed")
    assert "chunks" not in index_summary(s, 5.0, chunks=False)


def test_every_citation_shape_is_linked_and_made_up_numbers_are_not() -> None:
    sources = (source(1), source(2), source(3), source(4))
    answer = Answer("A [1, 3], B [2-4], C [9].", "q", "q", sources, cited=(1, 3, 2, 4))
    linked = link_citations(answer)
    assert linked.startswith("A [\\[1\\]](cite:1)[\\[3\\]](cite:3), B [\\[2\\]](cite:2)")
    assert "[\\[4\\]](cite:4), C [9]." in linked


def test_sources_line_names_cited_or_offered_sources() -> None:
    answer = Answer("x [2]", "q", "q", (source(1, page=4), source(2)), cited=(2,))
    assert sources_line(answer) == "cited [2] doc2.md line 3"
    none = Answer("x", "q", "q", (source(1, page=4),), stopped=True)
    assert sources_line(none) == "stopped — no citation; offered [1] doc1.md p. 4, lines 3–5"
    cut = Answer("x [2]", "q", "q", (source(2),), cited=(2,), repeated=True)
    assert sources_line(cut) == f"{REPEATED_NOTE} — cited [2] doc2.md line 3"


def test_highlight_terms_drop_stopwords_and_go_longest_first() -> None:
    assert highlight_terms("What is the Dropout of a neural net?") == ["dropout", "neural", "net"]


def test_a_claim_said_again_is_noted_once() -> None:
    """The bundled 135M model repeats list items; the check lists each claim it could not
    find once, in the answer's order."""
    lost = "The document can be edited or deleted without affecting the next one."
    other = "Each passage contains its content hash, used for similarity search."
    claims = tuple(
        Claim(text, i * 100, i * 100 + len(text)) for i, text in enumerate([lost, other, lost])
    )
    answer = Answer("…", "q", "q", (source(1),), raw_answer="…", claims=claims)
    notes = claim_notes(answer)
    assert len(notes) == 2
    assert "edited or deleted" in notes[0] and "content hash" in notes[1]
    # Two claims that differ only past what a line shows are still two notes.
    longer = (lost + " " + other, lost + " It also keeps a log.")
    two = Answer("…", "q", "q", (), raw_answer="…", claims=tuple(Claim(t, 0, 1) for t in longer))
    assert len(claim_notes(two, width=40)) == 2


def test_every_view_of_an_answer_says_why_it_ended_early() -> None:
    """The app's sources line, `ask --md`'s footer, `sessions show` and the export all take
    their notes from cut_notes: `ask --md` once left out the repeat."""
    from docchat.cli.pipes import answer_markdown_footer

    both = Answer("x", "q", "q", (source(1),), stopped=True, repeated=True)
    assert cut_notes(both) == ["stopped", REPEATED_NOTE]
    assert cut_notes(MessageRow(1, "assistant", "x", 0.0, repeated=True)) == [REPEATED_NOTE]
    assert cut_notes(Answer("x", "q", "q", ())) == []
    footer = answer_markdown_footer(both)
    assert "*[stopped]*" in footer and f"*[{REPEATED_NOTE}]*" in footer
