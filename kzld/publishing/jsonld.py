"""JSON-LD for the dumps: the published @context and a writer that compacts with it.

kzld writes JSON-LD itself rather than asking a library to compact: the output is then
the same bytes on every run, the context is always inline (never fetched), and every
literal keeps its authored lexical form, datatype and language.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from json.encoder import encode_basestring  # what json.dumps(ensure_ascii=False) uses

import pyoxigraph as ox

from kzld.vocabulary import DCTERMS, GENID, OWL, RDF, RDFS, SKOS, prefixes
from kzld.vocabulary import ID as DATA
from kzld.vocabulary import KZ as ONTOLOGY

RDF_TYPE = RDF + "type"
_RDF_TYPE_REF = f"<{RDF_TYPE}>".encode()
_QUOTE, _AT, _LT = b'"@<'  # byte values, as indexing bytes gives

# Prefixes of the JSON-LD context. Data IRIs share one prefix, "kzid", because their
# kind names (person, post, source, ...) are also kz: property names that get short keys.
VOCABULARIES = prefixes(
    "kz", "rdf", "rdfs", "owl", "xsd", "skos", "dcterms", "org", "prov", "schema", "wd", "wdt",
    "wikibase", "void", "dcat", "spdx",
)  # fmt: skip
CONTEXT_PREFIXES = VOCABULARIES + (("kzid", DATA), ("genid", GENID))

# Short keys for the common vocabularies; kz: terms get their local names.
COMMON_TERMS: tuple[tuple[str, str, bool], ...] = (
    ("label", RDFS + "label", False),
    ("comment", RDFS + "comment", False),
    ("altLabel", SKOS + "altLabel", False),
    ("definition", SKOS + "definition", False),
    ("exactMatch", SKOS + "exactMatch", True),
    ("closeMatch", SKOS + "closeMatch", True),
    ("title", DCTERMS + "title", False),
    ("description", DCTERMS + "description", False),
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


def write_jsonld(lines: Sequence[bytes], context: dict) -> bytes:
    """A JSON-LD document, context inline, of sorted canonical N-Triples statements, laid
    out as json.dumps(document, ensure_ascii=False, indent=2) would.

    "@type" comes first in every object, as the JSON-LD streaming profile asks: streaming
    parsers then read a dump of millions of triples without holding it all in memory.
    Written as text: json.dumps indents in pure Python, far too slowly for millions of
    values, and each distinct IRI is compacted once rather than at every occurrence.
    """
    return jsonld_document(jsonld_nodes(lines, context), context)


def jsonld_document(nodes: Sequence[tuple[bytes, bytes]], context: dict) -> bytes:
    """The JSON-LD document of these node objects, with the context inline."""
    head = json.dumps({"@context": context}, ensure_ascii=False, indent=2)[:-2].encode()
    if not nodes:
        return head + b',\n  "@graph": []\n}\n'
    graph = b",\n".join(node for _, node in nodes)
    return b"".join([head, b',\n  "@graph": [\n', graph, b"\n  ]\n}\n"])


def jsonld_nodes(lines: Sequence[bytes], context: dict) -> list[tuple[bytes, bytes]]:
    """The node object of each subject of sorted statements, as JSON-LD text."""
    keys = _Keys(context)
    ids: dict[bytes, bytes] = {}  # N-Triples IRI -> its compact form as a JSON string
    nodes: list[tuple[bytes, bytes]] = []
    node: list[bytes] = []  # the members of the node being written
    values: list[bytes] = []  # the values of its property being written
    types: list[bytes] = []
    subject = predicate = key = b""
    coerced = False

    def close_property() -> None:
        if len(values) == 1:
            node.append(key + b": " + values[0])
        elif values:
            items = b",\n        ".join(v.replace(b"\n", b"\n  ") for v in values)
            node.append(key + b": [\n        " + items + b"\n      ]")
        values.clear()

    def close_node() -> None:
        close_property()
        if len(types) == 1:
            node.insert(0, b'"@type": ' + types[0])
        elif types:
            node.insert(0, b'"@type": [\n        ' + b",\n        ".join(types) + b"\n      ]")
        nodes.append((subject, b"    {\n      " + b",\n      ".join(node) + b"\n    }"))
        node.clear()
        types.clear()

    for line in lines:
        s, p, o = line.split(b" ", 2)
        o = o[:-2]  # the statement's " ."
        if s != subject:
            if subject:
                close_node()
            node.append(b'"@id": ' + (ids.get(s) or ids.setdefault(s, _compact_ref(s))))
            subject, predicate = s, b""
        if p == _RDF_TYPE_REF and o[0] == _LT:
            types.append(keys.vocab(o))
            continue
        if p != predicate:
            close_property()
            key, coerced = keys.property(p)
            predicate = p
        if o[0] != _QUOTE:
            iri = ids.get(o) or ids.setdefault(o, _compact_ref(o))
            values.append(iri if coerced else b'{\n        "@id": %s\n      }' % iri)
            continue
        end = o.rfind(b'"')
        lexical = o[: end + 1]
        if b"\\" in lexical:  # N-Triples escapes: JSON's differ
            lexical = encode_basestring(_unescape(lexical[1:-1].decode())).encode()
        if end == len(o) - 1:  # xsd:string
            values.append(b'{\n        "@value": %s\n      }' % lexical if coerced else lexical)
        elif o[end + 1] == _AT:
            language = o[end + 2 :].partition(b"--")[0]  # a direction is not written
            values.append(
                b'{\n        "@value": %s,\n        "@language": "%s"\n      }'
                % (lexical, language)
            )
        else:
            datatype = keys.datatype(o[end + 3 :])
            values.append(
                b'{\n        "@type": %s,\n        "@value": %s\n      }' % (datatype, lexical)
            )
    if subject:
        close_node()
    return nodes


def write_context(context: dict) -> bytes:
    """The context.jsonld file published beside the dumps."""
    return (json.dumps({"@context": context}, ensure_ascii=False, indent=2) + "\n").encode()


class _Keys:
    """Property keys, @type values and datatypes for N-Triples IRIs, as JSON strings, from
    the context's own terms; each IRI is looked up once."""

    def __init__(self, context: dict):
        self._terms: dict[str, tuple[str, bool]] = {}
        for name, definition in context.items():
            if isinstance(definition, dict):
                iri = _expand(definition["@id"])
                self._terms[iri] = (name, definition.get("@type") == "@id")
        self._properties: dict[bytes, tuple[bytes, bool]] = {}
        self._vocab: dict[bytes, bytes] = {}
        self._datatypes: dict[bytes, bytes] = {}

    def property(self, ref: bytes) -> tuple[bytes, bool]:
        found = self._properties.get(ref)
        if found is None:
            iri = _iri(ref)
            name, coerced = self._terms.get(iri) or (_compact(iri, VOCABULARIES), False)
            found = self._properties[ref] = (_json(name), coerced)
        return found

    def vocab(self, ref: bytes) -> bytes:
        found = self._vocab.get(ref)
        if found is None:
            iri = _iri(ref)
            term = self._terms.get(iri)
            found = self._vocab[ref] = _json(term[0] if term else _compact(iri, CONTEXT_PREFIXES))
        return found

    def datatype(self, ref: bytes) -> bytes:
        found = self._datatypes.get(ref)
        if found is None:
            found = self._datatypes[ref] = _json(_compact(_iri(ref), VOCABULARIES))
        return found


