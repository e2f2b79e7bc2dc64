"""`docchat eval --questions/--docs`: the question file, page-level ranking and metrics, and
the command end to end on small corpora (text, Markdown and a PDF) with the fake embedder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from docchat.cli import main
from docchat.errors import DocchatError
from docchat.page_eval import (
    Answer,
    Question,
    load_questions,
    mean_metrics,
    page_metrics,
    rank_pages,
)


def text_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF, one Helvetica line of text per page."""
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, line in enumerate(pages):
        content = f"BT /F1 12 Tf 72 720 Td ({line}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


QUESTIONS = [
    {"id": "q1", "corpus": "manual", "kind": "how-to",
     "question": "frobnicator timeout setting",
     "answers": [{"path": "guide.pdf", "pages": [3]}]},
    {"id": "q2", "corpus": "manual", "question": "sourdough starter flour",
     "answers": [{"path": "bread.md"}]},
    {"id": "q3", "corpus": "notes", "question": "Danube Black Sea",
     "answers": [{"path": "sub/rivers.txt"}]},
    {"id": "u1", "corpus": "notes", "kind": "unanswerable",
     "question": "quantum chromodynamics lattice", "answers": [], "unanswerable": True},
]  # fmt: skip


def write_questions(path: Path, records: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def qset(tmp_path: Path) -> tuple[Path, Path]:
    """Two corpora under one docs folder, and the question file about them."""
    docs = tmp_path / "qdocs"
    manual = docs / "manual"
    manual.mkdir(parents=True)
    (manual / "guide.pdf").write_bytes(
        text_pdf(
            [
                "Installing the widget from the package archive",
                "Colour themes for the widget window",
                "The frobnicator timeout setting is given in seconds",
                "Uninstalling the widget",
            ]
        )
    )
    (manual / "bread.md").write_text(
        "# Bread\n\nSourdough bread needs a starter, flour, water and salt.\n", encoding="utf-8"
    )
    sub = docs / "notes" / "sub"
    sub.mkdir(parents=True)
    (sub / "rivers.txt").write_text(
        "The Danube flows through ten countries into the Black Sea.\n", encoding="utf-8"
    )
    (docs / "notes" / "volcano.txt").write_text(
        "Lava from the volcano buried the town under ash.\n", encoding="utf-8"
    )
    return write_questions(tmp_path / "questions.jsonl", QUESTIONS), docs


@pytest.fixture
def fake_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCCHAT_PLUGINS", "fakes")
    monkeypatch.setenv("DOCCHAT_EMBED_BACKEND", "fake")
    monkeypatch.setenv("DOCCHAT_EMBED_MODEL", "fake-embedder")


# ---------------------------------------------------------------- the question file


def test_load_questions_reads_pages_corpora_and_unanswerable(qset: tuple[Path, Path]) -> None:
    questions = load_questions(qset[0])
    assert [q.id for q in questions] == ["q1", "q2", "q3", "u1"]
    q1, _, q3, u1 = questions
    assert q1.answers == (Answer("guide.pdf", (3,)),) and q1.corpus == "manual"
    assert q1.kind == "how-to"
    assert q1.relevant() == {("guide.pdf", 3)}
    assert q3.relevant() == {("sub/rivers.txt", None)}
    assert not u1.answerable and u1.answers == ()


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"id": "x", "question": "q?", "answers": []}, "unanswerable"),
        ({"id": "x", "question": "q?", "answers": [{"path": "a"}], "unanswerable": True},
         "unanswerable"),
        ({"id": "x", "question": "q?", "answers": [{"path": "../etc/passwd"}]}, "relative"),
        ({"id": "x", "question": "q?", "answers": [{"path": "/etc/passwd"}]}, "relative"),
        ({"id": "x", "question": "q?", "answers": [{"path": "a.pdf", "pages": [0]}]}, "pages"),
        ({"id": "x", "question": "q?", "answers": [{"path": "a.pdf", "pages": "3"}]}, "pages"),
        ({"id": "x", "question": "", "answers": [{"path": "a"}]}, "question"),
        ({"question": "q?", "answers": [{"path": "a"}]}, "id"),
        ({"id": "x", "question": "q?", "answers": [{"file": "a"}]}, "path"),
        ({"id": "x", "corpus": "../up", "question": "q?", "answers": [{"path": "a"}]}, "corpus"),
        ([1, 2], "JSON object"),
    ],
)  # fmt: skip
def test_bad_question_lines_name_file_and_line(
    tmp_path: Path, record: object, message: str
) -> None:
    good = {"id": "ok", "question": "fine", "answers": [{"path": "a.txt"}]}
    path = write_questions(tmp_path / "q.jsonl", [good, record])
    with pytest.raises(DocchatError, match=rf"q\.jsonl:2: .*{message}"):
        load_questions(path)


