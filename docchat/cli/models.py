"""`docchat models [--json]`: chat models already on this machine; `docchat models pull`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from docchat.cli.common import EXIT_INTERRUPTED, AppContext, fail, print_json, run_guarded

if TYPE_CHECKING:
    from docchat.types import LocalModel


def table(models: list[LocalModel]) -> list[str]:
    """Aligned rows: name, source, parameters, size, quantization, context, chat template,
    and what is wrong (too big for this machine, an unreadable header)."""
    from docchat.generate.fit import gigabytes  # here: `docchat --help` stays light

    head = ("NAME", "SOURCE", "PARAMS", "SIZE", "QUANT", "CONTEXT", "TEMPLATE", "")
    rows = [head]
    for m in models:
        note = m.problem or (f"too big: {m.too_big}" if m.too_big else "")
        rows.append(
            (
                m.name,
                m.source,
                m.parameters or "?",
                gigabytes(m.size_bytes),
                m.quantization or "?",
                str(m.context_length or "?"),
                {True: "yes", False: "no", None: "?"}[m.chat_template],
                note,
            )
        )
    widths = [min(max(len(r[i]) for r in rows), 96) for i in range(len(head) - 1)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1]
        for r in rows
    ]


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the models as a JSON array.")
@click.option("--gpu-layers", type=int, help="Judge the fit for this many GPU layers (-1 = all).")
@click.option("--n-ctx", type=int, help="Judge the fit for this context window.")
@click.pass_context
def models(ctx: click.Context, as_json: bool, gpu_layers: int | None, n_ctx: int | None) -> None:
    """List chat models runnable without downloading: the bundled one, generate.model_dirs,
    the Hugging Face cache, Ollama and LM Studio. `--model NAME` accepts the names shown."""
    if ctx.invoked_subcommand is not None:
        return
    app: AppContext = ctx.obj

    def body() -> int:
        found = app.service().local_models(n_gpu_layers=gpu_layers, n_ctx=n_ctx)
        if as_json:
            print_json([m.to_json() for m in found])
            return 0
        for line in table(found):
            click.echo(line.rstrip())
        if sys.stdout.isatty():
            click.secho(
                "use one with: docchat ask QUESTION -c NAME --model MODEL (or set generate.model)",
                dim=True,
                err=True,
            )
        return 0

    run_guarded(body)


@models.command()
@click.argument("spec", metavar="REPO[:FILE]")
@click.option("--json", "as_json", is_flag=True, help="Print the pulled model as JSON.")
@click.pass_obj
def pull(app: AppContext, spec: str, as_json: bool) -> None:
    """Download a GGUF from the Hugging Face hub (HF_ENDPOINT honoured) into its cache.

    REPO is owner/name; FILE a .gguf file in it or a quantization such as Q4_K_M (needed when
    the repo has several). An interrupted download resumes when run again.
    """

    def status(message: str) -> None:
        click.secho(message, dim=True, err=True)

    def body() -> int:
        try:
            model, fetched = app.service().pull_model(spec, on_status=status)
        except KeyboardInterrupt:
            fail("interrupted; the same command resumes the download", EXIT_INTERRUPTED)
        if as_json:
            print_json({**model.to_json(), "downloaded_bytes": fetched})
            return 0
        if not fetched:
            status("already downloaded")
        for line in table([model]):
            click.echo(line.rstrip())
        status(f"use it with: docchat ask QUESTION -c COLLECTION --model {model.name}")
        return 0

    run_guarded(body)


COMMANDS = [models]
