"""A native SHACL engine: shapes compiled to SPARQL on the pyoxigraph store, SHACL's verdicts.

Targets and property paths become SPARQL run once per shape on ``KGraph.store()``, so a shape
costs one query over the whole graph rather than one per focus node; the constraint
components are then checked on the returned values, read as the data writes them (the
store canonicalises literals; see ``_AsWritten``). SPARQL-based constraints and constraint
components run with SHACL's pre-binding. It passes the W3C test suite (tests/test_w3c_shacl)
but for what it refuses up front; pySHACL stays the reference: where the two could differ
(the lexical checks behind ``sh:datatype``) this engine follows rdflib's rules, and anything
it does not implement is refused (exit 3), never skipped.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import astuple
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

import pyoxigraph as ox

from kzld.errors import InputError, UsageError
from kzld.loading.graph import GENID, KGraph
from kzld.sparql_text import check_read_only, tokens
from kzld.validating.findings import Finding, source_file
from kzld.vocabulary import RDF, RDFS, SH, XSD

_TYPE = ox.NamedNode(RDF + "type")
_FIRST = ox.NamedNode(RDF + "first")
_REST = ox.NamedNode(RDF + "rest")
_NIL = ox.NamedNode(RDF + "nil")
_TRUE = ox.Literal("true", datatype=ox.NamedNode(XSD + "boolean"))
_IMPORTS = "http://www.w3.org/2002/07/owl#imports"
_DATA = ox.DefaultGraph()  # the data; the shapes join it as a named graph for $shapesGraph
_SHAPES_GRAPH = ox.NamedNode("urn:kzld:shapes-graph")
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
    "select",  # a shape that is its own SPARQL constraint (ex:S sh:sparql ex:S)
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


def check_sparql(shapes: KGraph) -> None:
    """Refuse a shapes graph whose SPARQL would reach outside the data or does not parse,
    whichever engine runs it (rdflib would run a SERVICE, pyparsing raise on bad text)."""
    engine = _Engine(KGraph(triples=[]), _ShapesGraph(shapes))
    engine.native = False  # pySHACL implements what this engine refuses
    engine.check()


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


class _AsWritten:
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
            ox.Quad(ox.NamedNode(f"urn:kzld:literal:{n}"), _TYPE, lit)
            for n, lit in enumerate(literals)
        )
        for quad in scratch.quads_for_pattern(None, _TYPE, None):
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


_KEPT = {_STRING, _LANGSTRING}  # the store keeps these as written
_CANONICAL = {
    XSD + "integer": re.compile(r"0|-?[1-9][0-9]*"),
    XSD + "date": re.compile(r"-?[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}"),
    XSD + "gYear": re.compile(r"-?[1-9][0-9]{3}"),
    XSD + "gYearMonth": re.compile(r"-?[1-9][0-9]{3}-[0-9]{2}"),
    XSD + "boolean": re.compile(r"true|false"),
    XSD + "anyURI": re.compile(r"[^\s]*"),
}


def _is_blank(term) -> bool:
    """A blank node, or one of kzld's skolem IRIs, which stand for blank nodes (RDF 1.1,
    3.5): node kinds, lengths and patterns treat them as the blank nodes they were."""
    return isinstance(term, ox.BlankNode) or (
        isinstance(term, ox.NamedNode) and term.value.startswith(GENID)
    )


class _RdflibData:
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


class _Engine:
    def __init__(self, data: KGraph, shapes: _ShapesGraph):
        self.data = data
        self.store = data.store()
        self.shapes = shapes
        self.instances: dict[ox.NamedNode, set] = {}
        self.conformance: dict[tuple, bool] = {}
        self.sparql: dict[tuple, _Query] = {}
        self.written = _AsWritten(data)
        self.native = True  # whether this engine runs the shapes, or only checks them
        self.as_written: _RdflibData | None = None
        self.shapes_loaded = False  # the shapes as a named graph of the store, for $shapesGraph
        # SPARQL-based constraint components: each with its parameters (path, optional).
        self.components: dict[object, list[tuple]] = {}
        kinds = shapes.subclasses(_sh("ConstraintComponent"))
        for subject, preds in shapes.out.items():
            if kinds.intersection(preds.get(_TYPE.value, [])):
                self.components[subject] = [
                    (shapes.one(param, "path"), shapes.one(param, "optional") == _TRUE)
                    for param in shapes.objects(subject, "parameter")
                ]

    def run(self) -> list[Finding]:
        self.check()
        findings: set[Finding] = set()
        try:
            for shape in self.shapes.shapes_with_targets():
                if self._deactivated(shape):
                    continue
                for targets in self._target_specs(shape):
                    focus = self._focus_nodes(targets)
                    for result in self._validate(shape, focus, targets):
                        findings.add(self._finding(*result))
        finally:
            if self.shapes_loaded:  # the data's store is the data's again
                self.store.remove_graph(_SHAPES_GRAPH)
        return sorted(findings, key=_order)

    def check(self) -> None:
        """Refuse, before anything runs, every shape the engine cannot check faithfully:
        an unknown component, a SPARQL query SHACL forbids, one that does not parse."""
        s = self.shapes
        todo, seen = list(s.shapes_with_targets()), set()
        while todo:
            shape = todo.pop()
            if shape in seen:
                continue
            seen.add(shape)
            for name in s.out.get(shape, {}):
                local = name[len(SH) :] if name.startswith(SH) else None
                if local is not None and local not in _SETTINGS | _COMPONENT.keys() and self.native:
                    raise InputError(
                        f"shape {shape} uses sh:{local}, which the native SHACL engine does "
                        "not implement",
                        path=s.origin(shape),
                        hint="validate with --engine pyshacl, or implement the component",
                    )
            for constraint in s.objects(shape, "sparql"):
                self._query(shape, constraint, "select", {})
            for component, bindings in self._components_of(shape):
                validator = self._validator(shape, component)
                form = "ask" if s.one(validator, "ask") is not None else "select"
                self._query(shape, validator, form, bindings)
            todo.extend(s.objects(shape, "property"))
            for name in ("node", "not", "qualifiedValueShape"):
                todo.extend(s.objects(shape, name))
            for name in ("and", "or", "xone"):
                for head in s.objects(shape, name):
                    todo.extend(s.items(head))

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
        if kind == "targetObjectsOf":  # literals among them, as written
            quads = self.store.quads_for_pattern(None, target, None, _DATA)
            found = (v for q in quads for v in self.written.all(q.subject, target, q.object))
            return list(dict.fromkeys(found))
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
            rewritten = self.written.rewritten
            if rewritten:
                for f, vals in values.items():
                    if any(v in rewritten for v in vals):
                        values[f] = self._walk([f], path)
            return values
        for f in focus:
            values[f] = self._path_values(f, path, simple)
        return values

    def _path_values(self, node, path, simple: bool) -> list:
        if isinstance(node, ox.Literal):
            return []  # a literal has no outgoing arcs
        if simple:
            quads = self.store.quads_for_pattern(node, path, None, _DATA)
            return list(
                dict.fromkeys(v for q in quads for v in self.written.all(node, path, q.object))
            )
        query = "SELECT DISTINCT ?f ?v WHERE { ?f " + self._sparql_path(path) + " ?v }"
        rows = self.store.query(query, substitutions={ox.Variable("f"): node})
        found = [row["v"] for row in rows]
        if any(v in self.written.rewritten for v in found):
            return self._walk([node], path)
        return found

    def _walk(self, nodes: list, path) -> list:
        """The ends of a path from these nodes, walked step by step so that each literal
        reached is read as written (only for nodes where the store rewrote one)."""
        s = self.shapes
        if self._is_predicate(path):
            found = []
            for n in nodes:
                if not isinstance(n, ox.Literal):
                    for q in self.store.quads_for_pattern(n, path, None, _DATA):
                        found.extend(self.written.all(n, path, q.object))
            return list(dict.fromkeys(found))
        if s.out.get(path, {}).get(_FIRST.value):
            for step in s.items(path):
                nodes = self._walk(nodes, step)
            return nodes
        alternatives = s.one(path, "alternativePath")
        if alternatives is not None:
            found = [v for step in s.items(alternatives) for v in self._walk(nodes, step)]
            return list(dict.fromkeys(found))
        inner = s.one(path, "zeroOrOnePath")
        if inner is not None:
            return list(dict.fromkeys(nodes + self._walk(nodes, inner)))
        for name in ("zeroOrMorePath", "oneOrMorePath"):
            inner = s.one(path, name)
            if inner is not None:
                found = dict.fromkeys(nodes) if name == "zeroOrMorePath" else {}
                frontier = self._walk(nodes, inner)
                while frontier:
                    fresh = [v for v in frontier if v not in found]
                    found.update(dict.fromkeys(fresh))
                    frontier = self._walk(fresh, inner) if fresh else []
                return list(found)
        # An inverse path ends at subjects, never at literals: the store's answer stands.
        query = "SELECT DISTINCT ?v WHERE { ?f " + self._sparql_path(path) + " ?v }"
        found = []
        for n in nodes:
            rows = self.store.query(query, substitutions={ox.Variable("f"): n})
            found.extend(row["v"] for row in rows)
        return list(dict.fromkeys(found))

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
        if severity is None:
            severity = "Violation"
        elif severity.value in (SH + "Violation", SH + "Warning", SH + "Info"):
            severity = severity.value[len(SH) :]
        else:
            severity = str(severity)  # a severity of the shapes' own, written as its IRI
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
                SH + component if isinstance(component, str) else component.value,
                text or message or _local_name(str(component).strip("<>")),
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
                continue  # with the SPARQL-based components, below
            check = getattr(self, "_check_" + local)
            for f, vals in values.items():
                for value, component, *row_path in check(shape, f, vals):
                    yield result(f, value, component or _COMPONENT[local], *row_path)
        for f, row_path, value, text, component in self._sparql_results(shape, list(values)):
            yield result(f, value, component, row_path, text)
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
            if _is_blank(v) or len(v.value) < limit:
                yield v, None

    def _check_maxLength(self, shape, f, vals):
        limit = int(self.shapes.one(shape, "maxLength").value)
        for v in vals:
            if _is_blank(v) or len(v.value) > limit:
                yield v, None

    def _check_pattern(self, shape, f, vals):
        flags = self.shapes.one(shape, "flags")
        options = 0
        for letter in flags.value if flags is not None else "":
            options |= {"i": re.I, "s": re.S, "m": re.M, "x": re.X}.get(letter, 0)
        for pattern in self.shapes.objects(shape, "pattern"):
            regex = re.compile(pattern.value, options)
            for v in vals:
                if _is_blank(v) or not regex.search(v.value):
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
            for q in self.store.quads_for_pattern(v, None, None, _DATA):
                if q.predicate not in allowed:
                    for value in self.written.all(v, q.predicate, q.object):
                        yield value, None, str(q.predicate)

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
        """(focus, path, value, message, component) for each row of the shape's SPARQL
        constraints and of the SPARQL-based constraint components it uses."""
        if not self.components and SH + "sparql" not in self.shapes.out.get(shape, {}):
            return
        for constraint in self.shapes.objects(shape, "sparql"):
            if self._deactivated(constraint):
                continue
            query = self._query(shape, constraint, "select", {})
            for row in self._select(query, shape, focus, {}):
                yield (*row, "SPARQLConstraintComponent")
        for component, bindings in self._components_of(shape):
            validator = self._validator(shape, component)
            if self.shapes.one(validator, "ask") is not None:
                query = self._query(shape, validator, "ask", bindings)
                yield from self._ask(query, shape, focus, bindings, component)
            else:
                query = self._query(shape, validator, "select", bindings)
                for row in self._select(query, shape, focus, bindings):
                    yield (*row, component)

    def _select(self, query: _Query, shape, focus: list, bindings: dict) -> Iterable[tuple]:
        """(focus, path, value, message) per result row of a SELECT, $this pre-bound.

        SHACL pre-binds $this to each focus node (5.2.1), which costs a query per node. A
        query in which every group (each UNION branch, say) opens with a triple pattern on
        $this, with no nested group but OPTIONAL and EXISTS ones, binds $this before
        anything reads it: the same rows come out when it runs once with $this free, and
        that is how it runs, its rows kept for the focus nodes.
        """
        is_property = self.shapes.one(shape, "path") is not None
        fixed = {**bindings, "currentShape": shape}
        wanted = set(focus)
        # Focus nodes with a literal the store rewrote run on rdflib, as the data wrote it.
        aside = wanted & self.written.subjects
        on_store = wanted - aside
        runs = (
            [(fixed, False)]
            if query.anchored
            else [({**fixed, "this": f}, False) for f in focus if f in on_store]
        )
        runs += [({**fixed, "this": f}, True) for f in focus if f in aside]
        for run, as_written in runs:
            results = self._execute(query, run, as_written)
            names = {v.value for v in results.variables}
            rows = {}
            for row in results:
                this = row["this"]
                if this not in (aside if as_written else on_store):
                    continue
                row_path = row["path"] if "path" in names else None
                value = row["value"] if "value" in names else None
                if value is None and not is_property:
                    value = this
                message = None
                if query.message is not None:
                    terms = {**run, **{n: row[n] for n in names if row[n] is not None}}
                    message = _fill(query.message.value, terms)
                path = str(row_path) if row_path is not None else None
                rows[(this, path, value, message)] = None
            yield from rows

    def _ask(self, query: _Query, shape, focus, bindings, component) -> Iterable[tuple]:
        """A result for each value node for which the ASK validator answers false."""
        values = self._value_map(shape, focus, None)
        for f, vals in values.items():
            for v in vals:
                run = {**bindings, "currentShape": shape, "this": f, "value": v}
                aside = f in self.written.subjects or v in self.written.subjects
                if not self._execute(query, run, aside):
                    message = _fill(query.message.value, run) if query.message else None
                    yield f, None, v, message, component

    def _execute(self, query: _Query, bindings: dict, as_written: bool = False):
        """Run a query on the store, or, for a focus node the store holds otherwise than
        the data (as_written), on rdflib, which keeps every literal as written."""
        if "shapesGraph" in query.mentioned:
            if as_written:
                raise InputError(
                    "a SPARQL query of the shapes reads $shapesGraph on data holding a literal "
                    "the store rewrote, which the native engine cannot run as written",
                    hint="validate with --engine pyshacl",
                )
            if not self.shapes_loaded:
                self.shapes_loaded = True
                self.store.extend(
                    ox.Quad(t.subject, t.predicate, t.object, _SHAPES_GRAPH)
                    for t in self.shapes.graph.triples
                )
            bindings = {**bindings, "shapesGraph": _SHAPES_GRAPH}
        text = query.bind(bindings)
        if as_written:
            if self.as_written is None:
                self.as_written = _RdflibData(self.data)
            return self.as_written.query(text, query.prefixes)
        try:
            return self.store.query(text, prefixes=query.prefixes)
        except SyntaxError as err:  # a value no VALUES row can hold (a bare blank node)
            raise InputError(
                f"a SPARQL query of the shapes cannot pre-bind {bindings.get('this')}: "
                f"{str(err).splitlines()[0]}",
                hint="load the data with load_graph, which names every blank node",
            ) from None

    def _query(self, shape, node, form: str, bindings: dict) -> _Query:
        """A constraint's or validator's query, checked once: $PATH filled, its prefixes,
        the groups where pre-bound variables are bound."""
        key = (shape, node, tuple(sorted(bindings)))
        if key in self.sparql:
            return self.sparql[key]
        s = self.shapes
        text = s.one(node, form)
        if text is None:
            raise InputError(
                f"SPARQL constraint {node} has no sh:select",
                path=s.origin(node),
                hint="only SELECT-based constraints are defined by SHACL",
            )
        path = s.one(shape, "path")
        prebound = {"this", "currentShape", "shapesGraph", *bindings}
        prebound |= {"value"} if form == "ask" else set()
        query = _compile(
            text.value,
            origin=f"SPARQL query of {node}",
            file=s.origin(node),
            path=self._sparql_path(path) if path is not None else None,
            prebound=prebound,
            prefixes=self._prefixes(node),
            message=s.one(node, "message"),
            anchored_ok=form == "select" and set(bindings) <= {"currentShape"},
            native=self.native,
        )
        # Parsed once here, with placeholder values, so a broken query is refused before
        # any result is reported.
        trial = {name: ox.NamedNode("urn:kzld:prebound") for name in prebound}
        try:
            ox.Store().query(query.bind({**trial, **bindings}), prefixes=query.prefixes)
        except SyntaxError as err:
            raise InputError(
                f"SPARQL query of {node} does not parse: {str(err).splitlines()[0]}",
                path=s.origin(node),
                hint="fix the query in the shapes (sh:prefixes must declare every prefix)",
            ) from None
        self.sparql[key] = query
        return query

    def _prefixes(self, node) -> dict[str, str]:
        """The prefixes a query declares: sh:declare on its sh:prefixes values and on
        whatever those import through owl:imports, transitively (SHACL 5.2.1.1)."""
        s = self.shapes
        found: dict[str, str] = {}
        todo, seen = list(s.objects(node, "prefixes")), set()
        while todo:
            holder = todo.pop(0)
            if holder in seen:
                continue
            seen.add(holder)
            for decl in s.objects(holder, "declare"):
                prefix, namespace = s.one(decl, "prefix"), s.one(decl, "namespace")
                if prefix is not None and namespace is not None:
                    found.setdefault(prefix.value, namespace.value)
            todo.extend(s.out.get(holder, {}).get(_IMPORTS, []))
        return found

    def _components_of(self, shape) -> list[tuple]:
        """The SPARQL-based constraint components this shape uses, each with its parameter
        values (by the local name of each parameter's path): those whose every mandatory
        parameter has a value on the shape."""
        used = []
        out = self.shapes.out.get(shape, {})
        for component, params in self.components.items():
            bindings = {}
            for predicate, optional in params:
                values = out.get(predicate.value, [])
                if len(values) > 1:
                    raise InputError(
                        f"shape {shape} gives {predicate} {len(values)} values",
                        path=self.shapes.origin(shape),
                        hint="the native engine takes one value per component parameter",
                    )
                if values:
                    bindings[_local_name(predicate.value)] = values[0]
                elif not optional:
                    break
            else:
                if bindings:
                    used.append((component, bindings))
        return used

    def _validator(self, shape, component):
        s = self.shapes
        kind = "propertyValidator" if s.one(shape, "path") is not None else "nodeValidator"
        validator = s.one(component, kind) or s.one(component, "validator")
        if validator is None:
            raise InputError(
                f"constraint component {component} has no validator for {shape}",
                path=s.origin(component),
                hint=f"give the component an sh:{kind} or sh:validator",
            )
        return validator

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
            source_file=source_file(self.data, focus),
        )


class _Query:
    """A SPARQL query ready for pre-binding: its text cut where each group opens."""

    def __init__(self, parts, prefixes, anchored, message, mentioned):
        self.parts = parts
        self.mentioned = mentioned  # variable names the text holds: only these are bound
        self.prefixes = prefixes
        self.anchored = anchored
        self.message = message

    def bind(self, bindings: dict) -> str:
        """The query with these variables pre-bound: a one-row VALUES at the start of every
        group, which binds them wherever the query reads them (nested groups, BIND, FILTER,
        EXISTS), as SHACL's pre-binding requires (5.3.1)."""
        names = sorted(n for n in bindings if n in self.mentioned)
        if not names:
            return "".join(self.parts)
        heads = " ".join("?" + n for n in names)
        row = " ".join(_sparql_term(bindings[n]) for n in names)
        return f" VALUES ({heads}) {{ ({row}) }} ".join(self.parts)


def _compile(
    text, *, origin, file, path, prebound, prefixes, message, anchored_ok, native
) -> _Query:
    """Check a constraint's query against SHACL's rules for SPARQL (5.3.1, 6.2.2) and cut
    it for pre-binding; refuse (exit 3) whatever the engine cannot run faithfully."""

    def refuse(what: str, hint: str):
        raise InputError(f"{origin} {what}", path=file, hint=hint)

    try:
        check_read_only(text, origin)
    except UsageError as err:
        raise InputError(str(err), path=file, hint="constraints query the data only") from None
    if native:
        text = _blank_tests(text)
    found = [t for t in tokens(text) if t.kind != "comment"]
    words = [t.text.upper() if t.kind == "word" else None for t in found]
    # SHACL's own rules on constraint queries, for the native engine (pySHACL has its own).
    for i, token in enumerate(found if native else []):
        if words[i] in ("VALUES", "MINUS", "SERVICE"):
            refuse(
                f"uses {words[i]}, which SHACL forbids in constraints",
                "rewrite the query without VALUES, MINUS or SERVICE",
            )
        name = token.text[1:] if token.kind == "var" else None
        if name in prebound and i and words[i - 1] == "AS":
            refuse(
                f"assigns the pre-bound variable ${name}",
                f"SHACL pre-binds ${name}; use another variable name",
            )
        if name == "PATH" and path is None:
            refuse("uses $PATH outside a property shape", "move the constraint to a property shape")
        if words[i] == "SELECT" and i and found[i - 1].text == "{" and "this" in prebound:
            if "this" not in _projection(found, i):
                refuse(
                    "has a subquery that does not select $this",
                    "SHACL requires every subquery to return the pre-bound $this",
                )
    top = next((i for i, w in enumerate(words) if w in ("SELECT", "ASK")), None)
    if native and top is not None and words[top] == "SELECT" and "this" in prebound:
        if not {"this", "*"} & _projection(found, top):
            refuse(
                "does not select $this",
                "write SELECT $this ... so that each result names its focus node",
            )
    cuts, current, done = [], "", 0
    inline_data = False  # between VALUES and its data block's "{", which opens no group
    for i, token in enumerate(found):
        if words[i] == "VALUES":
            inline_data = True
        if token.kind == "var" and token.text[1:] == "PATH" and path is not None:
            current += text[done : token.start] + path
            done = token.start + len(token.text)
        elif token.kind == "punct" and token.text == "{":
            if inline_data or (i + 1 < len(found) and words[i + 1] == "SELECT"):
                inline_data = False
                continue  # a data block; or a subquery, whose own WHERE group is bound
            cuts.append(current + text[done : token.start + 1])
            current, done = "", token.start + 1
    cuts.append(current + text[done:])
    anchored = anchored_ok and _binds_this_first(found, words)
    mentioned = {t.text[1:] for t in found if t.kind == "var"}
    return _Query(cuts, prefixes, anchored, message, mentioned)


def _blank_tests(text: str) -> str:
    """The query with isBlank, isIRI and isURI seeing kzld's skolem IRIs as the blank nodes
    they stand for (the store holds them as IRIs)."""
    found = [t for t in tokens(text) if t.kind != "comment"]
    edits = []
    for i, token in enumerate(found):
        test = token.text.upper() if token.kind == "word" else None
        if test not in ("ISBLANK", "ISIRI", "ISURI") or i + 1 == len(found):
            continue
        if found[i + 1].text != "(":
            continue
        depth, j = 0, i + 1
        for j in range(i + 1, len(found)):
            depth += {"(": 1, ")": -1}.get(found[j].text, 0) if found[j].kind == "punct" else 0
            if depth == 0:
                break
        if depth:
            continue  # unbalanced: left for the parser to report
        arg = text[found[i + 1].start + 1 : found[j].start]
        skolem = f'(isIRI({arg}) && STRSTARTS(STR({arg}), "{GENID}"))'
        if test == "ISBLANK":
            new = f"(isBlank({arg}) || {skolem})"
        else:
            new = f"({token.text}({arg}) && !{skolem})"
        edits.append((token.start, found[j].start + 1, new))
    for start, end, new in reversed(edits):
        if all(not (s0 < end and start < e0) for s0, e0, _ in edits if (s0, e0) != (start, end)):
            text = text[:start] + new + text[end:]
    return text


def _projection(found: list, select: int) -> set[str]:
    """The variable names (and a "*") a SELECT at this token projects."""
    names = set()
    for later in found[select + 1 :]:
        if later.text == "{" or later.text.upper() == "WHERE":
            break
        names.add(later.text[1:] if later.kind == "var" else later.text)
    return names


def _binds_this_first(found: list, words: list) -> bool:
    """Whether every group of the WHERE clause that is not an OPTIONAL or EXISTS opens
    with a triple pattern naming $this (or with groups that do), and no SELECT is nested."""
    start = next((i for i, t in enumerate(found) if t.text == "{" and t.kind == "punct"), None)
    if start is None or "SELECT" in words[start:]:
        return False
    for i in range(start, len(found)):
        if found[i].kind != "punct" or found[i].text != "{":
            continue
        if i and words[i - 1] in ("OPTIONAL", "EXISTS"):
            continue
        if i + 1 < len(found) and found[i + 1].text == "{":
            continue  # a group of groups: each is checked in turn
        first = []
        for later in found[i + 1 :]:
            if later.kind == "punct" and later.text in ".;,{}":
                break
            first.append(later)
        if not first or first[0].kind == "word":
            return False
        if not any(t.kind == "var" and t.text[1:] == "this" for t in first):
            return False
    return True


def _sparql_term(term) -> str:
    """A term as SPARQL text (N-Triples forms are valid SPARQL terms)."""
    return str(term)


def _local_name(iri: str) -> str:
    return re.split(r"[#/:]", iri)[-1]


def _order(finding: Finding) -> tuple:
    return tuple("" if part is None else part for part in astuple(finding))


def _fill(template: str, terms: dict) -> str:
    """A message template with {$name} or {?name} filled from the bound variables."""

    def value(match: re.Match) -> str:
        term = terms.get(match.group(1))
        return term.value if term is not None and hasattr(term, "value") else match.group(0)

    return re.sub(r"\{[?$](\w+)\}", value, template)


def _kind(term) -> str:
    if _is_blank(term):
        return "blank"
    return "iri" if isinstance(term, ox.NamedNode) else "literal"


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


_DATE_ZONE = re.compile(r"(Z|[+-]\d\d:\d\d)$")
