"""Terms between pyoxigraph and rdflib: literals as written, blank nodes as kzld skolem IRIs."""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox

from kzld.validating.findings import parse_term
from kzld.vocabulary import GENID


def to_rdflib(triples: Iterable[ox.Triple], *, unskolemise: bool, graph):
    """Fill an rdflib graph with these triples, literals kept as written. In shapes, kzld's
    skolem IRIs turn back into blank nodes: pySHACL reads a path or list only from those."""
    from rdflib import BNode, Literal, URIRef

    def convert(term):
        if isinstance(term, ox.NamedNode):
            if unskolemise and term.value.startswith(GENID):
                return BNode(term.value[len(GENID) :])
            return URIRef(term.value)
        if isinstance(term, ox.BlankNode):
            return BNode(term.value)
        if term.language:
            return Literal(term.value, lang=term.language, normalize=False)
        return Literal(term.value, datatype=URIRef(term.datatype.value), normalize=False)

    for t in triples:
        graph.add((convert(t.subject), convert(t.predicate), convert(t.object)))
    return graph


def from_rdflib(node) -> ox.Term:
    from rdflib import BNode, URIRef

    if isinstance(node, URIRef):
        return ox.NamedNode(str(node))
    if isinstance(node, BNode):
        return ox.NamedNode(GENID + str(node))
    return parse_term(node.n3())


def nt(node) -> str:
    """N-Triples form of an rdflib term (blank nodes as their kzld skolem IRIs)."""
    from rdflib import BNode, Literal

    if isinstance(node, BNode):
        return f"<{GENID}{node}>"
    if isinstance(node, Literal):
        return str(oxliteral(node))
    return f"<{node}>"


def oxliteral(node) -> ox.Literal:
    if node.language:
        return ox.Literal(str(node), language=node.language)
    if node.datatype:
        return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype)))
    return ox.Literal(str(node))
