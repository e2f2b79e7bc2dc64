"""How to open a source at the right place: editor at +LINE, PDF viewer at the page, or else
the pager / system opener. Pure functions build the command; the app runs it suspended."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pydantic is not needed to paint the first frame
    from textual.app import App

    from docchat.config import UISettings

# Files an editor shows as they are; everything else goes to a viewer or the system opener.
BINARY_KINDS = {".pdf", ".docx", ".epub", ".odt", ".doc"}


@dataclass(frozen=True)
class OpenCommand:
    argv: list[str]
    suspend: bool  # terminal programs take over the screen; GUI openers run detached


def open_command(
    path: str, page: int | None, line: int, ui: UISettings, env: Mapping[str, str]
) -> OpenCommand | None:
    suffix = Path(path).suffix.lower()
    if suffix == ".pdf" and ui.pdf_viewer:
        # Split first, then fill in: a path with spaces stays one argument.
        argv = [t.format(path=path, page=page or 1) for t in shlex.split(ui.pdf_viewer)]
        return OpenCommand(argv, suspend=True)
    if suffix not in BINARY_KINDS:
        editor = ui.editor or env.get("VISUAL") or env.get("EDITOR")
        if editor:
            return OpenCommand([*shlex.split(editor), f"+{line}", path], suspend=True)
        pager = env.get("PAGER") or ("less" if shutil.which("less") else "")
        if pager:
            argv = shlex.split(pager)
            if Path(argv[0]).name == "less":
                argv.append(f"+{line}g")
            return OpenCommand([*argv, path], suspend=True)
    opener = system_opener()
    return OpenCommand([opener, path], suspend=False) if opener else None


def system_opener() -> str | None:
    name = "open" if sys.platform == "darwin" else "xdg-open"
    return shutil.which(name)


def launch(command: OpenCommand, app: App[Any]) -> int | None:
    """Run an opener: terminal programs take over the terminal (suspended app) and their exit
    status comes back; GUI openers are started detached so the app keeps running (None)."""
    if command.suspend:
        with app.suspend():
            return subprocess.call(command.argv)
    else:
        subprocess.Popen(
            command.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        return None
