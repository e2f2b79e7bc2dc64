"""Jupyter notebooks: markdown and fenced code in order, short outputs, headings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from docchat.errors import ParseError, UnsupportedFile
from docchat.ingest.parsers import parse
from docchat.types import ParsedDocument

Check = Callable[[ParsedDocument], None]

NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3", "language": "python", "display_name": "Py"}},
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Analysis\n", "\n", "Intro."]},
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": 1,
            "source": "# a comment, not a heading\nprint(accuracy)",
            "outputs": [
                {"output_type": "stream", "name": "stdout", "text": ["accuracy: 0.93\n"]},
                {"output_type": "error", "ename": "E", "evalue": "x", "traceback": ["boom"]},
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {"text/plain": "\n".join(["row"] * 500), "image/png": "AAAA"},
                },
            ],
        },
        {"cell_type": "markdown", "metadata": {}, "source": "## Results\nGood."},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "source": "", "outputs": []},
    ],
}


def test_cells_in_order_with_headings(tmp_path: Path, check_positions: Check) -> None:
    path = tmp_path / "analysis.ipynb"
    path.write_text(json.dumps(NOTEBOOK), encoding="utf-8")
    doc = parse(path)
    check_positions(doc)
    (page,) = doc.pages
    assert doc.kind == "notebook" and doc.title == "Analysis"
    assert [(h.level, h.title) for h in page.headings] == [(1, "Analysis"), (2, "Results")]
    assert "```python\n# a comment, not a heading\nprint(accuracy)\n```" in page.text
    assert "```text\naccuracy: 0.93\n```" in page.text
    assert "boom" not in page.text and "row\nrow" not in page.text and "AAAA" not in page.text


@pytest.mark.parametrize("content", ['{"cells": [', '{"not": "a notebook"}', "[1, 2]"])
def test_broken_notebook_is_a_parse_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "broken.ipynb"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ParseError, match="invalid notebook"):
        parse(path)


def test_notebook_without_content_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "blank.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}))
    with pytest.raises(UnsupportedFile):
        parse(path)
