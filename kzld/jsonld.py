"""JSON-LD for the dumps: the published @context and a writer that compacts with it.

kzld writes JSON-LD itself rather than asking a library to compact: the output is then
the same bytes on every run, the context is always inline (never fetched), and every
literal keeps its authored lexical form, datatype and language.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from itertools import groupby

import pyoxigraph as ox

ONTOLOGY = "https://w3id.org/kzld/ontology#"
DATA = "https://w3id.org/kzld/id/"
GENID = "https://w3id.org/kzld/.well-known/genid/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDF_TYPE = RDF + "type"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
OWL = "http://www.w3.org/2002/07/owl#"

# Prefixes of the JSON-LD context. Data IRIs share one prefix, "kzid", because their
# kind names (person, post, source, ...) are also kz: property names that get short keys.
VOCABULARIES: tuple[tuple[str, str], ...] = (
    ("kz", ONTOLOGY),
    ("rdf", RDF),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("owl", OWL),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
    ("skos", "http://www.w3.org/2004/02/skos/core#"),
    ("dcterms", "http://purl.org/dc/terms/"),
    ("org", "http://www.w3.org/ns/org#"),
    ("prov", "http://www.w3.org/ns/prov#"),
    ("schema", "https://schema.org/"),
    ("wd", "http://www.wikidata.org/entity/"),
    ("wdt", "http://www.wikidata.org/prop/direct/"),
    ("wikibase", "http://wikiba.se/ontology#"),
    ("void", "http://rdfs.org/ns/void#"),
    ("dcat", "http://www.w3.org/ns/dcat#"),
    ("spdx", "http://spdx.org/rdf/terms#"),
)
CONTEXT_PREFIXES = VOCABULARIES + (("kzid", DATA), ("genid", GENID))

# Short keys for the common vocabularies; kz: terms get their local names.
COMMON_TERMS: tuple[tuple[str, str, bool], ...] = (
    ("label", "http://www.w3.org/2000/01/rdf-schema#label", False),
    ("comment", "http://www.w3.org/2000/01/rdf-schema#comment", False),
    ("altLabel", "http://www.w3.org/2004/02/skos/core#altLabel", False),
    ("definition", "http://www.w3.org/2004/02/skos/core#definition", False),
    ("exactMatch", "http://www.w3.org/2004/02/skos/core#exactMatch", True),
    ("closeMatch", "http://www.w3.org/2004/02/skos/core#closeMatch", True),
    ("title", "http://purl.org/dc/terms/title", False),
    ("description", "http://purl.org/dc/terms/description", False),
)

_TERM = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_OBJECT_PROPERTY = OWL + "ObjectProperty"
_TERM_TYPES = {
    OWL + "Class",
    _OBJECT_PROPERTY,
    OWL + "DatatypeProperty",
    OWL + "AnnotationProperty",
    RDF + "Property",
}


def build_context(ontology: Iterable[ox.Triple]) -> dict:
    """The @context: prefixes, short keys for common terms, and one key per kz: class and
    property declared in the ontology (object properties take IRIs as plain strings)."""
    declared: dict[str, bool] = {}
    for t in ontology:
        if (
            t.predicate.value == RDF_TYPE
            and isinstance(t.subject, ox.NamedNode)
            and t.subject.value.startswith(ONTOLOGY)
            and isinstance(t.object, ox.NamedNode)
            and t.object.value in _TERM_TYPES
        ):
            iri = t.subject.value
            declared[iri] = declared.get(iri, False) or t.object.value == _OBJECT_PROPERTY
    taken = {name for name, _ in CONTEXT_PREFIXES}
    context: dict = {name: iri for name, iri in CONTEXT_PREFIXES}
    terms: list[tuple[str, str, bool]] = list(COMMON_TERMS)
    for iri in sorted(declared):
        terms.append((iri[len(ONTOLOGY) :], iri, declared[iri]))
    counts: dict[str, int] = {}
    for name, _, _ in terms:
        counts[name] = counts.get(name, 0) + 1
    for name, iri, is_object in terms:
        # A name used twice, or shared with a prefix, stays a compact IRI: never ambiguous.
        if not _TERM.match(name) or name in taken or counts[name] > 1:
            continue
        definition: dict[str, str] = {"@id": _compact(iri, CONTEXT_PREFIXES)}
        if is_object:
            definition["@type"] = "@id"
        context[name] = definition
    return context


def write_jsonld(triples: Sequence[ox.Triple], context: dict) -> bytes:
    """A JSON-LD document of these triples (already sorted), with the context inline."""
    keys = _Keys(context)
    nodes = []
    for subject, group in groupby(triples, key=lambda t: t.subject):
        node: dict = {"@id": _compact(_iri(subject), CONTEXT_PREFIXES)}
        rest = []
        types = []
        for t in group:
            if t.predicate.value == RDF_TYPE and isinstance(t.object, ox.NamedNode):
                types.append(keys.vocab(t.object.value))
            else:
                rest.append(t)
        if types:
            node["@type"] = types[0] if len(types) == 1 else types
        for predicate, same in groupby(rest, key=lambda t: t.predicate.value):
            key, coerced = keys.property(predicate)
            values = [_value(t.object, coerced, keys) for t in same]
            node[key] = values[0] if len(values) == 1 else values
        nodes.append(node)
    document = {"@context": context, "@graph": nodes}
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def write_context(context: dict) -> bytes:
    """The context.jsonld file published beside the dumps."""
    return (json.dumps({"@context": context}, ensure_ascii=False, indent=2) + "\n").encode()


class _Keys:
    """Property keys and @type values for IRIs, from the context's own terms."""

    def __init__(self, context: dict):
        self._terms: dict[str, tuple[str, bool]] = {}
        for name, definition in context.items():
            if isinstance(definition, dict):
                iri = _expand(definition["@id"])
                self._terms[iri] = (name, definition.get("@type") == "@id")

    def property(self, iri: str) -> tuple[str, bool]:
        if iri in self._terms:
            return self._terms[iri]
        return _compact(iri, VOCABULARIES), False

    def vocab(self, iri: str) -> str:
        if iri in self._terms:
            return self._terms[iri][0]
        return _compact(iri, CONTEXT_PREFIXES)


def _value(term: object, coerced: bool, keys: _Keys) -> object:
    if isinstance(term, ox.NamedNode):
        iri = _compact(term.value, CONTEXT_PREFIXES)
        return iri if coerced else {"@id": iri}
    if isinstance(term, ox.Literal):
        if term.language:
            return {"@value": term.value, "@language": term.language}
        if term.datatype.value == XSD_STRING:
            return {"@value": term.value} if coerced else term.value
        return {"@value": term.value, "@type": _compact(term.datatype.value, VOCABULARIES)}
    raise ValueError(f"kzld dumps hold no blank nodes or triple terms: {term}")


def _iri(term: object) -> str:
    if not isinstance(term, ox.NamedNode):
        raise ValueError(f"kzld dumps hold no blank nodes or triple terms: {term}")
    return term.value


def _compact(iri: str, prefixes: Sequence[tuple[str, str]]) -> str:
    """prefix:rest when a prefix matches and the rest cannot be read back differently."""
    best = None
    for name, namespace in prefixes:
        if iri.startswith(namespace) and len(iri) > len(namespace):
            rest = iri[len(namespace) :]
            if not rest.startswith("//") and (best is None or len(namespace) > best[1]):
                best = (f"{name}:{rest}", len(namespace))
    return best[0] if best else iri


def _expand(compact: str) -> str:
    name, _, rest = compact.partition(":")
    return dict(CONTEXT_PREFIXES).get(name, name + ":") + rest if rest else compact