def _compact_ref(ref: bytes) -> bytes:
    return _json(_compact(_iri(ref), CONTEXT_PREFIXES))


def _json(text: str) -> bytes:
    return encode_basestring(text).encode()


def _iri(ref: bytes) -> str:
    """The IRI of an N-Triples IRI reference."""
    if ref[0] != _LT or ref.startswith(b"<<"):
        raise ValueError(f"kzld dumps hold no blank nodes or triple terms: {ref.decode()}")
    return ref[1:-1].decode()


_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.DOTALL)
_ECHAR = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _unescape(text: str) -> str:
    """The string an N-Triples string literal's text stands for."""
    return _ESCAPE.sub(lambda m: chr(int(m[1] or m[2], 16)) if m[1] or m[2] else _ECHAR[m[3]], text)


def _compact(iri: str, prefixes: tuple[tuple[str, str], ...]) -> str:
    """prefix:rest for the longest namespace that holds the IRI and leaves a rest that
    cannot be read back differently; else the IRI."""
    for name, namespace in _longest_first(prefixes):
        if iri.startswith(namespace) and len(iri) > len(namespace):
            rest = iri[len(namespace) :]
            if not rest.startswith("//"):
                return f"{name}:{rest}"
    return iri


@functools.cache
def _longest_first(prefixes: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    return sorted(prefixes, key=lambda prefix: -len(prefix[1]))  # stable: ties keep order


def _expand(compact: str) -> str:
    name, _, rest = compact.partition(":")
    return dict(CONTEXT_PREFIXES).get(name, name + ":") + rest if rest else compact
