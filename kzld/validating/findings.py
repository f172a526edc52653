"""Findings: one validation result in plain N-Triples strings, comparable across engines."""

from __future__ import annotations

from dataclasses import astuple, dataclass
from pathlib import Path

import pyoxigraph as ox

from kzld.loading.graph import KGraph


@dataclass(frozen=True, order=True)
class Finding:
    """One validation result, in plain strings so that engines can be compared."""

    severity: str  # "Violation" | "Warning" | "Info" (sh: local name), or a shape's own <IRI>
    focus: str  # focus node in N-Triples form
    path: str | None  # N-Triples IRI, or a SPARQL path string for complex paths
    value: str | None  # value node in N-Triples form
    message: str
    shape: str  # source shape, N-Triples form (skolemised IRIs, no blank nodes)
    constraint: str  # constraint component IRI, N-Triples form
    source_file: str | None  # data file the focus node comes from (KGraph.origins)


def parse_term(text: str) -> ox.NamedNode | ox.Literal:
    """Parse one term written in N-Triples form back into a term."""
    triple = next(iter(ox.parse(f"<urn:s> <urn:p> {text} .", format=ox.RdfFormat.N_TRIPLES)))
    return triple.object


def source_file(graph: KGraph, focus: ox.Term) -> str | None:
    """The data file the focus node comes from, relative to the working folder if below it."""
    origin = graph.origin_of(focus) if isinstance(focus, ox.NamedNode) else None
    if origin is None:
        return None
    try:
        return str(Path(origin).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(origin)


def finding_order(finding: Finding) -> tuple[str, ...]:
    """Sort key of findings: a missing path or value sorts first (None and str do not
    compare)."""
    return tuple("" if part is None else part for part in astuple(finding))
