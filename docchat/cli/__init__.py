"""`docchat` command line: one click group; each command group lives in its own module,
imported only when its command runs (`docchat index` never pays for what `ask` needs: the
claims checker, the generators...)."""

from __future__ import annotations

import difflib
import importlib
import sys
from pathlib import Path

import click

from docchat.cli.common import AppContext, fail, run_guarded
from docchat.logs import setup_logging

# Command name -> the module under docchat.cli that defines it (as its COMMANDS[0]).
COMMAND_MODULES = {
    "index": "index",
    "watch": "watch",
    "status": "status",
    "search": "search",
    "ask": "ask",
    "sessions": "sessions",
    "collections": "collections",
    "models": "models",
    "mcp": "mcp",
    "doctor": "doctor",
    "eval": "eval",
}


class _FoldersOrCommand(click.Group):
    """`docchat ~/papers` opens the app on a folder, `docchat index ...` runs a command: the
    first positional that is not a command name starts the list of folders. Commands are
    loaded when asked for (click's lazy-group pattern)."""

    _VALUED = frozenset({"--config", "--data-dir", "-c", "--collection"})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is None:
            return None
        command: click.Command = importlib.import_module(f"docchat.cli.{module}").COMMANDS[0]
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        i = 0
        while i < len(args):
            a = args[i]
            if a in self._VALUED:
                i += 2
                continue
            if a.startswith("-"):
                i += 1
                continue
            if a not in COMMAND_MODULES:
                folders = [x for x in args[i:] if not x.startswith("-")]
                self._check_folders(folders)
                ctx.meta["folders"] = folders
                args = args[:i] + [x for x in args[i:] if x.startswith("-")]
            break
        return super().parse_args(ctx, args)

    def _check_folders(self, folders: list[str]) -> None:
        """A word that is neither a command nor a path is a typo: say so, never open the app
        (`docchat serch foo` used to start the full-screen app on a folder that is not there)."""
        for word in folders:
            if Path(word).expanduser().exists():
                continue
            if word is folders[0] and "/" not in word:
                close = difflib.get_close_matches(word, list(COMMAND_MODULES), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                fail(f"no such command '{word}'{hint} and no folder named '{word}'")
            fail(f"no such file or folder: {word}")


@click.group(
    cls=_FoldersOrCommand,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option("--config", "config_file", metavar="FILE", help="Config file (or DOCCHAT_CONFIG).")
@click.option("--data-dir", metavar="DIR", help="Where collections live (or DOCCHAT_DATA_DIR).")
@click.option("-c", "--collection", help="Collection to open in the app.")
@click.version_option(package_name="docchat")
@click.pass_context
def main(
    ctx: click.Context,
    config_file: str | None,
    data_dir: str | None,
    collection: str | None,
) -> None:
    """Chat with your documents, offline. With no command, opens the terminal app.

    `docchat FOLDER...` indexes the folders into a collection named after the first one,
    then opens it.
    """
    folders = ctx.meta.get("folders", [])
    quiet_library_logs()
    setup_logging()
    ctx.obj = AppContext(config_file=config_file, data_dir=data_dir)
    if ctx.invoked_subcommand is None:
        from docchat.cli.app import open_app

        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            # The full-screen app would wait for keys that never come and hang a script.
            fail(
                "the terminal app needs a terminal (stdin and stdout are not one); "
                "use a command instead, e.g. docchat search QUERY -c NAME (see docchat --help)"
            )

        run_guarded(lambda: open_app(ctx.obj, collection, list(folders)))


def quiet_library_logs() -> None:
    """Libraries log warnings about damaged input (pypdf: "incorrect startxref pointer");
    the run already reports each bad file in one line, so keep them off the terminal."""
    import logging

    for name in ("pypdf", "trafilatura", "htmldate", "courlan", "charset_normalizer"):
        logging.getLogger(name).setLevel(logging.ERROR)


if __name__ == "__main__":
    sys.exit(main())
