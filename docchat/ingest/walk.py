"""Find the files to index under the folders (and files) a user names.

The walk honours `.gitignore`, `.ignore` and `.docchatignore` files the way git does (each
applies to its own folder and below; a deeper file can re-include what a parent ignored),
skips hidden entries, build and dependency folders and virtualenvs, and never loops on
symlinks. Files docchat cannot read are still yielded, with a `skip_reason`, so the index
report can say why they were left out (a dangling symlink, a symlink loop, a named pipe or
device, a file without read permission, an unsupported type, too large); ignored files are
left out silently, as git does. A pipe is never opened: reading one blocks forever.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from docchat.errors import DocchatError, missing
from docchat.ingest.parsers import parser_for

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

log = logging.getLogger(__name__)

IGNORE_FILES = (".gitignore", ".ignore", ".docchatignore")
# Never worth indexing and often huge; hidden ones (.git, .venv, .tox ...) go with the hidden rule.
ALWAYS_SKIPPED_DIRS = frozenset({".git", "__pycache__", "node_modules"})
VENV_MARKER = "pyvenv.cfg"  # a virtualenv of any name holds thousands of library files
DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class WalkItem:
    """A file found by `walk`: parse it when `skip_reason` is None, else report it as skipped."""

    path: Path  # absolute, resolved to the real file (a broken symlink: the link itself)
    skip_reason: str | None = None


# Ignore rules in force for one folder: (the folder they are relative to, as a path prefix
# ending in a separator; its spec), outermost first.
_Rules = tuple[tuple[str, "GitIgnoreSpec"], ...]


def walk(
    roots: Sequence[Path],
    *,
    exclude: Sequence[str] = (),
    include_hidden: bool = False,
    max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
    follow_symlinks: bool = True,
) -> Iterator[WalkItem]:
    """Yield every file under `roots` in a stable (sorted, depth-first) order, each once.

    `exclude` holds gitignore-style patterns relative to each root. A root that is a file is
    yielded even when hidden or ignored: the user named it. Raises DocchatError for a missing
    root before anything is yielded, so a typo does not index half a list.
    """
    try:
        from pathspec import GitIgnoreSpec
    except ImportError:
        raise missing("pathspec", "walking folders") from None
    checked = []
    for root in roots:
        path = Path(root).expanduser()
        if not path.exists():
            raise DocchatError(f"no such file or folder: {root}")
        checked.append(Path(os.path.abspath(path)))
    excluded = GitIgnoreSpec.from_lines(exclude) if exclude else None
    walker = _Walker(include_hidden, max_file_bytes, follow_symlinks, excluded)
    return walker.run(checked)


class _Walker:
    def __init__(
        self,
        include_hidden: bool,
        max_file_bytes: int | None,
        follow_symlinks: bool,
        excluded: GitIgnoreSpec | None,
    ) -> None:
        self.include_hidden = include_hidden
        self.max_file_bytes = max_file_bytes
        self.follow_symlinks = follow_symlinks
        self.excluded = excluded
        self.seen_files: set[Path] = set()
        self.seen_dirs: set[tuple[int, int]] = set()

    def run(self, roots: list[Path]) -> Iterator[WalkItem]:
        for root in roots:
            if root.is_dir():
                yield from self._walk_root(root)
            else:
                try:
                    st = os.stat(root)
                    real = root.resolve(strict=True)
                except (OSError, RuntimeError) as err:  # RuntimeError: a loop, on old Pythons
                    if root not in self.seen_files:
                        self.seen_files.add(root)
                        problem = (
                            _stat_problem(err, is_link=root.is_symlink())
                            if isinstance(err, OSError)
                            else "symlink loop"
                        )
                        yield WalkItem(root, problem)
                    continue
                if not stat.S_ISREG(st.st_mode):
                    if real not in self.seen_files:
                        self.seen_files.add(real)
                        yield WalkItem(real, _special(st.st_mode))
                    continue
                if item := self._file_item(real, st.st_size):
                    yield item

    def _walk_root(self, root: Path) -> Iterator[WalkItem]:
        return self._walk_from(str(root), root.resolve(), "", _parent_rules(root))

    def _walk_from(self, folder: str, real: Path, rel: str, rules: _Rules) -> Iterator[WalkItem]:
        # Depth-first with an explicit stack: deep trees must not hit the recursion limit.
        # Each folder carries its real path so files need no resolve() (a syscall per part).
        stack: list[tuple[str, Path, str, _Rules]] = [(folder, real, rel, rules)]
        while stack:
            folder, real_folder, rel, rules = stack.pop()
            try:
                st = os.stat(folder)
                if (st.st_dev, st.st_ino) in self.seen_dirs:
                    continue  # reached again through a symlink (or a second root)
                self.seen_dirs.add((st.st_dev, st.st_ino))
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as err:
                log.warning("cannot read folder %s: %s", folder, err.strerror or err)
                continue
            names = {e.name for e in entries}
            if rel and VENV_MARKER in names:
                continue
            rules = rules + _own_rules(folder, names)
            subfolders = []
            for entry in entries:
                if entry.name.startswith(".") and not self.include_hidden:
                    continue
                kind = self._kind(entry)
                if kind is None:
                    continue
                is_dir, size, problem = kind
                if is_dir and entry.name in ALWAYS_SKIPPED_DIRS:
                    continue
                entry_rel = rel + entry.name
                if self._ignored(entry.path, entry_rel, is_dir, rules):
                    continue
                if problem is not None:
                    if (link := real_folder / entry.name) not in self.seen_files:
                        self.seen_files.add(link)
                        yield WalkItem(link, problem)
                    continue
                try:
                    real = (
                        Path(entry.path).resolve(strict=True)
                        if entry.is_symlink()
                        else real_folder / entry.name
                    )
                except (OSError, RuntimeError):  # vanished since it was listed
                    continue
                if is_dir:
                    subfolders.append((entry.path, real, entry_rel + "/", rules))
                elif item := self._file_item(real, size):
                    yield item
            stack.extend(reversed(subfolders))

    def changed(self, root: Path, path: Path) -> Iterator[WalkItem]:
        """What walking `root` yields at or under `path` (see walk_changed)."""
        if path == root:
            yield from self.run([root])
            return
        reached = self._reach(root, path)
        if reached is None:
            return
        rel, rules = reached
        try:
            st = os.stat(path)
        except OSError:
            return  # gone (the caller forgets it) or unreadable like a vanished entry
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return
        if stat.S_ISDIR(st.st_mode):
            yield from self._walk_from(str(path), real, rel + "/", rules)
        elif not stat.S_ISREG(st.st_mode):
            yield WalkItem(real, _special(st.st_mode))
        elif item := self._file_item(real, st.st_size):
            yield item

    def _reach(self, root: Path, path: Path) -> tuple[str, _Rules] | None:
        """(path relative to root, the ignore rules in force in its folder), or None when a
        walk of `root` would not reach `path` (hidden, ignored, in a skipped folder or a
        virtualenv). Only the ignore files and venv marker of the folders on the way are
        looked at, never a folder's listing."""
        parts = path.relative_to(root).parts
        rules = _parent_rules(root)
        folder, rel = str(root), ""
        for i, name in enumerate(parts):
            names = {
                n for n in (*IGNORE_FILES, VENV_MARKER) if os.path.lexists(os.path.join(folder, n))
            }
            if rel and VENV_MARKER in names:
                return None
            rules = rules + _own_rules(folder, names)
            entry = os.path.join(folder, name)
            is_dir = i < len(parts) - 1 or os.path.isdir(entry)
            if name.startswith(".") and not self.include_hidden:
                return None
            if is_dir and name in ALWAYS_SKIPPED_DIRS:
                return None
            if self._ignored(entry, rel + name, is_dir, rules):
                return None
            folder, rel = entry, rel + name + ("/" if i < len(parts) - 1 else "")
        return rel, rules

    def _kind(self, entry: os.DirEntry[str]) -> tuple[bool, int, str | None] | None:
        """(is a folder, size, why it cannot be read or None); None: leave it out silently."""
        try:
            is_link = entry.is_symlink()
            if is_link and not self.follow_symlinks:
                return None  # the user asked for links to be left alone
            st = entry.stat(follow_symlinks=True)
        except OSError as err:
            return False, 0, _stat_problem(err, is_link=entry.is_symlink())
        if stat.S_ISDIR(st.st_mode):
            return True, 0, None
        if not stat.S_ISREG(st.st_mode):
            return False, 0, _special(st.st_mode)
        return False, st.st_size, None

    def _ignored(self, path: str, rel: str, is_dir: bool, rules: _Rules) -> bool:
        suffix = "/" if is_dir else ""
        if self.excluded is not None and self.excluded.match_file(rel + suffix):
            return True
        # As in git, the deepest ignore file with a matching pattern decides (it may re-include).
        for prefix, spec in reversed(rules):
            rel_to_base = path[len(prefix) :].replace(os.sep, "/")
            decision = spec.check_file(rel_to_base + suffix).include
            if decision is not None:
                return decision
        return False

    def _file_item(self, real: Path, size: int) -> WalkItem | None:
        if real in self.seen_files:
            return None
        self.seen_files.add(real)
        if parser_for(real) is None:
            return WalkItem(real, f"unsupported file type '{real.suffix or real.name}'")
        if self.max_file_bytes is not None and size > self.max_file_bytes:
            return WalkItem(real, f"too large ({_mb(size)} > {_mb(self.max_file_bytes)})")
        if not os.access(real, os.R_OK):
            return WalkItem(real, "permission denied (no read access)")
        return WalkItem(real)


