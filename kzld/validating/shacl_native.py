"""A native SHACL engine: shapes compiled to SPARQL on the pyoxigraph store, SHACL's verdicts.

Targets and property paths become SPARQL run once per shape on ``KGraph.store()``, so a shape
costs one query over the whole graph rather than one per focus node; the constraint
components are then checked on the returned values, read as the data writes them (the
store canonicalises literals; see ``AsWritten``). SPARQL-based constraints and constraint
components run with SHACL's pre-binding. It passes the W3C test suite (tests/test_w3c_shacl)
but for what it refuses up front; pySHACL stays the reference: where the two could differ
(the lexical checks behind ``sh:datatype``) this engine follows rdflib's rules, and anything
it does not implement is refused (exit 3), never skipped.

This module walks the shapes and reports; the parts live beside it:

- ``shacl_shapes``: the shapes graph, indexed; ``shacl_paths``: property paths written out;
- ``shacl_values``: focus nodes and value nodes read from the data;
- ``shacl_literals``, ``shacl_terms``: literals as written, node kinds and datatypes;
- ``shacl_core``: the Core constraint components, by family;
- ``shacl_sparql``, ``shacl_queries``: SHACL-SPARQL, compiled and run with pre-binding.
"""

from __future__ import annotations

from collections.abc import Iterable

from kzld.errors import InputError
from kzld.loading.graph import KGraph
from kzld.validating.findings import Finding, finding_order, source_file
from kzld.validating.shacl_core import core_checks
from kzld.validating.shacl_literals import AsWritten
from kzld.validating.shacl_paths import finding_path
from kzld.validating.shacl_shapes import ShapesGraph, local_name
from kzld.validating.shacl_sparql import SparqlChecks, SparqlQueries
from kzld.validating.shacl_values import DataReader
from kzld.vocabulary import SH

# Shape predicates that configure a shape or a component rather than name a component.
_SETTINGS = {
    "path", "targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf", "severity",
    "message", "deactivated", "name", "description", "order", "group", "defaultValue", "flags",
    "ignoredProperties", "qualifiedMinCount", "qualifiedMaxCount",
    "qualifiedValueShapesDisjoint", "property", "declare", "prefixes",
    "select",  # a shape that is its own SPARQL constraint (ex:S sh:sparql ex:S)
}  # fmt: skip
# The components the engine implements, by the local name of their parameter: each but
# sh:sparql has a check in shacl_core under that name.
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


def validate_native(data: KGraph, shapes: KGraph) -> list[Finding]:
    """Validate the data against the shapes; the findings in one canonical order."""
    return _Engine(data, ShapesGraph(shapes)).run()


def check_sparql(shapes: KGraph) -> None:
    """Refuse a shapes graph whose SPARQL would reach outside the data or does not parse,
    whichever engine runs it (rdflib would run a SERVICE, pyparsing raise on bad text)."""
    s = ShapesGraph(shapes)
    _check(s, SparqlQueries(s, native=False))  # pySHACL implements what this engine refuses


def path_text(graph: KGraph, path) -> str:
    """A SHACL path node of this graph written as findings write it (a SPARQL path)."""
    return finding_path(ShapesGraph(graph), path)


def _check(s: ShapesGraph, queries: SparqlQueries) -> None:
    """Refuse, before anything runs, every shape the engine cannot check faithfully:
    an unknown component, a SPARQL query SHACL forbids, one that does not parse."""
    todo, seen = list(s.shapes_with_targets()), set()
    while todo:
        shape = todo.pop()
        if shape in seen:
            continue
        seen.add(shape)
        for name in s.out.get(shape, {}):
            local = name[len(SH) :] if name.startswith(SH) else None
            if local is not None and local not in _SETTINGS | _COMPONENT.keys() and queries.native:
                raise _not_implemented(s, shape, local)
        for constraint in s.objects(shape, "sparql"):
            queries.query(shape, constraint, "select", {})
        for component, bindings in queries.components_of(shape):
            validator = queries.validator(shape, component)
            form = "ask" if s.one(validator, "ask") is not None else "select"
            queries.query(shape, validator, form, bindings)
        todo.extend(s.objects(shape, "property"))
        for name in ("node", "not", "qualifiedValueShape"):
            todo.extend(s.objects(shape, name))
        for name in ("and", "or", "xone"):
            for head in s.objects(shape, name):
                todo.extend(s.items(head))


