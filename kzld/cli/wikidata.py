"""Wikidata commands: export (Wikibase RDF, QuickStatements), reconcile, diff."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kzld.cli import DataOption, app, data_paths, day_value

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
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # as any new file (and the build's), not mkstemp's 0600
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, out)
    except OSError as err:
        raise OutputError(f"{out}: {err.strerror or err}", hint="check the folder") from None


@export_app.command("wikidata")
def export_wikidata(data: DataOption = None, out: OutOption = None) -> None:
    """The graph in the Wikibase RDF dump shape (wd:, p:, ps:, pq:, pr:, wdt:), as Turtle."""
    import kzld

    notes: list[str] = []
    body = kzld.export_wikidata(kzld.load(data), notes)
    for note in notes:
        typer.echo(f"kzld: left out: {note}", err=True)
    _emit(body, out)


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
            callback=day_value,
        ),
    ] = None,
) -> None:
    """QuickStatements v1 for the P39 statements of reconciled people, with references.

    What QuickStatements cannot express is listed on standard error.
    """
    import kzld
    from kzld.wikidata.export import parse_day, quickstatements

    when = parse_day(retrieved) if retrieved else None
    result = quickstatements(kzld.load(data), when)
    for note in result.notes:
        typer.echo(f"kzld: not written: {note}", err=True)
    _emit("".join(line + "\n" for line in result.lines).encode("utf-8"), out)


EndpointOption = Annotated[
    str,
    typer.Option("--endpoint", "-e", help="A Wikidata-compatible SPARQL endpoint."),
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", help="Seconds to wait for each answer.", min=1)
]


def _kinds_value(ctx: typer.Context, param: typer.CallbackParam, value: str) -> str:
    """Option callback: known kinds only; an empty list would reconcile nothing, silently."""
    import difflib

    from kzld.errors import UsageError

    known = (
        "person",
        "organisation",
        "post",
    )  # kzld.wikidata.reconciliation.KINDS, without its import
    kinds = [t.strip() for t in value.split(",") if t.strip()]
    if not kinds:
        raise UsageError("--types is empty", hint="give some of: " + ", ".join(known))
    for kind in kinds:
        if kind not in known:
            close = difflib.get_close_matches(kind, known, n=1)
            raise UsageError(
                f"--types: unknown kind {kind!r}",
                hint=(f"did you mean {close[0]}? " if close else "")
                + "choose from "
                + ", ".join(known),
            )
    return value


reconcile_app = typer.Typer(
    help="Find Wikidata candidates for entities without a QID; accept reviewed ones.",
    invoke_without_command=True,
)
app.add_typer(reconcile_app, name="reconcile")


@reconcile_app.callback()
def reconcile(
    ctx: typer.Context,
    data: DataOption = None,
    endpoint: EndpointOption = "https://query.wikidata.org/sparql",
    out: OutOption = None,
    types: Annotated[
        str,
        typer.Option(
            "--types",
            help="Kinds of entity to reconcile, comma-separated.",
            callback=_kinds_value,
        ),
    ] = "person,organisation,post",
    timeout: TimeoutOption = 60.0,
) -> None:
    """Write scored candidates to a review file (TSV): one request at a time, by label
    and alias in English, Russian and Kazakh, constrained by type and context."""
    if ctx.invoked_subcommand is not None:
        return
    import kzld
    from kzld.wikidata.reconciliation import reconcile as find
    from kzld.wikidata.reconciliation import review_table

    kinds = [t.strip() for t in types.split(",") if t.strip()]
    candidates = find(kzld.load(data), endpoint, kinds, timeout=timeout)
    _emit(review_table(candidates).encode("utf-8"), out)
    proposed = sum(1 for c in candidates if c.qid)
    typer.echo(
        f"kzld: {proposed} candidates for {len({c.entity for c in candidates})} "
        "entities; mark rows 'accept' and run kzld reconcile accept --review",
        err=True,
    )


@reconcile_app.command("accept")
def accept(
    entity: Annotated[
        str | None, typer.Argument(help="The kzld entity: IRI or kind/slug.", show_default=False)
    ] = None,
    qid: Annotated[str | None, typer.Argument(help="The Wikidata item, e.g. Q123.")] = None,
    by: Annotated[str, typer.Option("--by", help="Who accepts the match (your name).")] = "",
    score: Annotated[
        int | None, typer.Option("--score", help="The candidate's score (0-100).", min=0, max=100)
    ] = None,
    review: Annotated[
        Path | None,
        typer.Option("--review", help="Accept every row of this review file marked 'accept'."),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", help="Mapping file. Default: data/wikidata-mapping.ttl."),
    ] = None,
    data: DataOption = None,
) -> None:
    """Record an accepted match (who, when, score) in the mapping file."""
    import datetime

    import kzld
    from kzld.errors import UsageError
    from kzld.loading.resources import bundled
    from kzld.wikidata.reconciliation import Decision, decisions_from_review, entity_iri
    from kzld.wikidata.reconciliation import accept as record

    now = datetime.datetime.now(datetime.UTC)
    if review is not None:
        if entity or qid:
            raise UsageError("give ENTITY QID or --review, not both")
        try:
            text = review.read_text(encoding="utf-8")
        except OSError as err:
            raise UsageError(f"{review}: {err.strerror or err}") from None
        decisions = decisions_from_review(text, by, now)
    elif entity and qid:
        decisions = [Decision(entity_iri(entity), qid.strip(), by, now, score)]
    else:
        raise UsageError("give ENTITY QID, or --review FILE", hint="see kzld reconcile accept -h")
    target = mapping or bundled("data") / "wikidata-mapping.ttl"
    paths = data_paths(data) + ([target] if target.exists() else [])
    added = record(kzld.load(paths), target, decisions)
    typer.echo(f"kzld: {len(decisions)} decision(s) written to {target}", err=True)
    typer.echo(added, nl=False)


diff_app = typer.Typer(help="Compare kzld with another source.", no_args_is_help=True)
app.add_typer(diff_app, name="diff")


@diff_app.command("wikidata")
def diff_wikidata(
    data: DataOption = None,
    endpoint: EndpointOption = "https://query.wikidata.org/sparql",
    out: OutOption = None,
    quickstatements: Annotated[
        Path | None,
        typer.Option("--quickstatements", help="Write QuickStatements for the safe subset here."),
    ] = None,
    retrieved: Annotated[
        str | None,
        typer.Option(
            "--retrieved",
            help="Date for S813, YYYY-MM-DD. Default: the data's date.",
            show_default=False,
            callback=day_value,
        ),
    ] = None,
    timeout: TimeoutOption = 60.0,
) -> None:
    """What Wikidata lacks, what conflicts (precision-aware), what only Wikidata has, for
    reconciled entities; QuickStatements only for additions that cannot clash."""
    import kzld
    from kzld.wikidata.export import parse_day
    from kzld.wikidata.reconciliation import diff, diff_table

    when = parse_day(retrieved) if retrieved else None
    report = diff(kzld.load(data), endpoint, retrieved=when, timeout=timeout)
    _emit(diff_table(report).encode("utf-8"), out)
    if quickstatements is not None:
        _emit(
            "".join(line + "\n" for line in report.quickstatements).encode("utf-8"), quickstatements
        )
    for note in report.notes:
        typer.echo(f"kzld: not written: {note}", err=True)
    counts: dict[str, int] = {}
    for d in report.differences:
        counts[d.kind] = counts.get(d.kind, 0) + 1
    typer.echo("kzld: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())), err=True)
