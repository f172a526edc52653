"""The validate command: SHACL validation of the data, reported as text, Turtle or JSON."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kzld.cli import DataOption, app


class ReportFormat(StrEnum):
    text = "text"
    turtle = "turtle"
    json = "json"


class FailOn(StrEnum):
    violation = "violation"
    warning = "warning"


class EngineName(StrEnum):
    pyshacl = "pyshacl"
    native = "native"


@app.command()
def validate(
    data: DataOption = None,
    shapes: Annotated[
        list[Path] | None,
        typer.Option(
            "--shapes",
            help="SHACL shapes file or folder; repeatable. Default: the bundled shapes.",
            show_default=False,
            readable=False,  # the loader names what it cannot read, exit 3
        ),
    ] = None,
    format: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="Report format.", case_sensitive=False)
    ] = ReportFormat.text,
    fail_on: Annotated[
        FailOn,
        typer.Option(
            "--fail-on",
            help="Lowest severity that makes the data fail (exit 1).",
            case_sensitive=False,
        ),
    ] = FailOn.violation,
    engine: Annotated[
        EngineName,
        typer.Option(
            "--engine",
            help="SHACL engine: native (SPARQL on pyoxigraph, scales to millions of triples) "
            "or pyshacl (the reference; tests hold native to its findings).",
            case_sensitive=False,
        ),
    ] = EngineName.native,
) -> None:
    """Check the data against the SHACL shapes and report every finding (exit 1 when the
    data does not conform)."""
    import kzld
    from kzld.errors import CheckFailed

    graph = kzld.load(data, prepare_store=engine is EngineName.native)
    report = kzld.validate(graph, shapes, engine=engine.value, fail_on=fail_on.value)
    if format is ReportFormat.text:
        typer.echo(report.to_text(), nl=False)
    elif format is ReportFormat.turtle:
        typer.echo(report.to_turtle(), nl=False)
    else:
        typer.echo(report.to_json(), nl=False)
    if not report.conforms:
        raise CheckFailed(
            f"the data does not conform ({report.summary().split(': ', 1)[1]})",
            hint="fix the findings above"
            + ("" if fail_on is FailOn.warning else "; warnings alone do not fail"),
        )
