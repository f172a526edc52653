"""The query and load commands: canned or user SPARQL on the embedded store or an endpoint."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kzld.cli import DataOption, app, check_period, date_value, named_value


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    tsv = "tsv"
    json = "json"
    md = "md"


def _name_option(what: str) -> object:
    return typer.Option(
        help=f"{what}: IRI, slug or any label or spelling.",
        show_default=False,
        callback=named_value,
    )


def _date_option(what: str) -> object:
    return typer.Option(
        help=f"{what} (YYYY, YYYY-MM or YYYY-MM-DD).", show_default=False, callback=date_value
    )


EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        "-e",
        help="SPARQL 1.1 endpoint URL; the embedded store when absent.",
        show_default=False,
    ),
]


@app.command()
def query(
    name: Annotated[
        str | None, typer.Argument(help="Canned query; omit to list them.", show_default=False)
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="Run this read-only SELECT query instead.",
            show_default=False,
            readable=False,  # read_regular reports it, exit 3
        ),
    ] = None,
    post: Annotated[str | None, _name_option("Post")] = None,
    person: Annotated[str | None, _name_option("Person")] = None,
    org: Annotated[str | None, _name_option("Organisation")] = None,
    date: Annotated[str | None, _date_option("Date")] = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Start of the period (YYYY, YYYY-MM or YYYY-MM-DD).",
            show_default=False,
            callback=date_value,
        ),
    ] = None,
    to: Annotated[str | None, _date_option("End of the period")] = None,
    type_: Annotated[
        str | None,
        typer.Option(
            "--type",
            help="Event type, e.g. arrest, dismissal.",
            show_default=False,
            callback=named_value,
        ),
    ] = None,
    endpoint: EndpointOption = None,
    graph: Annotated[
        str | None,
        typer.Option(
            "--graph",
            help="Named graph to query (sent as default-graph-uri), e.g. the one `kzld load "
            "--graph` filled; the embedded store holds one graph, the --data.",
            show_default=False,
        ),
    ] = None,
    data: DataOption = None,
    format: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            "-f",
            help="Output format (a terminal table, or SPARQL results JSON).",
            case_sensitive=False,
        ),
    ] = OutputFormat.table,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds before the query is abandoned.", min=0.1)
    ] = 30.0,
) -> None:
    """Run a canned query (list them with no name) or your own with --file."""
    import kzld
    from kzld.errors import InputError, UsageError
    from kzld.querying import queries, tables

    if name is None and file is None:
        typer.echo(_listing(queries.catalogue()), nl=False)
        return
    if name is not None and file is not None:
        raise UsageError("give a query name or --file, not both")
    check_period(from_, to)
    given = {
        "post": post,
        "person": person,
        "org": org,
        "date": date,
        "from": from_,
        "to": to,
        "type": type_,
    }
    if graph is not None:
        queries.check_graph_iri(graph, "--graph")
    if data and endpoint is not None:
        raise UsageError("--data and --endpoint exclude each other", hint="choose one")
    where = {"endpoint": endpoint, "named_graph": graph, "timeout": timeout}
    if file is not None:
        if any(given.values()):
            raise UsageError("parameters apply to canned queries only, not to --file")
        from kzld.loading.resources import read_regular

        raw = read_regular(file)  # a regular file only: a FIFO or /dev/zero would never end
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise InputError(
                f"not valid UTF-8 (byte 0x{err.object[err.start]:02x} at offset {err.start})",
                path=str(file),
                hint="save the query as UTF-8",
            ) from None
        queries.check_read_only(text, str(file))  # before any data is read or host reached
        rows = kzld.select(text, _local_graph(endpoint, data), origin=str(file), **where)
    else:
        queries.canned(name)  # before the data is read: a misspelt name fails at once
        rows = kzld.query(name, _local_graph(endpoint, data), **where, **given)
    typer.echo(tables.render(rows.results, format.value, _terminal_width()), nl=False)


def _local_graph(endpoint: str | None, data: list[Path] | None):
    """The --data to query, loaded; None for an endpoint (or the bundled data, which the
    API loads itself)."""
    if endpoint is not None or not data:
        return None
    import kzld

    return kzld.load(data, prepare_store=True)


def _terminal_width() -> int | None:
    """The terminal's width when output goes to one; piped tables keep a row per line."""
    import shutil
    import sys

    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def _listing(catalogue) -> str:
    lines = []
    for canned in catalogue.values():
        params = " ".join(f"[--{p.name} {p.type.upper()}]" for p in canned.params)
        lines.append(f"{canned.name:<13} {canned.summary}")
        if params:
            lines.append(f"{'':<13} {params}")
    lines.append("")
    lines.append("Run one with: kzld query NAME [options]; your own with: kzld query --file Q.rq")
    return "\n".join(lines) + "\n"


@app.command()
def load(
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint",
            "-e",
            help="SPARQL endpoint of the store to fill; its Graph Store URL is derived from it.",
            show_default=False,
        ),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="Graph Store Protocol URL; default: derived from --endpoint "
            "(Oxigraph: .../query -> .../store).",
            show_default=False,
        ),
    ] = None,
    graph: Annotated[
        str | None,
        typer.Option(
            "--graph", help="Named graph IRI; default graph when absent.", show_default=False
        ),
    ] = None,
    append: Annotated[
        bool, typer.Option("--append", help="Add to the graph instead of replacing it.")
    ] = False,
    data: DataOption = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds per request.", min=0.1)
    ] = 300.0,
) -> None:
    """Push the data into a triple store through the SPARQL 1.1 Graph Store Protocol,
    then read the graph back and count its triples.

    Credentials (Basic or Digest) come from KZLD_STORE_USER and KZLD_STORE_PASSWORD, else
    from the store host's entry in ~/.netrc; never from the command line.
    """
    import pyoxigraph as ox

    import kzld
    from kzld.errors import UsageError
    from kzld.querying import endpoints, queries

    if store is None:
        if endpoint is None:
            raise UsageError("give --endpoint URL or --store URL")
        store = endpoints.store_url_for(endpoint)
    if graph is not None:
        queries.check_graph_iri(graph, "--graph")
    credentials = endpoints.credentials_for(store)
    kgraph = kzld.load(data)
    body = ox.serialize(kgraph.sorted_triples(), format=ox.RdfFormat.N_TRIPLES)
    found = endpoints.load_into_store(
        store,
        body,
        len(kgraph),
        graph=graph,
        append=append,
        timeout=timeout,
        credentials=credentials,
    )
    target = f"graph <{graph}>" if graph else "the default graph"
    verb = "added" if append else "loaded"
    typer.echo(f"{verb} {len(kgraph)} triples into {target} of {store} (it holds {found} triples)")
