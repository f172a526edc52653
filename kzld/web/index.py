"""The loaded graph indexed by subject and object, with the labels and prefixes pages show."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pyoxigraph as ox

from kzld.loading.graph import KGraph
from kzld.vocabulary import DCTERMS, GENID, KZ, ORG, OWL, PROV, RDF, RDFS, SCHEMA, SKOS, WD, XSD
from kzld.vocabulary import ID as ID_BASE

RDF_TYPE = ox.NamedNode(RDF + "type")
LABEL = ox.NamedNode(RDFS + "label")
ALT_LABEL = ox.NamedNode(SKOS + "altLabel")

PREFIXES = {
    "kz": KZ,
    "rdf": RDF,
    "rdfs": RDFS,
    "skos": SKOS,
    "owl": OWL,
    "xsd": XSD,
    "dcterms": DCTERMS,
    "schema": SCHEMA,
    "wd": WD,
    "org": ORG,
    "prov": PROV,
    **{kind: f"{ID_BASE}{kind}/" for kind in ("person", "organisation", "post", "tenure")},
    **{kind: f"{ID_BASE}{kind}/" for kind in ("event", "source", "place", "rank", "conflict")},
}

# Paths under id/ that may become file names: lower-case words, no dots, no traversal.
_SAFE_PATH = re.compile(r"^[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)+$")

Link = Callable[[ox.NamedNode], str | None]


@dataclass
class Index:
    """A loaded graph indexed by subject and by object, in canonical triple order."""

    graph: KGraph
    outgoing: dict[ox.NamedNode, list[ox.Triple]] = field(default_factory=dict)
    incoming: dict[ox.NamedNode, list[ox.Triple]] = field(default_factory=dict)
    rows: dict | None = None  # the timeline's tenures by post, once worked out

    @classmethod
    def of(cls, graph: KGraph) -> Index:
        index = cls(graph)
        for t in graph.sorted_triples():
            index.outgoing.setdefault(t.subject, []).append(t)
            if isinstance(t.object, ox.NamedNode):
                index.incoming.setdefault(t.object, []).append(t)
        return index

    def values(self, subject: object, predicate: ox.NamedNode) -> list:
        return [t.object for t in self.outgoing.get(subject, []) if t.predicate == predicate]

    def types(self, subject: object) -> list[ox.NamedNode]:
        return self.values(subject, RDF_TYPE)

    def label(self, term: object) -> str:
        """The English label, else any label, else a readable form of the IRI."""
        labels = self.values(term, LABEL)
        for lit in labels:
            if isinstance(lit, ox.Literal) and lit.language == "en":
                return lit.value
        if labels:
            return labels[0].value
        holders = self.values(term, ox.NamedNode(KZ + "holder"))
        posts = self.values(term, ox.NamedNode(KZ + "post"))
        if holders and posts:  # tenures carry no label of their own
            return f"{self.label(holders[0])} as {self.label(posts[0])}"
        if isinstance(term, ox.NamedNode):
            return compact(term.value)
        return term.value if isinstance(term, ox.Literal) else str(term)

    def entities(self) -> list[ox.NamedNode]:
        """Every kzld IRI described in the data, in IRI order."""
        found = [s for s in self.outgoing if is_entity(s)]
        return sorted(found, key=lambda n: n.value)

    def description(self, subject: ox.NamedNode) -> list[ox.Triple]:
        """The subject's triples plus those of the citations and claims it points at."""
        seen: set[ox.NamedNode] = set()
        result: list[ox.Triple] = []
        todo = [subject]
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            for t in self.outgoing.get(node, []):
                result.append(t)
                if isinstance(t.object, ox.NamedNode) and t.object.value.startswith(GENID):
                    todo.append(t.object)
        return sorted(result, key=str)

    def subclasses(self, cls: ox.NamedNode) -> set[ox.NamedNode]:
        """The class and everything declared below it with rdfs:subClassOf."""
        result = {cls}
        todo = [cls]
        sub = ox.NamedNode(RDFS + "subClassOf")
        while todo:
            current = todo.pop()
            for t in self.incoming.get(current, []):
                if t.predicate == sub and isinstance(t.subject, ox.NamedNode):
                    if t.subject not in result:
                        result.add(t.subject)
                        todo.append(t.subject)
        return result


def is_entity(term: object) -> bool:
    return isinstance(term, ox.NamedNode) and term.value.startswith(ID_BASE)


def entity_path(iri: str) -> str | None:
    """`person/x` for a kzld IRI with a safe path, else None."""
    if not iri.startswith(ID_BASE):
        return None
    rest = iri[len(ID_BASE) :]
    return rest if _SAFE_PATH.match(rest) else None


def compact(iri: str) -> str:
    best = ""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(namespace) > len(PREFIXES.get(best, "")):
            best = prefix
    return f"{best}:{iri[len(PREFIXES[best]) :]}" if best else iri