def test_duplicate_ids_and_sets_without_answers_are_rejected(tmp_path: Path) -> None:
    rec = {"id": "a", "question": "q?", "answers": [{"path": "x"}]}
    with pytest.raises(DocchatError, match="duplicate id 'a'"):
        load_questions(write_questions(tmp_path / "dup.jsonl", [rec, rec]))
    none = {"id": "u", "question": "q?", "answers": [], "unanswerable": True}
    with pytest.raises(DocchatError, match="no answerable question"):
        load_questions(write_questions(tmp_path / "none.jsonl", [none]))


# ---------------------------------------------------------------- pages and metrics


def pdf_question(*pages: int) -> Question:
    return Question("q", "text", (Answer("m.pdf", pages),))


def test_chunks_of_one_page_count_once_at_their_best_rank() -> None:
    q = pdf_question(5)
    hits = [("m.pdf", 3), ("m.pdf", 3), ("a.html", None), ("m.pdf", 3), ("m.pdf", 5)]
    ranked = rank_pages(q, hits)
    assert ranked == [("m.pdf", 3), ("a.html", None), ("m.pdf", 5)]
    m = page_metrics(ranked, q.relevant())
    assert m["hit@1"] == 0.0 and m["hit@5"] == 1.0
    assert m["mrr@10"] == pytest.approx(1 / 3)
    assert m["ndcg@10"] == pytest.approx(1 / math.log2(4))


def test_a_file_named_without_pages_is_one_page() -> None:
    q = Question("q", "text", (Answer("m.pdf"),))
    ranked = rank_pages(q, [("m.pdf", 7), ("other.pdf", 1), ("m.pdf", 2), ("other.pdf", 2)])
    assert ranked == [("m.pdf", None), ("other.pdf", 1), ("other.pdf", 2)]
    assert page_metrics(ranked, q.relevant())["hit@1"] == 1.0


def test_ranking_stops_at_ten_distinct_pages() -> None:
    q = pdf_question(12)
    hits = [("m.pdf", n) for n in range(1, 20)]
    ranked = rank_pages(q, hits)
    assert len(ranked) == 10
    assert page_metrics(ranked, q.relevant()) == {
        "hit@1": 0.0, "hit@5": 0.0, "mrr@10": 0.0, "ndcg@10": 0.0,
    }  # fmt: skip


def test_ndcg_with_two_relevant_pages() -> None:
    q = pdf_question(2, 9)
    ranked = rank_pages(q, [("m.pdf", 2), ("m.pdf", 4), ("m.pdf", 9)])
    m = page_metrics(ranked, q.relevant())
    ideal = 1 + 1 / math.log2(3)
    assert m["ndcg@10"] == pytest.approx((1 + 1 / math.log2(4)) / ideal)
    assert m["hit@1"] == 1.0 and m["mrr@10"] == 1.0
    assert page_metrics([], q.relevant())["ndcg@10"] == 0.0  # found nothing


def test_mean_over_questions() -> None:
    a = {"hit@1": 1.0, "hit@5": 1.0, "mrr@10": 1.0, "ndcg@10": 1.0}
    b = {"hit@1": 0.0, "hit@5": 1.0, "mrr@10": 0.5, "ndcg@10": 0.5}
    assert mean_metrics([a, b]) == {"hit@1": 0.5, "hit@5": 1.0, "mrr@10": 0.75, "ndcg@10": 0.75}


# ---------------------------------------------------------------- the command


