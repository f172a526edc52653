"""The shapes graph as the native SHACL engine reads it, and the RDF terms it reads them by.

``ShapesGraph`` indexes the shapes once (subject -> predicate -> objects, in the order the
shapes were written), so that looking up a shape's settings costs a dictionary lookup
rather than a query.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pyoxigraph as ox

from kzld.loading.graph import KGraph
from kzld.vocabulary import OWL, RDF, RDFS, SH, XSD

TYPE = ox.NamedNode(RDF + "type")
FIRST = ox.NamedNode(RDF + "first")
REST = ox.NamedNode(RDF + "rest")
NIL = ox.NamedNode(RDF + "nil")
TRUE = ox.Literal("true", datatype=ox.NamedNode(XSD + "boolean"))
DATA = ox.DefaultGraph()  # the data; the shapes join it as a named graph for $shapesGraph
CLASSES = {RDFS + "Class", OWL + "Class"}  # implicit class targets

TARGETS = ("targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf")


def sh(name: str) -> ox.NamedNode:
    return ox.NamedNode(SH + name)


def local_name(iri: str) -> str:
    return re.split(r"[#/:]", iri)[-1]


class ShapesGraph:
    """The shapes as an index of subject -> predicate -> objects, in authored order."""

    def __init__(self, shapes: KGraph):
        self.graph = shapes
        self.out: dict[object, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for t in shapes.triples:
            self.out[t.subject][t.predicate.value].append(t.object)

    def objects(self, node, name: str) -> list:
        found = self.out.get(node)
        return list(found.get(SH + name, ())) if found else []

    def one(self, node, name: str):
        values = self.objects(node, name)
        return values[0] if values else None

    def items(self, head) -> list:
        """The members of an RDF list."""
        members = []
        seen = set()
        while head != NIL and head not in seen:
            seen.add(head)
            found = self.out.get(head, {})
            members.extend(found.get(FIRST.value, []))
            rest = found.get(REST.value, [])
            if not rest:
                break
            head = rest[0]
        return members

    def subclasses(self, cls) -> set:
        """The class and its subclasses in the shapes graph (rdfs:subClassOf*)."""
        below: dict = defaultdict(set)
        for subject, preds in self.out.items():
            for parent in preds.get(RDFS + "subClassOf", []):
                below[parent].add(subject)
        found, todo = set(), [cls]
        while todo:
            node = todo.pop()
            if node not in found:
                found.add(node)
                todo.extend(below[node])
        return found

    def shapes_with_targets(self) -> list:
        found = {s for s, preds in self.out.items() if any(SH + t in preds for t in TARGETS)}
        for s, preds in self.out.items():
            types = {t.value for t in preds.get(TYPE.value, []) if isinstance(t, ox.NamedNode)}
            if types & CLASSES and types & {SH + "NodeShape", SH + "PropertyShape"}:
                found.add(s)  # an implicit class target
        return sorted(found, key=str)

    def target_specs(self, shape) -> list[tuple[str, object]]:
        """The shape's targets as (kind, term): ("targetClass", ex:Person) and the like."""
        specs = [(kind, t) for kind in TARGETS for t in self.objects(shape, kind)]
        if not any(kind == "targetClass" for kind, _ in specs):
            types = self.out.get(shape, {}).get(TYPE.value, [])
            if any(t.value in CLASSES for t in types):
                specs.append(("targetClass", shape))
        return specs

    def deactivated(self, shape) -> bool:
        return self.one(shape, "deactivated") == TRUE

    def origin(self, node) -> str | None:
        path = self.graph.origins.get(node)
        return str(path) if path is not None else None
