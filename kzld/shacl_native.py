"""A native SHACL engine: shapes compiled to SPARQL on the pyoxigraph store, pySHACL's verdicts.

Targets and property paths become SPARQL run once per shape on ``KGraph.store()``, so a shape
costs one query over the whole graph rather than one per focus node; the constraint
components are then checked on the returned values. SPARQL-based constraints run as written.
pySHACL stays the reference: where the two could differ (the lexical checks behind
``sh:datatype``) this engine follows rdflib's rules, and any constraint component it does
not implement is refused, never skipped.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import astuple
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

import pyoxigraph as ox

from kzld.errors import InputError
from kzld.graph import KGraph
from kzld.validation import Finding, _source_file

SH = "http://www.w3.org/ns/shacl#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"

_TYPE = ox.NamedNode(RDF + "type")
_FIRST = ox.NamedNode(RDF + "first")
_REST = ox.NamedNode(RDF + "rest")
_NIL = ox.NamedNode(RDF + "nil")
_TRUE = ox.Literal("true", datatype=ox.NamedNode(XSD + "boolean"))
_LANGSTRING = RDF + "langString"
_STRING = XSD + "string"


def _sh(name: str) -> ox.NamedNode:
    return ox.NamedNode(SH + name)


# Shape predicates that configure a shape or a component rather than name a component.
_SETTINGS = {
    "path", "targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf", "severity",
    "message", "deactivated", "name", "description", "order", "group", "defaultValue", "flags",
    "ignoredProperties", "qualifiedMinCount", "qualifiedMaxCount",
    "qualifiedValueShapesDisjoint", "property", "declare", "prefixes",
}  # fmt: skip
_TARGETS = ("targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf")
_COMPONENT = {
    "class": "ClassConstraintComponent",
    "datatype": "DatatypeConstraintComponent",
    "nodeKind": "NodeKindConstraintComponent",
    "minCount": "MinCountConstraintComponent",
    "maxCount": "MaxCountConstraintComponent",
    "minExclusive": "MinExclusiveConstraintComponent",
    "minInclusive": "MinInclusiveConstraintComponent",
    "maxExclusive": "MaxExclusiveConstraintComponent",
    "maxInclusive": "MaxInclusiveConstraintComponent",
    "minLength": "MinLengthConstraintComponent",
    "maxLength": "MaxLengthConstraintComponent",
    "pattern": "PatternConstraintComponent",
    "languageIn": "LanguageInConstraintComponent",
    "uniqueLang": "UniqueLangConstraintComponent",
    "equals": "EqualsConstraintComponent",
    "disjoint": "DisjointConstraintComponent",
    "lessThan": "LessThanConstraintComponent",
    "lessThanOrEquals": "LessThanOrEqualsConstraintComponent",
    "not": "NotConstraintComponent",
    "and": "AndConstraintComponent",
    "or": "OrConstraintComponent",
    "xone": "XoneConstraintComponent",
    "node": "NodeConstraintComponent",
    "qualifiedValueShape": "QualifiedValueShapeConstraintComponent",  # Min or Max, as found
    "closed": "ClosedConstraintComponent",
    "hasValue": "HasValueConstraintComponent",
    "in": "InConstraintComponent",
    "sparql": "SPARQLConstraintComponent",
}
_NODE_KINDS = {
    "IRI": {"iri"},
    "BlankNode": {"blank"},
    "Literal": {"literal"},
    "BlankNodeOrIRI": {"blank", "iri"},
    "BlankNodeOrLiteral": {"blank", "literal"},
    "IRIOrLiteral": {"iri", "literal"},
}
_COMPARISONS = {
    "minExclusive": ">",
    "minInclusive": ">=",
    "maxExclusive": "<",
    "maxInclusive": "<=",
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

# Fixed query texts; shape terms reach them as substitutions, never as pasted text. Only a
# complex property path is written into a query, from the shapes graph's own IRIs.
_TARGET_PATTERNS = {
    "targetClass": "?f <" + RDF + "type>/<" + RDFS + "subClassOf>* ?target .",
    "targetSubjectsOf": "?f ?target ?o .",
    "targetObjectsOf": "?s ?target ?f .",
}
_INSTANCES = (
    "SELECT DISTINCT ?class ?x WHERE { ?x <" + RDF + "type>/<" + RDFS + "subClassOf>* ?class }"
)


def validate_native(data: KGraph, shapes: KGraph) -> list[Finding]:
    """Validate the data against the shapes; the findings in one canonical order."""
    return _Engine(data, _ShapesGraph(shapes)).run()


def path_text(graph: KGraph, path) -> str:
    """A SHACL path node of this graph written as findings write it (a SPARQL path)."""
    return _path_text(_ShapesGraph(graph), path)


def _path_text(s: _ShapesGraph, path) -> str:
    """A path for a finding, written as the pySHACL engine writes it."""
    if _is_predicate(s, path):
        return str(path)
    if s.out.get(path, {}).get(_FIRST.value):
        return "/".join(_path_text(s, p) for p in s.items(path))
    for name, suffix in (
        ("zeroOrMorePath", "*"),
        ("oneOrMorePath", "+"),
        ("zeroOrOnePath", "?"),
    ):
        inner = s.one(path, name)
        if inner is not None:
            return "(" + _path_text(s, inner) + ")" + suffix
    inverse = s.one(path, "inversePath")
    if inverse is not None:
        return "^" + _path_text(s, inverse)
    alternatives = s.one(path, "alternativePath")
    return "(" + "|".join(_path_text(s, p) for p in s.items(alternatives)) + ")"


def _is_predicate(s: _ShapesGraph, path) -> bool:
    found = s.out.get(path, {})
    return isinstance(path, ox.NamedNode) and not (_COMPLEX_PATH & set(found))


_COMPLEX_PATH = {SH + "inversePath", SH + "alternativePath", SH + "zeroOrMorePath",
                 SH + "oneOrMorePath", SH + "zeroOrOnePath", _FIRST.value}  # fmt: skip


class _ShapesGraph:
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
        while head != _NIL and head not in seen:
            seen.add(head)
            found = self.out.get(head, {})
            members.extend(found.get(_FIRST.value, []))
            rest = found.get(_REST.value, [])
            if not rest:
                break
            head = rest[0]
        return members

    def shapes_with_targets(self) -> list:
        found = {s for s, preds in self.out.items() if any(SH + t in preds for t in _TARGETS)}
        classes = {RDFS + "Class", "http://www.w3.org/2002/07/owl#Class"}
        for s, preds in self.out.items():
            types = {t.value for t in preds.get(_TYPE.value, []) if isinstance(t, ox.NamedNode)}
            if types & classes and types & {SH + "NodeShape", SH + "PropertyShape"}:
                found.add(s)  # an implicit class target
        return sorted(found, key=str)

    def origin(self, node) -> str | None:
        path = self.graph.origins.get(node)
        return str(path) if path is not None else None


class _Engine:
    def __init__(self, data: KGraph, shapes: _ShapesGraph):
        self.data = data
        self.store = data.store()
        self.shapes = shapes
        self.instances: dict[ox.NamedNode, set] = {}
        self.conformance: dict[tuple, bool] = {}
        self.sparql: dict[tuple, tuple] = {}

    def run(self) -> list[Finding]:
        findings: set[Finding] = set()
        for shape in self.shapes.shapes_with_targets():
            if self._deactivated(shape):
                continue
            for targets in self._target_specs(shape):
                focus = self._focus_nodes(targets)
                for result in self._validate(shape, focus, targets):
                    findings.add(self._finding(*result))
        return sorted(findings, key=_order)

    # --- targets and values ---------------------------------------------------------------

    def _target_specs(self, shape) -> list[tuple[str, object]]:
        specs = [(kind, t) for kind in _TARGETS for t in self.shapes.objects(shape, kind)]
        if not any(kind == "targetClass" for kind, _ in specs):
            types = self.shapes.out.get(shape, {}).get(_TYPE.value, [])
            if any(
                t.value in {RDFS + "Class", "http://www.w3.org/2002/07/owl#Class"} for t in types
            ):
                specs.append(("targetClass", shape))
        return specs

    def _focus_nodes(self, spec: tuple[str, object]) -> list:
        kind, target = spec
        if kind == "targetNode":
            return [target]
        query = "SELECT DISTINCT ?target ?f WHERE { " + _TARGET_PATTERNS[kind] + " }"
        rows = self.store.query(query, substitutions={ox.Variable("target"): target})
        return [row["f"] for row in rows]

    def _value_map(self, shape, focus: list, spec) -> dict:
        """Each focus node's value nodes for this shape: the focus itself or its path's ends."""
        path = self.shapes.one(shape, "path")
        if path is None:
            return {f: [f] for f in focus}
        values: dict = {f: [] for f in focus}
        simple = self._is_predicate(path)
        if spec is not None and spec[0] != "targetNode" and len(focus) > 1:
            # One query for every focus node of the target: the shape's cost is one join.
            where = _TARGET_PATTERNS[spec[0]]
            step = "?f ?predicate ?v ." if simple else "?f " + self._sparql_path(path) + " ?v ."
            subs = {ox.Variable("target"): spec[1]}
            if simple:
                subs[ox.Variable("predicate")] = path
            chosen = "?target ?predicate" if simple else "?target"
            query = f"SELECT DISTINCT {chosen} ?f ?v WHERE {{ {where} {step} }}"
            for row in self.store.query(query, substitutions=subs):
                if row["f"] in values:
                    values[row["f"]].append(row["v"])
            return values
        for f in focus:
            values[f] = self._path_values(f, path, simple)
        return values

    def _path_values(self, node, path, simple: bool) -> list:
        if isinstance(node, ox.Literal):
            return []  # a literal has no outgoing arcs
        if simple:
            return list(
                dict.fromkeys(q.object for q in self.store.quads_for_pattern(node, path, None))
            )
        query = "SELECT DISTINCT ?f ?v WHERE { ?f " + self._sparql_path(path) + " ?v }"
        return [row["v"] for row in self.store.query(query, substitutions={ox.Variable("f"): node})]

    def _is_predicate(self, path) -> bool:
        return _is_predicate(self.shapes, path)

    def _sparql_path(self, path) -> str:
        """The SHACL path as a SPARQL 1.1 property path."""
        if self._is_predicate(path):
            return str(path)
        s = self.shapes
        if s.out.get(path, {}).get(_FIRST.value):
            return "(" + "/".join(self._sparql_path(p) for p in s.items(path)) + ")"
        for name, fmt in (
            ("inversePath", "^({})"),
            ("zeroOrMorePath", "({})*"),
            ("oneOrMorePath", "({})+"),
            ("zeroOrOnePath", "({})?"),
        ):
            inner = s.one(path, name)
            if inner is not None:
                return fmt.format(self._sparql_path(inner))
        alternatives = s.one(path, "alternativePath")
        return "(" + "|".join(self._sparql_path(p) for p in s.items(alternatives)) + ")"

    # --- shapes -----------------------------------------------------------------------------

    def _deactivated(self, shape) -> bool:
        return self.shapes.one(shape, "deactivated") == _TRUE

    def _conforms(self, node, shape) -> bool:
        """Whether one node conforms to a shape (for sh:node, sh:or, sh:not and the like)."""
        key = (node, shape)
        if key not in self.conformance:
            self.conformance[key] = True  # a recursive shape assumes conformance on re-entry
            self.conformance[key] = not any(True for _ in self._validate(shape, [node], None))
        return self.conformance[key]

    def _validate(self, shape, focus: list, spec) -> Iterable[tuple]:
        """Results (shape, severity, focus, path, value, component, message) for these nodes."""
        if self._deactivated(shape) or not focus:
            return
        s = self.shapes
        path = s.one(shape, "path")
        values = self._value_map(shape, focus, spec)
        severity = s.one(shape, "severity")
        severity = severity.value[len(SH) :] if severity is not None else "Violation"
        message = s.one(shape, "message")
        message = message.value if message is not None else None
        path_text = _path_text(self.shapes, path) if path is not None else None

        def result(f, value, component, row_path=None, text=None):
            return (
                shape,
                severity,
                f,
                row_path if row_path is not None else path_text,
                value,
                SH + component,
                text or message or component,
            )

        for name in sorted({p for p in s.out.get(shape, {}) if p.startswith(SH)}):
            local = name[len(SH) :]
            if local in _SETTINGS:
                continue
            if local not in _COMPONENT:
                raise InputError(
                    f"shape {shape} uses sh:{local}, which the native SHACL engine does not "
                    "implement",
                    path=s.origin(shape),
                    hint="validate with --engine pyshacl, or implement the component",
                )
            if local == "sparql":
                for f, row_path, value, text in self._sparql_results(shape, list(values)):
                    yield result(f, value, _COMPONENT[local], row_path, text)
                continue
            check = getattr(self, "_check_" + local)
            for f, vals in values.items():
                for value, component, *row_path in check(shape, f, vals):
                    yield result(f, value, component or _COMPONENT[local], *row_path)
        for prop in s.objects(shape, "property"):
            if path is None:
                yield from self._validate(prop, focus, spec)
            else:
                nested = list(dict.fromkeys(v for vals in values.values() for v in vals))
                yield from self._validate(prop, nested, None)

    # --- components: each yields (value or None, component or None[, path]) per result ---

    def _check_class(self, shape, f, vals):
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

    def _check_datatype(self, shape, f, vals):
        wanted = self.shapes.one(shape, "datatype").value
        for v in vals:
            if not _has_datatype(v, wanted):
                yield v, None

    def _check_nodeKind(self, shape, f, vals):
        kinds = _NODE_KINDS[self.shapes.one(shape, "nodeKind").value[len(SH) :]]
        for v in vals:
            if _kind(v) not in kinds:
                yield v, None

    def _check_minCount(self, shape, f, vals):
        if len(vals) < int(self.shapes.one(shape, "minCount").value):
            yield None, None

    def _check_maxCount(self, shape, f, vals):
        if len(vals) > int(self.shapes.one(shape, "maxCount").value):
            yield None, None

    def _compare(self, shape, f, vals, name):
        bound = self.shapes.one(shape, name)
        for v in vals:
            if not self._holds(v, _COMPARISONS[name], bound):
                yield v, None

    def _holds(self, left, operator: str, right) -> bool:
        if not isinstance(left, ox.Literal) or not isinstance(right, ox.Literal):
            return False
        query = "SELECT ?left ?right WHERE { FILTER (?left " + operator + " ?right) }"
        subs = {ox.Variable("left"): left, ox.Variable("right"): right}
        return any(True for _ in self.store.query(query, substitutions=subs))

    def _check_minExclusive(self, shape, f, vals):
        return self._compare(shape, f, vals, "minExclusive")

    def _check_minInclusive(self, shape, f, vals):
        return self._compare(shape, f, vals, "minInclusive")

    def _check_maxExclusive(self, shape, f, vals):
        return self._compare(shape, f, vals, "maxExclusive")

    def _check_maxInclusive(self, shape, f, vals):
        return self._compare(shape, f, vals, "maxInclusive")

    def _check_minLength(self, shape, f, vals):
        limit = int(self.shapes.one(shape, "minLength").value)
        for v in vals:
            if isinstance(v, ox.BlankNode) or len(v.value) < limit:
                yield v, None

    def _check_maxLength(self, shape, f, vals):
        limit = int(self.shapes.one(shape, "maxLength").value)
        for v in vals:
            if isinstance(v, ox.BlankNode) or len(v.value) > limit:
                yield v, None

    def _check_pattern(self, shape, f, vals):
        flags = self.shapes.one(shape, "flags")
        options = 0
        for letter in flags.value if flags is not None else "":
            options |= {"i": re.I, "s": re.S, "m": re.M, "x": re.X}.get(letter, 0)
        for pattern in self.shapes.objects(shape, "pattern"):
            regex = re.compile(pattern.value, options)
            for v in vals:
                if isinstance(v, ox.BlankNode) or not regex.search(v.value):
                    yield v, None

    def _check_languageIn(self, shape, f, vals):
        ranges = [r.value.lower() for r in self.shapes.items(self.shapes.one(shape, "languageIn"))]
        for v in vals:
            tag = v.language.lower() if isinstance(v, ox.Literal) and v.language else ""
            if not any(tag == r or tag.startswith(r + "-") or r == "*" and tag for r in ranges):
                yield v, None

    def _check_uniqueLang(self, shape, f, vals):
        if self.shapes.one(shape, "uniqueLang") != _TRUE:
            return
        counts: dict[str, int] = defaultdict(int)
        for v in vals:
            if isinstance(v, ox.Literal) and v.language:
                counts[v.language.lower()] += 1
        for _ in sorted(tag for tag, n in counts.items() if n > 1):
            yield None, None

    def _check_in(self, shape, f, vals):
        allowed = set(self.shapes.items(self.shapes.one(shape, "in")))
        for v in vals:
            if v not in allowed:
                yield v, None

    def _check_hasValue(self, shape, f, vals):
        for wanted in self.shapes.objects(shape, "hasValue"):
            if wanted not in vals:
                yield None, None

    def _check_node(self, shape, f, vals):
        for other in self.shapes.objects(shape, "node"):
            for v in vals:
                if not self._conforms(v, other):
                    yield v, None

    def _check_not(self, shape, f, vals):
        for other in self.shapes.objects(shape, "not"):
            for v in vals:
                if self._conforms(v, other):
                    yield v, None

    def _logical(self, shape, vals, name, passes):
        for head in self.shapes.objects(shape, name):
            members = self.shapes.items(head)
            for v in vals:
                if not passes(sum(self._conforms(v, m) for m in members), len(members)):
                    yield v, None

    def _check_and(self, shape, f, vals):
        return self._logical(shape, vals, "and", lambda n, total: n == total)

    def _check_or(self, shape, f, vals):
        return self._logical(shape, vals, "or", lambda n, total: n > 0)

    def _check_xone(self, shape, f, vals):
        return self._logical(shape, vals, "xone", lambda n, total: n == 1)

    def _check_qualifiedValueShape(self, shape, f, vals):
        s = self.shapes
        wanted = s.one(shape, "qualifiedValueShape")
        siblings = []
        if s.one(shape, "qualifiedValueShapesDisjoint") == _TRUE:
            for _parent, preds in s.out.items():
                if shape in preds.get(SH + "property", []):
                    for prop in preds[SH + "property"]:
                        other = s.one(prop, "qualifiedValueShape")
                        if prop != shape and other is not None and other != wanted:
                            siblings.append(other)
        count = sum(
            1
            for v in vals
            if self._conforms(v, wanted) and not any(self._conforms(v, o) for o in siblings)
        )
        low = s.one(shape, "qualifiedMinCount")
        high = s.one(shape, "qualifiedMaxCount")
        if low is not None and count < int(low.value):
            yield None, "QualifiedMinCountConstraintComponent"
        if high is not None and count > int(high.value):
            yield None, "QualifiedMaxCountConstraintComponent"

    def _check_closed(self, shape, f, vals):
        s = self.shapes
        if s.one(shape, "closed") != _TRUE:
            return
        allowed = {s.one(p, "path") for p in s.objects(shape, "property")}
        ignored = s.one(shape, "ignoredProperties")
        allowed |= set(s.items(ignored)) if ignored is not None else set()
        for v in vals:
            if isinstance(v, ox.Literal):
                continue
            for q in self.store.quads_for_pattern(v, None, None):
                if q.predicate not in allowed:
                    yield q.object, None, str(q.predicate)

    def _pair_values(self, shape, f, name) -> tuple[ox.NamedNode, list]:
        predicate = self.shapes.one(shape, name)
        return predicate, self._path_values(f, predicate, True)

    def _check_equals(self, shape, f, vals):
        _, others = self._pair_values(shape, f, "equals")
        for v in [v for v in vals if v not in others] + [o for o in others if o not in vals]:
            yield v, None

    def _check_disjoint(self, shape, f, vals):
        _, others = self._pair_values(shape, f, "disjoint")
        for v in vals:
            if v in others:
                yield v, None

    def _check_lessThan(self, shape, f, vals):
        _, others = self._pair_values(shape, f, "lessThan")
        for v in vals:
            if not all(self._holds(v, "<", o) for o in others):
                yield v, None

    def _check_lessThanOrEquals(self, shape, f, vals):
        _, others = self._pair_values(shape, f, "lessThanOrEquals")
        for v in vals:
            if not all(self._holds(v, "<=", o) for o in others):
                yield v, None

    def _sparql_results(self, shape, focus: list) -> Iterable[tuple]:
        """(focus, path, value, message) for each row of the shape's SPARQL constraints.

        SHACL pre-binds $this to each focus node (5.2.1), which costs a query per node. A
        query in which every group (each UNION branch, say) opens with a triple pattern on
        $this, with no nested group but OPTIONAL and EXISTS ones, binds $this before
        anything reads it: the same rows come out when it runs once with $this free, and
        that is how it runs, its rows kept for the focus nodes. Any other query runs once
        per focus node with $this substituted.
        """
        is_property = self.shapes.one(shape, "path") is not None
        wanted = set(focus)
        for constraint in self.shapes.objects(shape, "sparql"):
            if self._deactivated(constraint):
                continue
            text, prefixes, anchored, template = self._prepared(shape, constraint)
            if anchored:
                runs = [self.store.query(text, prefixes=prefixes)]
            else:
                runs = (
                    self.store.query(text, prefixes=prefixes, substitutions={_THIS: f})
                    for f in focus
                )
            for results in runs:
                names = {v.value for v in results.variables}
                rows = {}
                for row in results:
                    this = row["this"]
                    if this not in wanted:
                        continue
                    row_path = row["path"] if "path" in names else None
                    value = row["value"] if "value" in names else None
                    if value is None and not is_property:
                        value = this
                    message = _fill(template.value, row, names) if template is not None else None
                    path = str(row_path) if row_path is not None else None
                    rows[(this, path, value, message)] = None
                yield from rows

    def _prepared(self, shape, constraint) -> tuple:
        """A SPARQL constraint checked once: its text with $PATH filled, its prefixes,
        whether it binds $this first, its message."""
        key = (shape, constraint)
        if key in self.sparql:
            return self.sparql[key]
        s = self.shapes
        select = s.one(constraint, "select")
        if select is None:
            raise InputError(
                f"SPARQL constraint {constraint} has no sh:select",
                path=s.origin(constraint),
                hint="only SELECT-based constraints are defined by SHACL",
            )
        prefixes: dict[str, str] = {}
        for holder in s.objects(constraint, "prefixes"):
            for decl in s.objects(holder, "declare"):
                prefixes[s.one(decl, "prefix").value] = s.one(decl, "namespace").value
        text = select.value
        bare = _blank_out(text)
        forbidden = _FORBIDDEN.search(bare)
        if forbidden:
            raise InputError(
                f"SPARQL constraint {constraint} uses {forbidden.group(0).strip().upper()}, "
                "which SHACL forbids in constraints (it defeats the pre-binding of $this)",
                path=s.origin(constraint),
                hint="rewrite the query without VALUES, MINUS, SERVICE or AS $this",
            )
        if not _PROJECTS_THIS.search(bare):
            raise InputError(
                f"SPARQL constraint {constraint} does not select $this",
                path=s.origin(constraint),
                hint="write SELECT $this ... so that each result names its focus node",
            )
        if s.one(shape, "path") is not None:
            text = text.replace("$PATH", self._sparql_path(s.one(shape, "path")))
            bare = _blank_out(text)
        self.sparql[key] = (text, prefixes, _binds_this_first(bare), s.one(constraint, "message"))
        return self.sparql[key]

    # --- findings -------------------------------------------------------------------------

    def _finding(self, shape, severity, focus, path, value, component, message) -> Finding:
        return Finding(
            severity=severity,
            focus=str(focus),
            path=path,
            value=str(value) if value is not None else None,
            message=message,
            shape=str(shape),
            constraint="<" + component + ">",
            source_file=_source_file(self.data, focus),
        )


def _binds_this_first(query: str) -> bool:
    """Whether every group of the WHERE clause that is not an OPTIONAL or EXISTS opens
    with a triple pattern naming $this (or with groups that do), and no SELECT is nested."""
    where = query[query.find("{") :]
    if re.search(r"\bSELECT\b", where, re.I):
        return False
    where = _IRI.sub(lambda m: " " * len(m.group(0)), where)  # a "." inside an IRI ends nothing
    for brace in re.finditer(r"\{", where):
        if _NESTING_KEYWORD.search(where[: brace.start()]):
            continue
        opening = where[brace.end() :]
        if opening.lstrip().startswith("{"):
            continue  # a group of groups: each is checked in turn
        first = re.split(r"[.;,{}]", opening, maxsplit=1)[0]
        if _KEYWORD.match(first) or not _THIS_TOKEN.search(first):
            return False
    return True


def _blank_out(text: str) -> str:
    """The query with strings and comments blanked, positions kept, for keyword searches."""
    return _STRINGS_AND_COMMENTS.sub(lambda m: " " * len(m.group(0)), text)


def _order(finding: Finding) -> tuple:
    return tuple("" if part is None else part for part in astuple(finding))


def _fill(template: str, row, names: set[str]) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        term = row[name] if name in names else None
        return term.value if term is not None and hasattr(term, "value") else match.group(0)

    return re.sub(r"\{[?$](\w+)\}", value, template)


def _kind(term) -> str:
    if isinstance(term, ox.NamedNode):
        return "iri"
    return "blank" if isinstance(term, ox.BlankNode) else "literal"


def _has_datatype(term, wanted: str) -> bool:
    """sh:datatype as pySHACL decides it: the datatype matches and rdflib accepts the form."""
    if not isinstance(term, ox.Literal):
        return False
    if wanted == RDFS + "Literal":
        return True
    if term.language:
        return wanted == _LANGSTRING
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


# SHACL 5.2.1: constraints may not use these, as pySHACL enforces.
_FORBIDDEN = re.compile(
    r"\b(VALUES|MINUS|SERVICE)\b|\bAS\s+[?$](this|shapesGraph|currentShape)\b", re.I
)
_THIS = ox.Variable("this")
_IRI = re.compile(r"<[^<>\s]*>")
_KEYWORD = re.compile(r"\s*[A-Za-z]+\b(?!:)")  # FILTER, BIND, OPTIONAL ...; not a prefixed name
_THIS_TOKEN = re.compile(r"[?$]this\b")
_NESTING_KEYWORD = re.compile(r"\b(OPTIONAL|EXISTS)\s*$", re.I)
_PROJECTS_THIS = re.compile(r"\bSELECT\s+(DISTINCT\s+|REDUCED\s+)?(\*|[^{]*[?$]this\b)", re.I)
_STRINGS_AND_COMMENTS = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"[^"\n]*"|\'[^\'\n]*\'|#[^\n]*'
)
_DATE_ZONE = re.compile(r"(Z|[+-]\d\d:\d\d)$")
