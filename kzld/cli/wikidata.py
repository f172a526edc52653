"""Wikidata commands: export (Wikibase RDF, QuickStatements), reconcile, diff."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kzld.cli import DataOption, app, data_paths

export_app = typer.Typer(help="Export the graph for other tools.", no_args_is_help=True)
app.add_typer(export_app, name="export")

OutOption = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="Write here instead of standard output.", show_default=False),
]


def _emit(data: bytes, out: Path | None) -> None:
    """Write to standard output, or replace the file at once (never a partial file)."""
    if out is None:
        import sys

        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    import os
    import tempfile

    from kzld.errors import OutputError

    try:
        fd, tmp = tempfile.mkstemp(dir=out.parent if str(out.parent) else ".", prefix=".kzld-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, out)
    except OSError as err:
        raise OutputError(f"{out}: {err.strerror or err}", hint="check the folder") from None


@export_app.command("wikidata")
def export_wikidata(data: DataOption = None, out: OutOption = None) -> None:
    """The graph in the Wikibase RDF dump shape (wd:, p:, ps:, pq:, pr:, wdt:), as Turtle."""
    from kzld.graph import load_graph
    from kzld.wikidata import export_wikidata as export

    _emit(export(load_graph(data_paths(data))), out)


@export_app.command("quickstatements")
def export_quickstatements(
    data: DataOption = None,
    out: OutOption = None,
    retrieved: Annotated[
        str | None,
        typer.Option(
            "--retrieved",
            help="Date for S813 (retrieved), YYYY-MM-DD. Default: the data's date "
            "(its latest dcterms:modified or dcterms:created).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """QuickStatements v1 for the P39 statements of reconciled people, with references.

    What QuickStatements cannot express is listed on standard error.
    """
    from kzld.graph import load_graph
    from kzld.wikidata import parse_day, quickstatements

    when = parse_day(retrieved) if retrieved else None
    result = quickstatements(load_graph(data_paths(data)), when)
    for note in result.notes:
        typer.echo(f"kzld: not written: {note}", err=True)
    _emit("".join(line + "\n" for line in result.lines).encode("utf-8"), out)