def walk_changed(
    roots: Sequence[Path],
    changed: Sequence[Path],
    *,
    exclude: Sequence[str] = (),
    include_hidden: bool = False,
    max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
    follow_symlinks: bool = True,
) -> Iterator[WalkItem]:
    """What `walk(roots)` would yield at or under the `changed` paths (files or folders that
    were created, edited, renamed or deleted), without walking anything else: a watch applies
    a batch of changes to a large tree this way. A changed path that no longer exists, or that
    the walk leaves out (hidden, ignored), yields nothing; a changed ignore file stands for
    its folder. Paths outside every root are left alone."""
    from pathspec import GitIgnoreSpec

    excluded = GitIgnoreSpec.from_lines(exclude) if exclude else None
    walker = _Walker(include_hidden, max_file_bytes, follow_symlinks, excluded)
    tops = sorted({str(Path(os.path.abspath(r))) for r in roots}, key=len, reverse=True)
    wanted = {p.parent if p.name in IGNORE_FILES else p for p in map(Path, changed)}
    targets = sorted(wanted)
    taken: set[Path] = set()
    for path in targets:
        if any(parent in taken for parent in path.parents):
            continue  # inside a folder walked already
        root = next(
            (Path(t) for t in tops if path == Path(t) or str(path).startswith(_prefix(t))), None
        )
        if root is None:
            continue
        taken.add(path)
        yield from walker.changed(root, path)


