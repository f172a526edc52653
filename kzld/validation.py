"""SHACL validation of a loaded graph: findings, a report, and its renderings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Finding:
    """One validation result, in plain strings so that engines can be compared."""

    severity: str  # "Violation" | "Warning" | "Info" (the sh: local name)
    focus: str  # focus node in N-Triples form
    path: str | None  # N-Triples IRI, or a SPARQL path string for complex paths
    value: str | None  # value node in N-Triples form
    message: str
    shape: str  # source shape, N-Triples form (skolemised IRIs, no blank nodes)
    constraint: str  # constraint component IRI, N-Triples form
    source_file: str | None  # data file the focus node comes from (KGraph.origins)
