"""`docchat doctor`: checks everything docchat needs on this machine and says how to fix what
fails. Headless: the CLI prints the checks as a table (or JSON), the TUI shows them in a
screen; both iterate `diagnose()`, which yields each Check as soon as it is known.

Check ids are stable (scripts read `docchat doctor --json`; README "docchat doctor"):
python, packages, cpu, llama_cpp, torch, cuda, sqlite, faiss, config, data_dir,
collection:<name> (one per collection), embedder, generator.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from docchat.doctor.check import Check, Status, guarded
from docchat.errors import DocchatError

if TYPE_CHECKING:
    from docchat.service import Docchat

__all__ = ["Check", "Status", "diagnose", "guarded", "report"]


def diagnose(
    config_file: str | None = None,
    overrides: dict[str, Any] | None = None,
    service: Docchat | None = None,
) -> Iterator[Check]:
    """Every check, fast ones first. `service`: the running app's (the TUI passes its own, so
    the models it already loaded are reused); else one is built from the config."""
    from docchat.doctor import machine, models, storage

    yield from machine.checks()
    settings, config_check = storage.config_check(config_file, overrides)
    if service is not None:
        settings = service.settings
    yield config_check
    yield from machine.native_checks(settings)
    yield from storage.checks(settings)
    if service is None:
        try:
            from docchat.service import Docchat

            service = Docchat(settings)
        except DocchatError as e:
            for check_id, title in (("embedder", "Embedding model"), ("generator", "Chat model")):
                yield Check(check_id, title, "fail", str(e), "fix the config (see above)")
            return
    yield from storage.collection_checks(service)
    yield from models.checks(service)


def report(checks: list[Check]) -> dict[str, Any]:
    """The `--json` document: `ok` (no check failed) and every check in order."""
    return {"ok": not any(c.failed for c in checks), "checks": [c.to_json() for c in checks]}
