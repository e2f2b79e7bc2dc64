"""What every command shares: settings, the service, error handling and exit codes."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

import click

from docchat.errors import DocchatError

if TYPE_CHECKING:
    from docchat.service import Docchat

EXIT_OK, EXIT_USER_ERROR, EXIT_PARTIAL = 0, 1, 2
EXIT_INTERRUPTED = 130


@dataclass
class AppContext:
    """Global options; the service is built on first use so `--help` stays instant."""

    config_file: str | None = None
    data_dir: str | None = None
    _service: Docchat | None = field(default=None, repr=False)

    def service(self, **overrides: Any) -> Docchat:
        from docchat.config import load_settings
        from docchat.service import Docchat

        if self._service is None or overrides:
            flags: dict[str, Any] = {k: v for k, v in overrides.items() if v}
            if self.data_dir:
                flags["data_dir"] = self.data_dir
            settings = load_settings(self.config_file, _nest(flags))
            self._service = Docchat(settings, self.config_file)
        return self._service


def _nest(flags: dict[str, Any]) -> dict[str, Any]:
    """{"search.k": 3} -> {"search": {"k": 3}}."""
    out: dict[str, Any] = {}
    for key, value in flags.items():
        *sections, last = key.split(".")
        node = out
        for s in sections:
            node = node.setdefault(s, {})
        node[last] = value
    return out


def fail(message: str, code: int = EXIT_USER_ERROR) -> NoReturn:
    click.echo(f"docchat: {message}", err=True)
    sys.exit(code)


def run_guarded(fn: Callable[[], int | None]) -> None:
    """Run a command body: DocchatError -> one line + exit 1; Ctrl-C -> exit 130."""
    try:
        code = fn()
    except DocchatError as e:
        fail(str(e), e.exit_code)
    except KeyboardInterrupt:
        click.echo("docchat: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        sys.exit(EXIT_OK)
    sys.exit(code or EXIT_OK)


def print_json(value: object) -> None:
    """Print JSON; a file name that is not valid UTF-8 keeps its odd bytes as `\\udcff`
    escapes (Python's json reads them back into the very path), so the output is valid."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    click.echo(_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


_SURROGATE = re.compile("[\ud800-\udfff]")


@contextlib.contextmanager
def first_ctrl_c_sets(
    cancel: threading.Event,
    notice: str = "",
    signals: tuple[signal.Signals, ...] = (signal.SIGINT,),
) -> Iterator[None]:
    """While inside: the first Ctrl-C (or another of `signals`, e.g. SIGTERM) sets `cancel`
    (the job stops cleanly and reports) and prints `notice`; a second one interrupts for
    real."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        if notice:
            click.echo(notice, err=True)

    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
