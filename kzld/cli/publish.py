"""Commands that publish the dumps and check a publication: build, verify."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kzld.cli import PUBLICATION_FOLDER, DataOption, app

OutOption = Annotated[
    Path,
    typer.Option(
        "--out",
        "-o",
        help="Folder of the publication (relative to the current directory). A build "
        "replaces it as a whole, and only a folder that holds a kzld publication.",
    ),
]


@app.command()
def build(
    data: DataOption = None,
    out: OutOption = PUBLICATION_FOLDER,
    lock_wait: Annotated[
        float,
        typer.Option(
            "--lock-wait",
            min=0,
            help="Seconds to wait while another build holds the output folder, then fail (exit 5).",
        ),
    ] = 10.0,
) -> None:
    """Validate, then publish Turtle, N-Triples and JSON-LD dumps of the ontology, the data
    and both together, the JSON-LD context, a VoID/DCAT dataset description (dataset.ttl)
    and SHA256SUMS.

    Invalid data is never published (exit 1). The ontology part is always the bundled
    ontology; with --data the data part is what you give. The output is byte-identical on
    every run (the issued date comes from the newest source, or SOURCE_DATE_EPOCH), and is
    swapped into place only when complete: a failed or killed build leaves the previous
    publication intact.
    """
    import kzld

    if sys.stderr.isatty():
        publication = _with_progress(
            lambda step: kzld.publish(out, data, lock_wait=lock_wait, progress=step)
        )
    else:
        publication = kzld.publish(out, data, lock_wait=lock_wait)
    typer.echo(
        f"published {publication.triples} triples in {len(publication.files)} files "
        f"to {out}/ (and {out}/SHA256SUMS)"
    )
    width = max(len(f.name) for f in publication.files)
    for f in publication.files:
        typer.echo(f"  {f.name:<{width}}  {f.size:>9} bytes  sha256:{f.sha256[:16]}")


@app.command()
def verify(out: OutOption = PUBLICATION_FOLDER) -> None:
    """Check a publication against its SHA256SUMS and dataset.ttl, and name every file
    altered, missing or added since it was built (exit 1 if any)."""
    from kzld.errors import CheckFailed
    from kzld.publishing.publication import verify as verify_publication

    found = verify_publication(out)
    if found:
        for d in found:
            typer.echo(f"{d.kind}: {out / d.name} ({d.detail})")
        names = ", ".join(f"{d.name} ({d.kind})" for d in found)
        raise CheckFailed(
            f"{out} does not match its checksums: {names}",
            hint="rebuild with 'kzld build' rather than editing published files",
        )
    typer.echo(f"ok: every file in {out} matches SHA256SUMS and dataset.ttl")


def _with_progress(run):
    """Run a build with a progress display on stderr (only used when it is a terminal)."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("starting")
        return run(lambda step: progress.update(task, description=step))
