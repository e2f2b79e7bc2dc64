"""The doctor's report (`docchat doctor`) in the app: rows appear as each check finishes."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from docchat.ui.guard import guarded
from docchat.ui.messages import DoctorFinished, DoctorRow, WorkFailed
from docchat.ui.widgets.titlebar import TitleBar

if TYPE_CHECKING:
    from docchat.doctor import Check
    from docchat.service import Docchat

MARKS = {"pass": ("ok", "green"), "warn": ("warn", "yellow"), "fail": ("FAIL", "red")}


def row_text(check: Check) -> Text:
    mark, colour = MARKS.get(check.status, ("skip", "bright_black"))
    text = Text.assemble((f"{mark:>4} ", f"bold {colour}"), (f"{check.title}: ", "bold"))
    text.append(check.summary)
    if check.fix and check.status in ("warn", "fail"):
        text.append(f"\n     fix: {check.fix}", style=colour)
    return text


class DoctorScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="doctor.back"),
        Binding("ctrl+r", "rerun", "Check again", id="doctor.rerun"),
    ]

    def __init__(self, service: Docchat) -> None:
        super().__init__()
        self.service = service
        self.title = "docchat — doctor"
        self.checks: list[Check] = []
        self.finished = False

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield VerticalScroll(id="doctor-rows")
        yield Static("checking… (loading the models takes a moment)", id="doctor-status")
        yield Footer(compact=True)

    async def on_mount(self) -> None:
        await self.action_rerun()

    async def action_rerun(self) -> None:
        self.checks, self.finished = [], False
        await self.query_one("#doctor-rows").remove_children()
        self.query_one("#doctor-status", Static).update("checking…")
        self.run_checks()

    @work(thread=True, exclusive=True, group="doctor")
    def run_checks(self) -> None:
        from docchat.doctor import diagnose

        worker = get_current_worker()
        with guarded(self, "doctor"):
            for check in diagnose(self.service.config_file, service=self.service):
                if worker.is_cancelled:
                    return
                self.post_message(DoctorRow(check))
        self.post_message(DoctorFinished())

    async def on_doctor_row(self, message: DoctorRow) -> None:
        self.checks.append(message.check)
        row = Static(row_text(message.check), classes=f"doctor-row {message.check.status}")
        await self.query_one("#doctor-rows").mount(row)

    def on_doctor_finished(self, message: DoctorFinished) -> None:
        self.finished = True
        failed = sum(c.failed for c in self.checks)
        self.query_one("#doctor-status", Static).update(
            "all checks passed" if not failed else f"{failed} check(s) failed — see fix: lines"
        )

    def on_work_failed(self, message: WorkFailed) -> None:
        self.notify(message.error, title="doctor failed", severity="error", timeout=8)
        self.query_one("#doctor-status", Static).update("the doctor itself failed")

    def action_back(self) -> None:
        self.workers.cancel_group(self, "doctor")
        self.app.pop_screen()