def _stat_problem(err: OSError, *, is_link: bool) -> str:
    """Why a listed entry cannot be read, in a user's words."""
    if is_link and err.errno == errno.ELOOP:
        return "symlink loop"
    if is_link and err.errno == errno.ENOENT:
        return "dangling symlink (its target does not exist)"
    if err.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if err.errno == errno.ENOENT:
        return "gone (deleted during the run)"
    return f"cannot read: {err.strerror or err}"


def _special(mode: int) -> str:
    """The reason for a file that is not a regular file; reading a pipe would block forever."""
    if stat.S_ISFIFO(mode):
        what = "a named pipe (FIFO)"
    elif stat.S_ISSOCK(mode):
        what = "a socket"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        what = "a device"
    else:
        what = "a special file"
    return f"not a regular file: {what}"


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _prefix(folder: str) -> str:
    return folder if folder.endswith(os.sep) else folder + os.sep


def _own_rules(folder: str, names: set[str]) -> _Rules:
    """The ignore files of `folder` itself, merged into one spec in a fixed order."""
    from pathspec import GitIgnoreSpec

    lines: list[str] = []
    for name in IGNORE_FILES:
        if name in names:
            path = os.path.join(folder, name)
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    lines.extend(f.read().splitlines())
            except OSError as err:
                log.warning("cannot read %s: %s", path, err.strerror or err)
    return ((_prefix(folder), GitIgnoreSpec.from_lines(lines)),) if lines else ()


def _parent_rules(root: Path) -> _Rules:
    """Ignore files above `root` up to the top of its git work tree, as git applies them.

    Outside a git work tree only the root's own files count: a stray ignore file in the home
    folder should not silently hide documents. Nor do they count when they ignore the root
    itself: the user asked for that folder by name.
    """
    if (root / ".git").exists():
        return ()  # the root is a work tree of its own; a repository around it does not count
    parents = []
    for folder in root.parents:
        parents.append(folder)
        if (folder / ".git").exists():
            break
    else:
        return ()
    rules: _Rules = ()
    for folder in reversed(parents):
        try:
            names = set(os.listdir(folder))
        except OSError:
            continue
        rules += _own_rules(str(folder), names & set(IGNORE_FILES))
    for prefix, spec in reversed(rules):
        decision = spec.check_file(str(root)[len(prefix) :].replace(os.sep, "/") + "/").include
        if decision is not None:
            return () if decision else rules
    return rules
