"""A log file in the user log dir that survives crashes (each record is flushed as written)."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("docchat")


class _QuietFileHandler(logging.FileHandler):
    def handleError(self, record: logging.LogRecord) -> None:
        pass


def setup_logging(folder: Path | None = None) -> Path | None:
    """Attach a FileHandler to the `docchat` logger; returns the file, or None if unwritable.

    A missing log file must never stop the app, so failures here are swallowed.
    """
    try:
        if folder is None:
            from docchat.locations import user_log_dir

            folder = user_log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "docchat.log"
        root = logging.getLogger("docchat")
        # One docchat handler per process, pointing at the current log dir (which moves when
        # the user log dir does, as it does between tests).
        for old in [h for h in root.handlers if getattr(h, "_docchat", False)]:
            if Path(old.baseFilename) == path:  # type: ignore[attr-defined]
                return path
            root.removeHandler(old)
            old.close()
        # A file name that is not valid UTF-8 is logged with its odd bytes escaped, and a
        # log that cannot be written (a full disk) is left unwritten: neither may print
        # "--- Logging error ---" over the user's terminal.
        handler = _QuietFileHandler(path, encoding="utf-8", errors="backslashreplace")
        handler._docchat = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        return path
    except OSError:
        return None
