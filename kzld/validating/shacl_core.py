"""The SHACL Core constraint components of the native engine, one class per family as the
SHACL specification groups them (section 4: value type, cardinality, value range, string
based, property pair, logical, shape based, other).

Every check is called as ``check(shape, focus, values)`` for one focus node and its value
nodes, and yields one ``(value, component[, path])`` per validation result: value None for
a result about the focus node as a whole, component None for the component its parameter
names (sh:minCount -> sh:MinCountConstraintComponent), path only where the result names
its own (sh:closed). ``core_checks`` gathers them by the parameter's local name.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable

import pyoxigraph as ox

from kzld.validating.shacl_shapes import DATA, TRUE, ShapesGraph
from kzld.validating.shacl_terms import NODE_KINDS, has_datatype, is_blank, node_kind
from kzld.validating.shacl_values import DataReader
from kzld.vocabulary import RDF, RDFS, SH

_INSTANCES = (
    "SELECT DISTINCT ?class ?x WHERE { ?x <" + RDF + "type>/<" + RDFS + "subClassOf>* ?class }"
)
_COMPARISONS = {
    "minExclusive": ">",
    "minInclusive": ">=",
    "maxExclusive": "<",
    "maxInclusive": "<=",
}

Conforms = Callable[[object, object], bool]  # (node, shape) -> whether the node conforms


def core_checks(shapes: ShapesGraph, reader: DataReader, conforms: Conforms) -> dict:
    """Every Core component's check, by the local name of its parameter ("minCount")."""
    checks = {}
    for family in (
        ValueTypeChecks,
        CardinalityChecks,
        ValueRangeChecks,
        StringChecks,
        PropertyPairChecks,
        LogicalChecks,
        ShapeBasedChecks,
        OtherChecks,
    ):
        checks.update(family(shapes, reader, conforms).checks())
    return checks


def holds(store: ox.Store, left, operator: str, right) -> bool:
    """Whether SPARQL's comparison holds between two literals (false for anything else)."""
    if not isinstance(left, ox.Literal) or not isinstance(right, ox.Literal):
        return False
    query = "SELECT ?left ?right WHERE { FILTER (?left " + operator + " ?right) }"
    subs = {ox.Variable("left"): left, ox.Variable("right"): right}
    return any(True for _ in store.query(query, substitutions=subs))


class _Family:
    """What every family reads: the shapes, the data, and conformance to another shape."""

    def __init__(self, shapes: ShapesGraph, reader: DataReader, conforms: Conforms):
        self.shapes = shapes
        self.reader = reader
        self.store = reader.store
        self.conforms = conforms

    def checks(self) -> dict:
        """This family's checks: each method check_<parameter>, by the parameter's name."""
        prefix = "check_"
        return {n[len(prefix) :]: getattr(self, n) for n in dir(self) if n.startswith(prefix)}


class ValueTypeChecks(_Family):
    """sh:class, sh:datatype, sh:nodeKind (SHACL 4.1)."""

    def __init__(self, shapes: ShapesGraph, reader: DataReader, conforms: Conforms):
        super().__init__(shapes, reader, conforms)
        self.instances: dict[ox.NamedNode, set] = {}  # class -> its instances, asked once

    def check_class(self, shape, f, vals):
        for cls in self.shapes.objects(shape, "class"):
            members = self._instances(cls)
            for v in vals:
                if v not in members:
                    yield v, None

    def _instances(self, cls) -> set:
        if cls not in self.instances:
            rows = self.store.query(_INSTANCES, substitutions={ox.Variable("class"): cls})
            self.instances[cls] = {row["x"] for row in rows}
        return self.instances[cls]

    def check_datatype(self, shape, f, vals):
        wanted = self.shapes.one(shape, "datatype").value
        for v in vals:
            if not has_datatype(v, wanted):
                yield v, None

    def check_nodeKind(self, shape, f, vals):
        kinds = NODE_KINDS[self.shapes.one(shape, "nodeKind").value[len(SH) :]]
        for v in vals:
            if node_kind(v) not in kinds:
                yield v, None


