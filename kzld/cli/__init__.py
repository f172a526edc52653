"""The kzld command line: a thin shell that parses options, calls the library, renders.

Each command group lives in its own module beside this one and registers itself on
``app``; only this module turns errors into messages and exit codes.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kzld import __version__

app = typer.Typer(
    name="kzld",
    help=(
        "Publish, check and query the kzld knowledge graph of Kazakhstan's military "
        "leadership reshuffle (2022-2025)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_debug = False

# Shared option type: every command that reads data takes --data, repeatable.
DataOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--data",
        "-d",
        help="RDF file or folder to read (.ttl, .nt, .jsonld); repeatable. "
        "Default: the bundled ontology and data.",
        show_default=False,
        readable=False,  # kzld says which file it cannot read, with exit 3, not click (2)
    ),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kzld {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback when a command fails.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    global _debug
    _debug = debug
    from kzld.network import deny_network

    # Every command starts offline; remote commands open exactly the host they were given.
    deny_network()


def data_paths(given: list[Path] | None) -> list[Path]:
    from kzld.resources import default_data_paths

    return list(given) if given else default_data_paths()


def report_error(message: str, hint: str | None = None) -> None:
    from kzld.errors import printable

    typer.echo(f"kzld: error: {printable(message)}", err=True)
    if hint:
        typer.echo(f"  hint: {printable(hint)}", err=True)


# The module that registers each command (on import). A run imports only the module of
# the command it names: typer builds the options of every registered command at start-up,
# and all of them cost 0.03 s of a 0.15 s cold query. Help and unknown names import all.
COMMAND_MODULES = {
    "query": "ask",
    "load": "ask",
    "validate": "check",
    "build": "publish",
    "verify": "publish",
    "serve": "web",
    "site": "web",
    "export": "wikidata",
    "reconcile": "wikidata",
    "diff": "wikidata",
}


def register_commands(argv: list[str]) -> None:
    """Import the module of the command argv names, or every module when it names none."""
    import importlib

    named = next((arg for arg in argv if not arg.startswith("-")), None)
    modules = [COMMAND_MODULES[named]] if named in COMMAND_MODULES else COMMAND_MODULES.values()
    for module in dict.fromkeys(modules):
        importlib.import_module(f"kzld.cli.{module}")


def run(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code (main() exits with it)."""
    from kzld.errors import INTERRUPTED, KzldError

    argv = sys.argv[1:] if argv is None else list(argv)
    register_commands(argv)
    try:
        app(args=argv, prog_name="kzld")
    except SystemExit as done:  # typer's own ending: help, usage errors, success
        if type(sys.stdout).__name__.endswith("PacifyFlushWrapper"):  # click: a closed pipe
            _quiet_stdout()
            return 0
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except KzldError as err:
        if _debug:
            raise
        report_error(err.message, err.hint)
        return err.exit_code
    except KeyboardInterrupt:
        report_error("interrupted")
        return INTERRUPTED
    except BrokenPipeError:  # kzld ... | head: the reader has all it wanted
        _quiet_stdout()
        return 0
    finally:
        from kzld.network import lift_network_guard

        # The guard belongs to the command; callers embedding run() keep their network.
        lift_network_guard()
    return 0


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the flush at exit finds no closed pipe to complain of."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main() -> None:
    sys.exit(run())
