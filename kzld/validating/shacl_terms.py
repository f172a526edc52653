"""Tests on one RDF term as SHACL Core makes them: its node kind and its datatype.

kzld's skolem IRIs stand for blank nodes (RDF 1.1, 3.5), so they count as blank here; a
datatype is checked by rdflib's lexical rules, as pySHACL, the reference engine, checks it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

import pyoxigraph as ox

from kzld.loading.graph import GENID
from kzld.vocabulary import RDF, RDFS, XSD

LANGSTRING = RDF + "langString"

NODE_KINDS = {
    "IRI": {"iri"},
    "BlankNode": {"blank"},
    "Literal": {"literal"},
    "BlankNodeOrIRI": {"blank", "iri"},
    "BlankNodeOrLiteral": {"blank", "literal"},
    "IRIOrLiteral": {"iri", "literal"},
}
_INTEGER_RANGES = {
    "integer": (None, None),
    "long": (-(2**63), 2**63 - 1),
    "int": (-(2**31), 2**31 - 1),
    "short": (-(2**15), 2**15 - 1),
    "byte": (-(2**7), 2**7 - 1),
    "nonNegativeInteger": (0, None),
    "positiveInteger": (1, None),
    "nonPositiveInteger": (None, 0),
    "negativeInteger": (None, -1),
    "unsignedLong": (0, 2**64 - 1),
    "unsignedInt": (0, 2**32 - 1),
    "unsignedShort": (0, 2**16 - 1),
    "unsignedByte": (0, 2**8 - 1),
}


def is_blank(term) -> bool:
    """A blank node, or one of kzld's skolem IRIs, which stand for blank nodes (RDF 1.1,
    3.5): node kinds, lengths and patterns treat them as the blank nodes they were."""
    return isinstance(term, ox.BlankNode) or (
        isinstance(term, ox.NamedNode) and term.value.startswith(GENID)
    )


def node_kind(term) -> str:
    """ "blank", "iri" or "literal" (the words NODE_KINDS combines)."""
    if is_blank(term):
        return "blank"
    return "iri" if isinstance(term, ox.NamedNode) else "literal"


def has_datatype(term, wanted: str) -> bool:
    """sh:datatype as pySHACL decides it: the datatype matches and rdflib accepts the form."""
    if not isinstance(term, ox.Literal):
        return False
    if wanted == RDFS + "Literal":
        return True
    if term.language:
        return wanted == LANGSTRING
    if term.datatype.value != wanted:
        return False
    return _well_formed(term.value, wanted)


def _well_formed(text: str, datatype: str) -> bool:
    """The lexical checks rdflib makes (it accepts any gYear, gYearMonth or anyURI form)."""
    if not datatype.startswith(XSD):
        return True
    name = datatype[len(XSD) :]
    try:
        if name in _INTEGER_RANGES:
            number = int(text)
            low, high = _INTEGER_RANGES[name]
            return (low is None or number >= low) and (high is None or number <= high)
        if name == "decimal":
            Decimal(text)
        elif name in {"double", "float"}:
            float(text)
        elif name == "boolean":
            return text in {"true", "false", "1", "0"}
        elif name == "date":
            date.fromisoformat(_DATE_ZONE.sub("", text))
        elif name == "dateTime":
            datetime.fromisoformat(text.replace("Z", "+00:00"))
        elif name == "time":
            time.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, InvalidOperation):
        return False
    return True


_DATE_ZONE = re.compile(r"(Z|[+-]\d\d:\d\d)$")