class CardinalityChecks(_Family):
    """sh:minCount, sh:maxCount (SHACL 4.2)."""

    def check_minCount(self, shape, f, vals):
        if len(vals) < int(self.shapes.one(shape, "minCount").value):
            yield None, None

    def check_maxCount(self, shape, f, vals):
        if len(vals) > int(self.shapes.one(shape, "maxCount").value):
            yield None, None


class ValueRangeChecks(_Family):
    """sh:minExclusive, sh:minInclusive, sh:maxExclusive, sh:maxInclusive (SHACL 4.3),
    compared as SPARQL compares literals."""

    def _compare(self, shape, f, vals, name):
        bound = self.shapes.one(shape, name)
        for v in vals:
            if not holds(self.store, v, _COMPARISONS[name], bound):
                yield v, None

    def check_minExclusive(self, shape, f, vals):
        return self._compare(shape, f, vals, "minExclusive")

    def check_minInclusive(self, shape, f, vals):
        return self._compare(shape, f, vals, "minInclusive")

    def check_maxExclusive(self, shape, f, vals):
        return self._compare(shape, f, vals, "maxExclusive")

    def check_maxInclusive(self, shape, f, vals):
        return self._compare(shape, f, vals, "maxInclusive")


class StringChecks(_Family):
    """sh:minLength, sh:maxLength, sh:pattern, sh:languageIn, sh:uniqueLang (SHACL 4.4);
    a blank node (or skolem IRI) has no string to measure, so it fails the first three."""

    def check_minLength(self, shape, f, vals):
        limit = int(self.shapes.one(shape, "minLength").value)
        for v in vals:
            if is_blank(v) or len(v.value) < limit:
                yield v, None

    def check_maxLength(self, shape, f, vals):
        limit = int(self.shapes.one(shape, "maxLength").value)
        for v in vals:
            if is_blank(v) or len(v.value) > limit:
                yield v, None

    def check_pattern(self, shape, f, vals):
        flags = self.shapes.one(shape, "flags")
        options = 0
        for letter in flags.value if flags is not None else "":
            options |= {"i": re.I, "s": re.S, "m": re.M, "x": re.X}.get(letter, 0)
        for pattern in self.shapes.objects(shape, "pattern"):
            regex = re.compile(pattern.value, options)
            for v in vals:
                if is_blank(v) or not regex.search(v.value):
                    yield v, None

    def check_languageIn(self, shape, f, vals):
        ranges = [r.value.lower() for r in self.shapes.items(self.shapes.one(shape, "languageIn"))]
        for v in vals:
            tag = v.language.lower() if isinstance(v, ox.Literal) and v.language else ""
            if not any(tag == r or tag.startswith(r + "-") or r == "*" and tag for r in ranges):
                yield v, None

    def check_uniqueLang(self, shape, f, vals):
        if self.shapes.one(shape, "uniqueLang") != TRUE:
            return
        counts: dict[str, int] = defaultdict(int)
        for v in vals:
            if isinstance(v, ox.Literal) and v.language:
                counts[v.language.lower()] += 1
        for _ in sorted(tag for tag, n in counts.items() if n > 1):
            yield None, None


class PropertyPairChecks(_Family):
    """sh:equals, sh:disjoint, sh:lessThan, sh:lessThanOrEquals (SHACL 4.5): the value
    nodes against the focus node's values of another predicate."""

    def _others(self, shape, f, name) -> list:
        predicate = self.shapes.one(shape, name)
        return self.reader.path_values(f, predicate, True)

    def check_equals(self, shape, f, vals):
        others = self._others(shape, f, "equals")
        for v in [v for v in vals if v not in others] + [o for o in others if o not in vals]:
            yield v, None

    def check_disjoint(self, shape, f, vals):
        others = self._others(shape, f, "disjoint")
        for v in vals:
            if v in others:
                yield v, None

    def check_lessThan(self, shape, f, vals):
        others = self._others(shape, f, "lessThan")
        for v in vals:
            if not all(holds(self.store, v, "<", o) for o in others):
                yield v, None

    def check_lessThanOrEquals(self, shape, f, vals):
        others = self._others(shape, f, "lessThanOrEquals")
        for v in vals:
            if not all(holds(self.store, v, "<=", o) for o in others):
                yield v, None


