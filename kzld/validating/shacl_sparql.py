"""SHACL-SPARQL in the native engine: sh:sparql constraints and SPARQL-based constraint
components (SHACL 5 and 6).

``SparqlQueries`` finds and compiles the queries, once each, so that a broken one is
refused before any result is reported; ``SparqlChecks`` runs them with SHACL's
pre-binding, on the store or, for focus nodes holding a literal the store rewrote, on an
rdflib copy of the data.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox

from kzld.errors import InputError
from kzld.loading.graph import KGraph
from kzld.validating.shacl_literals import RdflibData
from kzld.validating.shacl_paths import sparql_path
from kzld.validating.shacl_queries import Query, compile_query, fill_message
from kzld.validating.shacl_shapes import TRUE, TYPE, ShapesGraph, local_name, sh
from kzld.validating.shacl_values import DataReader
from kzld.vocabulary import OWL, SH

_IMPORTS = OWL + "imports"
_SHAPES_GRAPH = ox.NamedNode("urn:kzld:shapes-graph")


class SparqlQueries:
    """The shapes' SPARQL, each query compiled once: constraints, and the validators of the
    SPARQL-based constraint components with the parameter values a shape gives them."""

    def __init__(self, shapes: ShapesGraph, native: bool):
        self.shapes = shapes
        self.native = native  # False: only checked here, pySHACL runs them
        self.compiled: dict[tuple, Query] = {}
        # SPARQL-based constraint components: each with its parameters (path, optional).
        self.components: dict[object, list[tuple]] = {}
        kinds = shapes.subclasses(sh("ConstraintComponent"))
        for subject, preds in shapes.out.items():
            if kinds.intersection(preds.get(TYPE.value, [])):
                self.components[subject] = [
                    (shapes.one(param, "path"), shapes.one(param, "optional") == TRUE)
                    for param in shapes.objects(subject, "parameter")
                ]

    def query(self, shape, node, form: str, bindings: dict) -> Query:
        """A constraint's or validator's query, checked once: $PATH filled, its prefixes,
        the groups where pre-bound variables are bound."""
        key = (shape, node, tuple(sorted(bindings)))
        if key in self.compiled:
            return self.compiled[key]
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
        query = compile_query(
            text.value,
            origin=f"SPARQL query of {node}",
            file=s.origin(node),
            path=sparql_path(s, path) if path is not None else None,
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
        self.compiled[key] = query
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

    def components_of(self, shape) -> list[tuple]:
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
                    bindings[local_name(predicate.value)] = values[0]
                elif not optional:
                    break
            else:
                if bindings:
                    used.append((component, bindings))
        return used

    def validator(self, shape, component):
        """The component's validator for this shape (node or property shape)."""
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


class SparqlChecks:
    """The shapes' SPARQL run on the data, $this (and the rest) pre-bound as SHACL says.
    close() when done: the shapes may have joined the data's store for $shapesGraph."""

    def __init__(self, data: KGraph, queries: SparqlQueries, reader: DataReader):
        self.data = data
        self.store = reader.store
        self.queries = queries
        self.shapes = queries.shapes
        self.reader = reader
        self.written = reader.written
        self.as_written: RdflibData | None = None  # built on first need (rdflib is slow)
        self.shapes_loaded = False  # the shapes as a named graph of the store

    def close(self) -> None:
        if self.shapes_loaded:  # the data's store is the data's again
            self.store.remove_graph(_SHAPES_GRAPH)

    def results(self, shape, focus: list) -> Iterable[tuple]:
        """(focus, path, value, message, component) for each row of the shape's SPARQL
        constraints and of the SPARQL-based constraint components it uses."""
        queries = self.queries
        if not queries.components and SH + "sparql" not in self.shapes.out.get(shape, {}):
            return
        for constraint in self.shapes.objects(shape, "sparql"):
            if self.shapes.deactivated(constraint):
                continue
            query = queries.query(shape, constraint, "select", {})
            for row in self._select(query, shape, focus, {}):
                yield (*row, "SPARQLConstraintComponent")
        for component, bindings in queries.components_of(shape):
            validator = queries.validator(shape, component)
            if self.shapes.one(validator, "ask") is not None:
                query = queries.query(shape, validator, "ask", bindings)
                yield from self._ask(query, shape, focus, bindings, component)
            else:
                query = queries.query(shape, validator, "select", bindings)
                for row in self._select(query, shape, focus, bindings):
                    yield (*row, component)

    def _select(self, query: Query, shape, focus: list, bindings: dict) -> Iterable[tuple]:
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
                    message = fill_message(query.message.value, terms)
                path = str(row_path) if row_path is not None else None
                rows[(this, path, value, message)] = None
            yield from rows

    def _ask(self, query: Query, shape, focus, bindings, component) -> Iterable[tuple]:
        """A result for each value node for which the ASK validator answers false."""
        values = self.reader.value_map(shape, focus, None)
        for f, vals in values.items():
            for v in vals:
                run = {**bindings, "currentShape": shape, "this": f, "value": v}
                aside = f in self.written.subjects or v in self.written.subjects
                if not self._execute(query, run, aside):
                    message = fill_message(query.message.value, run) if query.message else None
                    yield f, None, v, message, component

    def _execute(self, query: Query, bindings: dict, as_written: bool = False):
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
                self.as_written = RdflibData(self.data)
            return self.as_written.query(text, query.prefixes)
        try:
            return self.store.query(text, prefixes=query.prefixes)
        except SyntaxError as err:  # a value no VALUES row can hold (a bare blank node)
            raise InputError(
                f"a SPARQL query of the shapes cannot pre-bind {bindings.get('this')}: "
                f"{str(err).splitlines()[0]}",
                hint="load the data with load_graph, which names every blank node",
            ) from None
