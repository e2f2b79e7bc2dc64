"""The folder walk: ignore files, excludes, hidden entries, symlinks, size and type skips."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from docchat.errors import DocchatError
from docchat.ingest.walk import WalkItem, walk


def touch(root: Path, *names: str, content: str = "text\n") -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


def rel(items: list[WalkItem], root: Path) -> list[str]:
    real = root.resolve()
    return [item.path.relative_to(real).as_posix() for item in items]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    touch(root, "a.md", "b.log", "z.txt", "build/out.md", "notes/keep.log", "notes/secret.md",
          "notes/deep/x.md", "notes/deep/y.md", ".hidden.md", ".cache/c.md",
          "node_modules/pkg/readme.md", "__pycache__/m.py", "env/pyvenv.cfg", "env/lib/site.py",
          "Makefile", "photo.psd")  # fmt: skip
    (root / ".gitignore").write_text("*.log\nbuild/\n", encoding="utf-8")
    # Nested file: re-includes keep.log for its subtree only, and adds its own rule.
    (root / "notes/.gitignore").write_text("!keep.log\nsecret.md\n", encoding="utf-8")
    (root / "notes/deep/.docchatignore").write_text("y.md\n", encoding="utf-8")
    return root


def test_ignore_files_hidden_and_junk_folders(tree: Path) -> None:
    items = list(walk([tree]))
    assert rel(items, tree) == [
        "Makefile", "a.md", "photo.psd", "z.txt", "notes/keep.log", "notes/deep/x.md",
    ]  # fmt: skip
    reasons = {i.path.name: i.skip_reason for i in items}
    assert reasons["photo.psd"] == "unsupported file type '.psd'"
    assert reasons["a.md"] is None and reasons["Makefile"] is None
    assert all(i.path.is_absolute() for i in items)


def test_order_is_stable(tree: Path) -> None:
    assert list(walk([tree])) == list(walk([tree]))


def test_exclude_patterns_are_relative_to_the_root(tree: Path) -> None:
    items = list(walk([tree], exclude=["*.txt", "/notes/deep/", "photo.*"]))
    assert rel(items, tree) == ["Makefile", "a.md", "notes/keep.log"]


def test_include_hidden(tree: Path) -> None:
    names = rel(list(walk([tree], include_hidden=True)), tree)
    assert ".hidden.md" in names and ".cache/c.md" in names
    assert ".gitignore" in names  # shown (as unsupported) once hidden files are wanted
    assert not any(n.startswith(("node_modules/", "__pycache__/", "env/")) for n in names)


def test_file_roots_are_taken_as_named(tree: Path) -> None:
    items = list(walk([tree / ".hidden.md", tree / "b.log", tree / "a.md", tree]))
    names = rel(items, tree)
    assert names[:3] == [".hidden.md", "b.log", "a.md"]
    assert names.count("a.md") == 1  # not yielded again by the folder walk


def test_missing_root_raises_before_anything_is_walked(tree: Path) -> None:
    with pytest.raises(DocchatError, match="no such file or folder"):
        walk([tree, tree / "nope"])


def test_too_large_files_are_yielded_with_a_reason(tmp_path: Path) -> None:
    touch(tmp_path, "small.md", content="x")
    touch(tmp_path, "big.md", content="x" * 3 * 1024 * 1024)
    items = {i.path.name: i.skip_reason for i in walk([tmp_path], max_file_bytes=1024 * 1024)}
    assert items["small.md"] is None
    assert items["big.md"] == "too large (3.0 MB > 1.0 MB)"
    assert next(iter(walk([tmp_path / "big.md"], max_file_bytes=None))).skip_reason is None


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_loops_end_and_each_file_comes_once(tmp_path: Path) -> None:
    root = tmp_path / "root"
    touch(root, "top.md", "a/inner.md", "b/other.md")
    (root / "a/link").symlink_to("..")  # a loop back to the root
    (root / "b/again").symlink_to(root / "a")  # a second way into a/
    (root / "alias.md").symlink_to(root / "top.md")  # a second name for one file
    (root / "dangling.md").symlink_to(root / "missing.md")
    items = list(walk([root]))
    paths = [i.path for i in items]
    assert len(paths) == len(set(paths))
    readable = [i for i in items if i.skip_reason is None]
    assert sorted(rel(readable, root)) == ["a/inner.md", "b/other.md", "top.md"]
    assert all(not i.path.is_symlink() for i in readable)  # resolved to the real files
    # The broken link is not dropped in silence: the report says why it was left out.
    assert {i.path.name: i.skip_reason for i in items if i.skip_reason} == {
        "dangling.md": "dangling symlink (its target does not exist)"
    }


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs and symlinks")
def test_files_that_cannot_be_read_come_with_a_reason(tmp_path: Path) -> None:
    """A pipe named like text (opening it would block forever), a symlink loop, a dangling
    link: each is yielded with a reason, never parsed, never dropped without a word."""
    root = tmp_path / "root"
    touch(root, "ok.md")
    os.mkfifo(root / "x.txt")
    (root / "loop_a.txt").symlink_to(root / "loop_b.txt")
    (root / "loop_b.txt").symlink_to(root / "loop_a.txt")
    (root / "dangling.md").symlink_to(root / "missing.md")
    reasons = {i.path.name: i.skip_reason for i in walk([root])}
    assert reasons == {
        "ok.md": None,
        "x.txt": "not a regular file: a named pipe (FIFO)",
        "loop_a.txt": "symlink loop",
        "loop_b.txt": "symlink loop",
        "dangling.md": "dangling symlink (its target does not exist)",
    }
    # Named as a root, the pipe is still not opened.
    assert [i.skip_reason for i in walk([root / "x.txt"])] == [
        "not a regular file: a named pipe (FIFO)"
    ]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads everything")
def test_unreadable_file_comes_with_a_reason(tmp_path: Path) -> None:
    touch(tmp_path, "secret.md")
    (tmp_path / "secret.md").chmod(0)
    try:
        items = {i.path.name: i.skip_reason for i in walk([tmp_path])}
    finally:
        (tmp_path / "secret.md").chmod(0o644)
    assert items == {"secret.md": "permission denied (no read access)"}


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlinks_are_not_followed_when_asked(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    touch(outside, "far.md")
    root = tmp_path / "root"
    touch(root, "near.md")
    (root / "linked").symlink_to(outside)
    (root / "far-alias.md").symlink_to(outside / "far.md")
    assert rel(list(walk([root], follow_symlinks=False)), root) == ["near.md"]
    followed = [i.path.name for i in walk([root])]
    assert sorted(followed) == ["far.md", "near.md"]


def test_ignore_files_above_the_root_count_inside_a_git_work_tree(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".gitignore").write_text("drafts/\n*.tmp.md\n", encoding="utf-8")
    touch(repo, "docs/a.md", "docs/b.tmp.md", "docs/drafts/d.md")
    assert rel(list(walk([repo / "docs"])), repo / "docs") == ["a.md"]
    # A folder the user names explicitly is walked even though the repo ignores it.
    assert rel(list(walk([repo / "docs/drafts"])), repo / "docs/drafts") == ["d.md"]


def test_ignore_files_above_the_root_do_not_count_outside_git(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.md\n", encoding="utf-8")
    touch(tmp_path, "docs/a.md")
    assert rel(list(walk([tmp_path / "docs"])), tmp_path / "docs") == ["a.md"]


def test_a_root_that_is_its_own_repository_ignores_the_outer_one(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("*.md\n", encoding="utf-8")
    inner = tmp_path / "vendor/project"
    (inner / ".git").mkdir(parents=True)
    touch(inner, "README.md")
    assert rel(list(walk([inner])), inner) == ["README.md"]
