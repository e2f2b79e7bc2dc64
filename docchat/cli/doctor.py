"""`docchat doctor [--json]`: check everything docchat needs; exit 0 only when all pass."""

from __future__ import annotations

import click

from docchat.cli.common import AppContext, print_json, run_guarded

MARKS = {"pass": ("ok", "green"), "warn": ("warn", "yellow"), "fail": ("FAIL", "red")}


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@click.pass_obj
def doctor(app: AppContext, as_json: bool) -> None:
    """Check Python, packages, CPU features, models, storage and collections; say how to fix
    what fails. Exit code 0 only when every check passes (warnings are fine)."""

    def body() -> int:
        from docchat.doctor import diagnose, report

        overrides = {"data_dir": app.data_dir} if app.data_dir else None
        checks = []
        for check in diagnose(app.config_file, overrides):
            checks.append(check)
            if not as_json:
                mark, colour = MARKS.get(check.status, ("skip", "bright_black"))
                click.echo(click.style(f"{mark:>4}", fg=colour, bold=True), nl=False)
                click.echo(f"  {check.title:<16} {check.summary}")
                if check.fix and check.status in ("warn", "fail"):
                    click.secho(f"{'':22}fix: {check.fix}", fg=colour)
        result = report(checks)
        if as_json:
            print_json(result)
        else:
            failed = sum(c.failed for c in checks)
            click.echo()
            click.secho(
                "all checks passed" if not failed else f"{failed} check(s) failed",
                fg="green" if not failed else "red",
                bold=True,
            )
        return 0 if result["ok"] else 1

    run_guarded(body)


COMMANDS = [doctor]
