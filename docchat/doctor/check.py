"""One row of the doctor's report, and running a check so that it can only ever fail as a row."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from docchat.errors import DocchatError

log = logging.getLogger("docchat.doctor")

Status = Literal["pass", "warn", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    """One row: `fix` says what to do when the status is warn or fail."""

    id: str
    title: str
    status: Status
    summary: str
    fix: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def guarded(check_id: str, title: str, fn: Callable[[], Check]) -> Check:
    """Run one check; whatever it raises becomes a failed row, never a dead doctor."""
    try:
        return fn()
    except DocchatError as e:
        return Check(check_id, title, "fail", str(e))
    except Exception as e:
        log.exception("doctor: %s failed", check_id)
        return Check(
            check_id, title, "fail", f"unexpected error: {type(e).__name__}: {e}", "see the log"
        )
