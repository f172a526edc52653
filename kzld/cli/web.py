"""Commands that publish for people and machines: `kzld serve` and `kzld site`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from kzld.cli import PUBLICATION_FOLDER, SITE_FOLDER, DataOption, app


@app.command()
def serve(
    data: DataOption = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; loopback unless told otherwise.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="Port to listen on; 0 picks a free one.", min=0, max=65535)
    ] = 8000,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds a SPARQL query may run.", min=0.1)
    ] = 10.0,
    max_rows: Annotated[
        int, typer.Option("--max-rows", help="Rows or triples in one SPARQL answer.", min=1)
    ] = 10_000,
    publication: Annotated[
        Path | None,
        typer.Option(
            "--publication",
            help="Folder of a `kzld build` whose files to serve byte for byte (and whose "
            "kzld.nt to query, unless --data is given). Default: one built at start.",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", help="SPARQL worker processes per core.", min=2)
    ] = 4,
    memory: Annotated[
        int, typer.Option("--memory", help="MiB one SPARQL query may allocate.", min=64)
    ] = 1024,
    cache: Annotated[
        int,
        typer.Option(
            "--cache",
            help="MiB of SPARQL answers kept for repeated GET requests, per front process "
            "(0: none).",
            min=0,
        ),
    ] = 64,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not log requests.")] = False,
) -> None:
    """Serve the graph read-only: /sparql, /id/... pages and RDF, /reconcile (Ctrl-C stops
    it, exit 130)."""
    import kzld
    from kzld.errors import UsageError
    from kzld.web.server import KzldServer, Limits

    paths = data if data or publication is None else [publication / "kzld.nt"]
    graph = kzld.load(paths, prepare_store=True)
    limits = Limits(
        fronts=min(os.cpu_count() or 1, 4),
        timeout=timeout,
        max_rows=max_rows,
        workers=workers,
        long_queries=max(1, workers // 2),
        memory=memory,
        cache=cache,
    )
    try:
        server = KzldServer(graph, host, port, limits, quiet, publication)
    except OSError as err:
        raise UsageError(
            f"cannot listen on {host}:{port}: {err.strerror or err}",
            hint="choose another --port, or --port 0 for a free one",
        ) from None
    bound_host, bound_port = server.server_address[:2]
    if server.site.publication.note:
        typer.echo(f"kzld: note: {server.site.publication.note}", err=True)
    typer.echo(f"kzld: serving {len(graph)} triples at http://{bound_host}:{bound_port}/")
    if bound_host not in ("127.0.0.1", "::1", "localhost"):
        typer.echo(
            f"kzld: note: listening on {bound_host}: reachable from other machines", err=True
        )
    typer.echo("  /sparql  /id/{kind}/{name}  /reconcile  /ontology  /timeline.svg  (Ctrl-C stops)")
    server.serve_forever()  # Ctrl-C ends the run with exit code 130, as for any command


@app.command()
def site(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Folder to write the site into; only the site's own files are replaced.",
        ),
    ] = SITE_FOLDER,
    data: DataOption = None,
    dumps: Annotated[
        Path | None,
        typer.Option(
            "--dumps",
            help=f"Folder of a `kzld build` to link for download. Default: {PUBLICATION_FOLDER} "
            "(where `kzld build` publishes); without it the site has no downloads.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write a static site: landing page, one page per entity, ontology docs, timeline SVG."""
    import kzld
    from kzld.errors import UsageError
    from kzld.web.site import build_site, is_publication

    if dumps is not None and not is_publication(dumps):
        raise UsageError(
            f"--dumps {dumps}: no kzld publication there (no SHA256SUMS)",
            hint=f"run 'kzld build --out {dumps}' first, or leave --dumps out",
        )
    if dumps is None:
        dumps = PUBLICATION_FOLDER
        if not is_publication(dumps):
            typer.echo(
                f"kzld: note: no publication in {dumps}: the site has no downloads "
                "(run 'kzld build' first)",
                err=True,
            )
    graph = kzld.load(data)
    written = build_site(graph, out, dumps)
    typer.echo(f"kzld: wrote {len(written)} files to {out} (open {out / 'index.html'})")
