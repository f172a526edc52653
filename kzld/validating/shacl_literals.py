"""Literals as the data writes them, where the pyoxigraph store holds them otherwise.

The store canonicalises the literals of datatypes it knows ("05"^^xsd:int comes back as
"5"^^xsd:integer); SHACL compares value nodes as RDF terms. ``AsWritten`` gives every
check the data's own literals back; ``RdflibData`` runs SHACL-SPARQL, for the focus nodes
that need it, on an rdflib copy of the data, which keeps every literal as written.
"""

from __future__ import annotations

import re

import pyoxigraph as ox

from kzld.loading.graph import KGraph
from kzld.validating.shacl_shapes import TYPE
from kzld.validating.shacl_terms import LANGSTRING
from kzld.vocabulary import XSD

_STRING = XSD + "string"


class AsWritten:
    """Typed literals as the data writes them, where the store holds them otherwise.

    pyoxigraph keeps a literal of a datatype it knows by its value: "05"^^xsd:int comes
    back as "5"^^xsd:integer, "1.50" as "1.5", "1"^^xsd:boolean as "true". SHACL compares
    value nodes as RDF terms (sh:datatype, sh:pattern, sh:in, sh:maxCount on "5" and "05"),
    so each triple whose literal the store rewrote is kept here under the store's form,
    with every literal the data wrote for that subject and predicate.
    """

    def __init__(self, data: KGraph):
        # One pass, each term read once: a term read from a triple is a new Python object.
        candidates = []
        for t in data.triples:
            o = t.object
            if type(o) is ox.Literal and o.datatype.value not in _KEPT:
                candidates.append((t, o))
        stored = _stored_forms({o for _, o in candidates})
        self.table: dict[tuple, list] = {}
        kept = []
        for t, o in candidates:
            if stored[o] != o:
                self.table.setdefault((t.subject, t.predicate, stored[o]), []).append(o)
            else:
                kept.append((t, o))
        if self.table:  # a literal written as stored, beside one that was rewritten
            for t, o in kept:
                key = (t.subject, t.predicate, o)
                if key in self.table:
                    self.table[key].append(o)
        self.rewritten = {key[2] for key in self.table}
        # Nodes whose SPARQL runs on rdflib: subjects of such triples, and the literals
        # themselves (a query's text is canonicalised too: VALUES "05" reads as 5).
        self.subjects = {key[0] for key in self.table}
        self.subjects.update(o for found in self.table.values() for o in found)

    def all(self, subject, predicate, value) -> list:
        """The literals written for the value the store answered (the value itself if
        the store kept it as written)."""
        if value in self.rewritten:
            found = self.table.get((subject, predicate, value))
            if found:
                return list(dict.fromkeys(found))
        return [value]


def _stored_forms(literals: set) -> dict:
    """Each literal as the store holds it, asked of a scratch store (one row each)."""
    literals = [lit for lit in literals if not _plainly_canonical(lit)]
    found = {}
    if literals:
        scratch = ox.Store()
        scratch.extend(
            ox.Quad(ox.NamedNode(f"urn:kzld:literal:{n}"), TYPE, lit)
            for n, lit in enumerate(literals)
        )
        for quad in scratch.quads_for_pattern(None, TYPE, None):
            n = int(quad.subject.value.rsplit(":", 1)[1])
            found[literals[n]] = quad.object
    return _Forms(found)


class _Forms(dict):
    def __missing__(self, literal):
        return literal  # already in the form the store keeps


def _plainly_canonical(literal) -> bool:
    """A cheap test that spares the scratch store the common, canonical literals."""
    pattern = _CANONICAL.get(literal.datatype.value)
    return pattern is not None and pattern.fullmatch(literal.value) is not None


_KEPT = {_STRING, LANGSTRING}  # the store keeps these as written
_CANONICAL = {
    XSD + "integer": re.compile(r"0|-?[1-9][0-9]*"),
    XSD + "date": re.compile(r"-?[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}"),
    XSD + "gYear": re.compile(r"-?[1-9][0-9]{3}"),
    XSD + "gYearMonth": re.compile(r"-?[1-9][0-9]{3}-[0-9]{2}"),
    XSD + "boolean": re.compile(r"true|false"),
    XSD + "anyURI": re.compile(r"[^\s]*"),
}


class RdflibData:
    """The data in rdflib, which keeps every literal as written, for the SPARQL of the
    shapes on a focus node whose own triples hold a literal the store rewrote: "05" and 5
    are two values there and one in the store, so a rule comparing them would see nothing.
    Built only then (bundled and benchmark data: never); rdflib is slow, so only those
    focus nodes run on it. Elsewhere the store compares literals by value as rdflib does;
    only a rule that reads another node's rewritten literal by its lexical form or
    datatype (STR, DATATYPE, sameTerm) could see it otherwise."""

    def __init__(self, data: KGraph):
        from rdflib import Graph

        from kzld.validating.rdflib_terms import to_rdflib

        self.graph = to_rdflib(data.triples, unskolemise=False, graph=Graph())

    def query(self, text: str, prefixes: dict[str, str]):
        head = "".join(f"PREFIX {name}: <{ns}>\n" for name, ns in sorted(prefixes.items()))
        result = self.graph.query(head + text)
        if result.type == "ASK":
            return bool(result.askAnswer)
        return _Rows(result)


class _Rows(list):
    """rdflib's SELECT rows in the shape of pyoxigraph's: terms by variable name."""

    def __init__(self, result):
        from kzld.validating.rdflib_terms import from_rdflib, oxliteral

        def term(node):
            if node is None:
                return None
            return oxliteral(node) if hasattr(node, "datatype") else from_rdflib(node)

        names = [str(v) for v in result.vars]
        self.variables = [ox.Variable(n) for n in names]
        super().__init__({n: term(row[n]) for n in names} for row in result)