def _not_implemented(s: ShapesGraph, shape, local: str) -> InputError:
    return InputError(
        f"shape {shape} uses sh:{local}, which the native SHACL engine does not implement",
        path=s.origin(shape),
        hint="validate with --engine pyshacl, or implement the component",
    )


class _Engine:
    """One validation run: every shape with a target, on its focus nodes, recursively
    through sh:property and the shapes other components name."""

    def __init__(self, data: KGraph, shapes: ShapesGraph):
        self.data = data
        self.shapes = shapes
        self.reader = DataReader(data.store(), shapes, AsWritten(data))
        self.checks = core_checks(shapes, self.reader, self.conforms)
        self.queries = SparqlQueries(shapes, native=True)
        self.sparql = SparqlChecks(data, self.queries, self.reader)
        self.conformance: dict[tuple, bool] = {}  # (node, shape) -> whether it conforms

    def run(self) -> list[Finding]:
        _check(self.shapes, self.queries)
        findings: set[Finding] = set()
        try:
            for shape in self.shapes.shapes_with_targets():
                if self.shapes.deactivated(shape):
                    continue
                for targets in self.shapes.target_specs(shape):
                    focus = self.reader.focus_nodes(targets)
                    for result in self._validate(shape, focus, targets):
                        findings.add(_finding(self.data, *result))
        finally:
            self.sparql.close()
        return sorted(findings, key=finding_order)

    def conforms(self, node, shape) -> bool:
        """Whether one node conforms to a shape (for sh:node, sh:or, sh:not and the like)."""
        key = (node, shape)
        if key not in self.conformance:
            self.conformance[key] = True  # a recursive shape assumes conformance on re-entry
            self.conformance[key] = not any(True for _ in self._validate(shape, [node], None))
        return self.conformance[key]

    def _validate(self, shape, focus: list, spec) -> Iterable[tuple]:
        """Results (shape, severity, focus, path, value, component, message) for these
        nodes; spec is the target they came from (None for nodes reached otherwise)."""
        if self.shapes.deactivated(shape) or not focus:
            return
        s = self.shapes
        path = s.one(shape, "path")
        values = self.reader.value_map(shape, focus, spec)
        result = _result_maker(s, shape, path)
        for name in sorted({p for p in s.out.get(shape, {}) if p.startswith(SH)}):
            local = name[len(SH) :]
            if local in _SETTINGS:
                continue
            if local not in _COMPONENT:
                raise _not_implemented(s, shape, local)
            if local == "sparql":
                continue  # with the SPARQL-based components, below
            check = self.checks[local]
            for f, vals in values.items():
                for value, component, *row_path in check(shape, f, vals):
                    yield result(f, value, component or _COMPONENT[local], *row_path)
        for f, row_path, value, text, component in self.sparql.results(shape, list(values)):
            yield result(f, value, component, row_path, text)
        for prop in s.objects(shape, "property"):
            if path is None:
                yield from self._validate(prop, focus, spec)
            else:
                nested = list(dict.fromkeys(v for vals in values.values() for v in vals))
                yield from self._validate(prop, nested, None)


def _result_maker(s: ShapesGraph, shape, path):
    """A function that writes the shape's results as tuples, with the shape's severity,
    path and message unless the result brings its own (a SPARQL row may)."""
    severity = s.one(shape, "severity")
    if severity is None:
        severity = "Violation"
    elif severity.value in (SH + "Violation", SH + "Warning", SH + "Info"):
        severity = severity.value[len(SH) :]
    else:
        severity = str(severity)  # a severity of the shapes' own, written as its IRI
    message = s.one(shape, "message")
    message = message.value if message is not None else None
    path_text = finding_path(s, path) if path is not None else None

    def result(f, value, component, row_path=None, text=None):
        return (
            shape,
            severity,
            f,
            row_path if row_path is not None else path_text,
            value,
            SH + component if isinstance(component, str) else component.value,
            text or message or local_name(str(component).strip("<>")),
        )

    return result


def _finding(data: KGraph, shape, severity, focus, path, value, component, message) -> Finding:
    return Finding(
        severity=severity,
        focus=str(focus),
        path=path,
        value=str(value) if value is not None else None,
        message=message,
        shape=str(shape),
        constraint="<" + component + ">",
        source_file=source_file(data, focus),
    )
