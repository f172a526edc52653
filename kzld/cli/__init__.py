"""The kzld command line: a thin shell that parses options, calls the library, renders.

Each command group lives in its own module beside this one and registers itself on
``app``; only this module turns errors into messages and exit codes.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import typer.core

from kzld import __version__

if TYPE_CHECKING:
    from datetime import date

# typer escapes "[" for rich's HTML export whenever rich is installed, even with rich markup
# off, so every default would read "\[default: table]"; kzld's help is plain text.
typer.core.HAS_RICH = False

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


# The default layout: the site in public/, the publication beside its pages in public/dumps.
# A build replaces only its own folder and the site writes only its own files, so neither
# command ever removes the other's work (and `kzld verify` sees only the build's files).
SITE_FOLDER = Path("public")
PUBLICATION_FOLDER = SITE_FOLDER / "dumps"


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
    from kzld.loading.network import deny_network

    # Every command starts offline; remote commands open exactly the host they were given.
    deny_network()


def data_paths(given: list[Path] | None) -> list[Path]:
    from kzld.loading.resources import default_data_paths

    return list(given) if given else default_data_paths()


def report_error(message: str, hint: str | None = None) -> None:
    from kzld.errors import printable

    typer.echo(f"kzld: error: {printable(message)}", err=True)
    if hint:
        typer.echo(f"  hint: {printable(hint)}", err=True)


# --------------------------------------------------------------------------- option checks
# Values are checked where they are parsed, so a mistake is named with its option before
# any data is read (callbacks raise kzld's own errors, which click lets through).


def check_date(option: str, text: str, day_only: bool = False) -> tuple[date, date]:
    """The first and last day a YYYY, YYYY-MM or YYYY-MM-DD option value covers."""
    from kzld.dates import parse_date

    given = parse_date(text, option=option, day_only=day_only)
    return given.first, given.last


def date_value(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> str | None:
    """Option callback: a YYYY, YYYY-MM or YYYY-MM-DD date, checked against the calendar."""
    if value is not None:
        check_date(_option_name(param), value)
    return value


def day_value(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> str | None:
    """Option callback: a YYYY-MM-DD day, checked against the calendar."""
    if value is not None:
        check_date(_option_name(param), value, day_only=True)
    return value


def named_value(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> str | None:
    """Option callback: a name; an empty one would silently mean "all", so it is refused."""
    from kzld.errors import UsageError

    if value is not None and not value.strip():
        option = _option_name(param)
        raise UsageError(f"{option} is empty", hint=f"give a name, or leave {option} out for all")
    return value


def check_period(start: str | None, end: str | None) -> None:
    """Refuse a --from after the --to: the period would match nothing, without a word."""
    from kzld.errors import UsageError

    if start and end and check_date("--from", start)[0] > check_date("--to", end)[1]:
        raise UsageError(
            f"the period ends before it starts: --from {start} is after --to {end}",
            hint="swap --from and --to",
        )


def _option_name(param) -> str:
    return max(param.opts, key=len) if param.opts else f"--{param.name}"


# --------------------------------------------------------------------------- usage errors


def _usage_error(err, argv: list[str]) -> tuple[str, str]:
    """click's usage error as kzld's one line and hint, with "did you mean" where it can."""
    import difflib

    import click

    ctx = err.ctx
    path = ctx.command_path if ctx is not None else "kzld"
    see = f"see '{path} --help'"
    if isinstance(err, click.NoSuchOption):
        close = difflib.get_close_matches(err.option_name, err.possibilities or [], n=3)
        if not close and ctx is not None:
            names = [o for p in ctx.command.params for o in getattr(p, "opts", [])]
            close = difflib.get_close_matches(err.option_name, names, n=3)
        hint = f"did you mean {' or '.join(sorted(close))}? " if close else ""
        return f"{path} has no option {err.option_name}", hint + see
    param = getattr(err, "param", None)
    if isinstance(err, click.MissingParameter) and param is not None:
        what = "argument" if param.param_type_name == "argument" else "option"
        shown = param.human_readable_name if what == "argument" else _option_name(param)
        return f"{path} needs the {what} {shown}", see
    if isinstance(err, click.BadParameter) and param is not None:
        option = _option_name(param)
        given = _given_value(param, argv)
        if isinstance(param.type, click.Choice):
            choices = [str(c) for c in param.type.choices]
            close = difflib.get_close_matches((given or "").lower(), choices, n=2, cutoff=0.5)
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            return (
                f"{option}: {given!r} is not one of {', '.join(choices)}",
                hint + see,
            )
        detail = err.message.rstrip(".")
        return f"{option}: {detail}", see
    message = err.format_message().rstrip(".")
    if message.startswith("No such command"):
        name = message.split("'")[1] if "'" in message else ""
        group = ctx.command if ctx is not None else None
        names = sorted(getattr(group, "commands", {}))
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        return f"{path} has no command {name!r}", hint + f"its commands: {', '.join(names)}"
    return message[:1].lower() + message[1:], see


def _given_value(param, argv: list[str]) -> str | None:
    """The text given for an option on the command line (click keeps only its message)."""
    for i, arg in enumerate(argv):
        for opt in param.opts:
            if arg == opt and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(opt + "="):
                return arg[len(opt) + 1 :]
            if len(opt) == 2 and not opt.startswith("--") and arg.startswith(opt) and arg != opt:
                return arg[2:]
    return None


def exit_code_table() -> str:
    """The exit codes, one line each: every command's help ends with them."""
    from kzld.errors import EXIT_CODES

    return "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES.items())


def _add_exit_codes(command) -> None:
    """End the help of a command and of every subcommand with the one exit-code table."""
    # \b keeps click from re-wrapping the table into one paragraph.
    command.epilog = "\b\nExit codes:\n" + exit_code_table()
    for sub in getattr(command, "commands", {}).values():
        _add_exit_codes(sub)


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
    import click

    from kzld.errors import INTERRUPTED, USAGE, KzldError

    argv = sys.argv[1:] if argv is None else list(argv)
    register_commands(argv)
    command = typer.main.get_command(app)
    _add_exit_codes(command)
    try:
        done = command.main(args=argv, prog_name="kzld", standalone_mode=False)
    except SystemExit:  # click ends an EPIPE with sys.exit(1), its streams wrapped
        if type(sys.stdout).__name__.endswith("PacifyFlushWrapper"):  # a closed pipe
            _quiet_stdout()
            return 0
        raise
    except click.exceptions.NoArgsIsHelpError as err:  # a bare group: its help, as asked
        typer.echo(err.format_message())
        return 0
    except click.UsageError as err:
        report_error(*_usage_error(err, argv))
        return USAGE
    except KzldError as err:
        if _debug:
            raise
        report_error(err.message, err.hint)
        return err.exit_code
    except click.Abort:  # end of input at a prompt
        report_error("interrupted")
        return INTERRUPTED
    except BrokenPipeError:  # kzld ... | head: the reader has all it wanted
        _quiet_stdout()
        return 0
    finally:
        from kzld.loading.network import lift_network_guard

        # The guard belongs to the command; callers embedding run() keep their network.
        lift_network_guard()
    if done == INTERRUPTED:  # typer turns Ctrl-C into exit code 130 without a word
        typer.echo("kzld: interrupted", err=True)
    return done if isinstance(done, int) else 0


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the flush at exit finds no closed pipe to complain of."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main() -> None:
    sys.exit(run())
