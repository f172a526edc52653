"""The one registry of RDF formats kzld reads and writes: name, extension, media type."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kzld.errors import UsageError


@dataclass(frozen=True)
class RdfFormat:
    name: str
    extension: str
    media_type: str
    oxigraph: ox.RdfFormat


TURTLE = RdfFormat("turtle", ".ttl", "text/turtle", ox.RdfFormat.TURTLE)
NTRIPLES = RdfFormat("ntriples", ".nt", "application/n-triples", ox.RdfFormat.N_TRIPLES)
JSONLD = RdfFormat("jsonld", ".jsonld", "application/ld+json", ox.RdfFormat.JSON_LD)

FORMATS = (TURTLE, NTRIPLES, JSONLD)
_BY_EXTENSION = {f.extension: f for f in FORMATS}


def accepted_extensions() -> str:
    return ", ".join(f.extension for f in FORMATS)


def format_for_path(path: Path) -> RdfFormat:
    """The format of a data file, chosen by its extension only: content is never sniffed."""
    fmt = _BY_EXTENSION.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(
            f"{path}: unsupported file type {path.suffix or '(none)'!r}",
            hint=f"kzld reads {accepted_extensions()}; convert the file first",
        )
    return fmt