class LogicalChecks(_Family):
    """sh:not, sh:and, sh:or, sh:xone (SHACL 4.6): how many of the shapes a value meets."""

    def check_not(self, shape, f, vals):
        for other in self.shapes.objects(shape, "not"):
            for v in vals:
                if self.conforms(v, other):
                    yield v, None

    def _count(self, shape, vals, name, passes):
        for head in self.shapes.objects(shape, name):
            members = self.shapes.items(head)
            for v in vals:
                if not passes(sum(self.conforms(v, m) for m in members), len(members)):
                    yield v, None

    def check_and(self, shape, f, vals):
        return self._count(shape, vals, "and", lambda n, total: n == total)

    def check_or(self, shape, f, vals):
        return self._count(shape, vals, "or", lambda n, total: n > 0)

    def check_xone(self, shape, f, vals):
        return self._count(shape, vals, "xone", lambda n, total: n == 1)


class ShapeBasedChecks(_Family):
    """sh:node, sh:qualifiedValueShape (SHACL 4.7; sh:property is the engine's own walk)."""

    def check_node(self, shape, f, vals):
        for other in self.shapes.objects(shape, "node"):
            for v in vals:
                if not self.conforms(v, other):
                    yield v, None

    def check_qualifiedValueShape(self, shape, f, vals):
        s = self.shapes
        wanted = s.one(shape, "qualifiedValueShape")
        siblings = self._disjoint_siblings(shape, wanted)
        count = sum(
            1
            for v in vals
            if self.conforms(v, wanted) and not any(self.conforms(v, o) for o in siblings)
        )
        low = s.one(shape, "qualifiedMinCount")
        high = s.one(shape, "qualifiedMaxCount")
        if low is not None and count < int(low.value):
            yield None, "QualifiedMinCountConstraintComponent"
        if high is not None and count > int(high.value):
            yield None, "QualifiedMaxCountConstraintComponent"

    def _disjoint_siblings(self, shape, wanted) -> list:
        """With sh:qualifiedValueShapesDisjoint, the qualified value shapes of the shape's
        sibling property shapes, which a counted value must not conform to."""
        s = self.shapes
        siblings = []
        if s.one(shape, "qualifiedValueShapesDisjoint") == TRUE:
            for _parent, preds in s.out.items():
                if shape in preds.get(SH + "property", []):
                    for prop in preds[SH + "property"]:
                        other = s.one(prop, "qualifiedValueShape")
                        if prop != shape and other is not None and other != wanted:
                            siblings.append(other)
        return siblings


class OtherChecks(_Family):
    """sh:closed, sh:hasValue, sh:in (SHACL 4.8)."""

    def check_closed(self, shape, f, vals):
        s = self.shapes
        if s.one(shape, "closed") != TRUE:
            return
        allowed = {s.one(p, "path") for p in s.objects(shape, "property")}
        ignored = s.one(shape, "ignoredProperties")
        allowed |= set(s.items(ignored)) if ignored is not None else set()
        written = self.reader.written
        for v in vals:
            if isinstance(v, ox.Literal):
                continue
            for q in self.store.quads_for_pattern(v, None, None, DATA):
                if q.predicate not in allowed:
                    for value in written.all(v, q.predicate, q.object):
                        yield value, None, str(q.predicate)

    def check_hasValue(self, shape, f, vals):
        for wanted in self.shapes.objects(shape, "hasValue"):
            if wanted not in vals:
                yield None, None

    def check_in(self, shape, f, vals):
        allowed = set(self.shapes.items(self.shapes.one(shape, "in")))
        for v in vals:
            if v not in allowed:
                yield v, None
