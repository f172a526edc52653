"""SHACL property paths written out: as SPARQL 1.1 property paths for the queries, and as
the findings write them (pySHACL's form). Walking a path on the data is ``DataReader``'s."""

from __future__ import annotations

import pyoxigraph as ox

from kzld.validating.shacl_shapes import FIRST, ShapesGraph
from kzld.vocabulary import SH

_COMPLEX_PATH = {SH + "inversePath", SH + "alternativePath", SH + "zeroOrMorePath",
                 SH + "oneOrMorePath", SH + "zeroOrOnePath", FIRST.value}  # fmt: skip


def is_predicate(s: ShapesGraph, path) -> bool:
    """Whether the path is a single predicate (an IRI that describes no complex path)."""
    found = s.out.get(path, {})
    return isinstance(path, ox.NamedNode) and not (_COMPLEX_PATH & set(found))


def sparql_path(s: ShapesGraph, path) -> str:
    """The SHACL path as a SPARQL 1.1 property path."""
    if is_predicate(s, path):
        return str(path)
    if s.out.get(path, {}).get(FIRST.value):
        return "(" + "/".join(sparql_path(s, p) for p in s.items(path)) + ")"
    for name, fmt in (
        ("inversePath", "^({})"),
        ("zeroOrMorePath", "({})*"),
        ("oneOrMorePath", "({})+"),
        ("zeroOrOnePath", "({})?"),
    ):
        inner = s.one(path, name)
        if inner is not None:
            return fmt.format(sparql_path(s, inner))
    alternatives = s.one(path, "alternativePath")
    return "(" + "|".join(sparql_path(s, p) for p in s.items(alternatives)) + ")"


def finding_path(s: ShapesGraph, path) -> str:
    """A path for a finding, written as the pySHACL engine writes it."""
    if is_predicate(s, path):
        return str(path)
    if s.out.get(path, {}).get(FIRST.value):
        return "/".join(finding_path(s, p) for p in s.items(path))
    for name, suffix in (
        ("zeroOrMorePath", "*"),
        ("oneOrMorePath", "+"),
        ("zeroOrOnePath", "?"),
    ):
        inner = s.one(path, name)
        if inner is not None:
            return "(" + finding_path(s, inner) + ")" + suffix
    inverse = s.one(path, "inversePath")
    if inverse is not None:
        return "^" + finding_path(s, inverse)
    alternatives = s.one(path, "alternativePath")
    return "(" + "|".join(finding_path(s, p) for p in s.items(alternatives)) + ")"
