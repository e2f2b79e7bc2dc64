"""`docchat eval` on a tiny generated BEIR set with the fake embedder, in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from docchat import evaluation
from docchat.cli import main

TOPICS = {
    "d1": ("Rivers", "The Danube flows through ten countries into the Black Sea."),
    "d2": ("Bread", "Sourdough bread needs a starter, flour, water and salt."),
    "d3": ("Dropout", "Dropout randomly zeroes activations to reduce overfitting."),
    "d4": ("Volcanoes", "Lava from the volcano buried the town under ash."),
}
QUERIES = {"q1": "Danube Black Sea", "q2": "sourdough starter flour", "q3": "dropout overfitting"}
QRELS = {"q1": "d1", "q2": "d2", "q3": "d3"}


@pytest.fixture
def beir(tmp_path: Path) -> Path:
    root = tmp_path / "beir"
    (root / "qrels").mkdir(parents=True)
    with (root / "corpus.jsonl").open("w") as f:
        for doc_id, (title, text) in TOPICS.items():
            f.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    with (root / "queries.jsonl").open("w") as f:
        for qid, text in {**QUERIES, "q9": "unjudged"}.items():
            f.write(json.dumps({"_id": qid, "text": text}) + "\n")
    lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t1" for q, d in QRELS.items()]
    (root / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n")
    return root


Recorded = dict[str, list[dict[str, dict[str, float]]]]  # the runs handed to `score`


@pytest.fixture
def fake_env(monkeypatch: pytest.MonkeyPatch) -> Recorded:
    """The fake embedder, and ranx replaced by a recorder (its numba start-up costs tens of
    seconds; test_score_with_ranx covers the real call)."""
    monkeypatch.setenv("DOCCHAT_PLUGINS", "fakes")
    monkeypatch.setenv("DOCCHAT_EMBED_BACKEND", "fake")
    monkeypatch.setenv("DOCCHAT_EMBED_MODEL", "fake-embedder")
    seen: Recorded = {"runs": []}

    def fake_score(
        qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]
    ) -> dict[str, float]:
        seen["runs"].append(run)
        top1 = sum(
            1
            for q, rel in qrels.items()
            if run.get(q) and max(run[q], key=run[q].__getitem__) in rel
        )
        value = top1 / len(qrels)
        return dict.fromkeys(evaluation.METRICS, value)

    monkeypatch.setattr(evaluation, "score", fake_score)
    return seen


def test_eval_json_rows(beir: Path, fake_env: Recorded) -> None:
    result = CliRunner().invoke(main, ["eval", str(beir), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["mode"] for r in rows] == ["dense", "keyword", "hybrid", "default"]
    for row in rows:
        assert set(row) == {"mode", "ndcg@10", "recall@100", "mrr@10", "p50_ms", "p95_ms"}
        assert row["ndcg@10"] == 1.0  # every query's document is ranked first
        assert row["p95_ms"] >= row["p50_ms"] >= 0
    run = fake_env["runs"][0]
    assert set(run) == set(QRELS)  # unjudged queries are not run
    assert all(set(docs) <= set(TOPICS) for docs in run.values())  # ids from file stems


def test_eval_table_explicit_files_and_keep(beir: Path, fake_env: Recorded) -> None:
    args = [
        "eval",
        "--corpus", str(beir / "corpus.jsonl"),
        "--queries", str(beir / "queries.jsonl"),
        "--qrels", str(beir / "qrels" / "test.tsv"),
        "--mode", "keyword",
        "--keep",
    ]  # fmt: skip
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "keyword" in first.stdout and "nDCG@10" in first.stdout
    second = CliRunner().invoke(main, args)
    assert second.exit_code == 0
    assert "unchanged 4" in second.stderr  # the kept collection is reused, nothing re-embedded


def test_eval_needs_a_set(fake_env: Recorded) -> None:
    result = CliRunner().invoke(main, ["eval"])
    assert result.exit_code == 1
    assert "BEIR folder" in result.stderr


@pytest.mark.slow
def test_score_with_ranx() -> None:
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}}
    run = {"q1": {"d3": 2.0, "d1": 1.0}, "q2": {}}  # q2 found nothing
    m = evaluation.score(qrels, run)
    assert m["mrr@10"] == pytest.approx(0.25)
    assert m["recall@100"] == pytest.approx(0.5)
    assert m["ndcg@10"] == pytest.approx(0.5 * (1 / 1.5849625), rel=1e-4)