def test_eval_by_page_json_rows_and_details(
    qset: tuple[Path, Path], fake_env: None, tmp_path: Path
) -> None:
    questions, docs = qset
    details = tmp_path / "details.jsonl"
    args = ["eval", "--questions", str(questions), "--docs", str(docs), "--mode", "keyword",
            "--mode", "default", "--json", "--details", str(details)]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["mode"], r["corpus"], r["questions"]) for r in rows] == [
        ("keyword", "all", 3), ("keyword", "manual", 2), ("keyword", "notes", 1),
        ("default", "all", 3), ("default", "manual", 2), ("default", "notes", 1),
    ]  # fmt: skip
    for row in rows:
        assert set(row) == {"mode", "corpus", "questions", "hit@1", "hit@5", "mrr@10",
                            "ndcg@10", "p50_ms", "p95_ms"}  # fmt: skip
        assert row["hit@1"] == 1.0  # every answer's page is ranked first
    lines = [json.loads(line) for line in details.read_text().splitlines()]
    assert len(lines) == 6  # 3 answerable questions x 2 modes; u1 is not run
    q1 = next(d for d in lines if d["id"] == "q1" and d["mode"] == "keyword")
    assert q1["top"][0] == ["guide.pdf", 3]  # a PDF hit is a page of the file
    assert q1["first_relevant"] == 1 and q1["relevant"] == [["guide.pdf", 3]]
    q3 = next(d for d in lines if d["id"] == "q3")
    assert q3["top"][0] == ["sub/rivers.txt", None]  # relative to the corpus folder


def test_eval_by_page_table_and_keep(qset: tuple[Path, Path], fake_env: None) -> None:
    questions, docs = qset
    args = ["eval", "--questions", str(questions), "--docs", str(docs), "--mode", "dense",
            "--keep"]  # fmt: skip
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "hit@1" in first.stdout and "nDCG" not in first.stdout
    assert "1 unanswerable questions not scored" in first.stderr
    second = CliRunner().invoke(main, args)
    assert second.exit_code == 0
    assert second.stderr.count("indexed 0 (unchanged") == 2  # each corpus's kept collection


def test_eval_by_page_without_corpora(tmp_path: Path, fake_env: None) -> None:
    docs = tmp_path / "flat"
    docs.mkdir()
    (docs / "a.txt").write_text("Aardvarks eat ants at night.\n", encoding="utf-8")
    (docs / "b.txt").write_text("Bees make honey from nectar.\n", encoding="utf-8")
    rec = {"id": "x", "question": "honey nectar", "answers": [{"path": "b.txt"}]}
    questions = write_questions(tmp_path / "q.jsonl", [rec])
    args = ["eval", "--questions", str(questions), "--docs", str(docs), "--mode", "keyword",
            "--json"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert [(r["corpus"], r["hit@1"]) for r in json.loads(result.stdout)] == [("all", 1.0)]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--docs", "{docs}"], "--questions and --docs go together"),
        (["--questions", "{q}"], "--questions and --docs go together"),
        (["--questions", "{q}", "--docs", "{docs}", "--corpus", "{q}"], "either a BEIR set"),
        (["--details", "{q}.out"], "--details goes with --questions"),
    ],
)
def test_eval_by_page_option_errors(
    qset: tuple[Path, Path], fake_env: None, extra: list[str], message: str
) -> None:
    questions, docs = qset
    args = ["eval", *(a.format(q=questions, docs=docs) for a in extra)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert message in result.stderr


def test_eval_by_page_missing_corpus_folder(qset: tuple[Path, Path], fake_env: None) -> None:
    questions, docs = qset
    (docs / "notes" / "volcano.txt").unlink()
    (docs / "notes" / "sub" / "rivers.txt").unlink()
    (docs / "notes" / "sub").rmdir()
    (docs / "notes").rmdir()
    result = CliRunner().invoke(main, ["eval", "--questions", str(questions), "--docs", str(docs)])
    assert result.exit_code == 1
    assert f"no corpus folder {docs / 'notes'}" in result.stderr


def test_eval_by_page_details_file_that_cannot_be_written(
    qset: tuple[Path, Path], fake_env: None, tmp_path: Path
) -> None:
    questions, docs = qset
    target = tmp_path / "no-such-dir" / "details.jsonl"
    args = ["eval", "--questions", str(questions), "--docs", str(docs), "--mode", "keyword",
            "--details", str(target)]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert f"cannot write {target}" in result.stderr
