"""Reading the data for the native SHACL engine: a target's focus nodes, a shape's value
nodes, the ends of a property path; every literal as the data wrote it."""

from __future__ import annotations

import pyoxigraph as ox

from kzld.validating.shacl_literals import AsWritten
from kzld.validating.shacl_paths import is_predicate, sparql_path
from kzld.validating.shacl_shapes import DATA, FIRST, ShapesGraph
from kzld.vocabulary import RDF, RDFS

# Fixed query texts; shape terms reach them as substitutions, never as pasted text. Only a
# complex property path is written into a query, from the shapes graph's own IRIs.
_TARGET_PATTERNS = {
    "targetClass": "?f <" + RDF + "type>/<" + RDFS + "subClassOf>* ?target .",
    "targetSubjectsOf": "?f ?target ?o .",
    "targetObjectsOf": "?s ?target ?f .",
}


class DataReader:
    """Focus nodes and value nodes, read from the store with the data's own literals."""

    def __init__(self, store: ox.Store, shapes: ShapesGraph, written: AsWritten):
        self.store = store
        self.shapes = shapes
        self.written = written

    def focus_nodes(self, spec: tuple[str, object]) -> list:
        """The focus nodes of one target, (kind, term) as ShapesGraph.target_specs gives it."""
        kind, target = spec
        if kind == "targetNode":
            return [target]
        if kind == "targetObjectsOf":  # literals among them, as written
            quads = self.store.quads_for_pattern(None, target, None, DATA)
            found = (v for q in quads for v in self.written.all(q.subject, target, q.object))
            return list(dict.fromkeys(found))
        query = "SELECT DISTINCT ?target ?f WHERE { " + _TARGET_PATTERNS[kind] + " }"
        rows = self.store.query(query, substitutions={ox.Variable("target"): target})
        return [row["f"] for row in rows]

    def value_map(self, shape, focus: list, spec) -> dict:
        """Each focus node's value nodes for this shape: the focus itself or its path's ends.
        spec is the target the focus nodes came from, None for nodes reached otherwise."""
        path = self.shapes.one(shape, "path")
        if path is None:
            return {f: [f] for f in focus}
        values: dict = {f: [] for f in focus}
        simple = is_predicate(self.shapes, path)
        if spec is not None and spec[0] != "targetNode" and len(focus) > 1:
            # One query for every focus node of the target: the shape's cost is one join.
            where = _TARGET_PATTERNS[spec[0]]
            step = "?f ?predicate ?v ." if simple else f"?f {sparql_path(self.shapes, path)} ?v ."
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
                        values[f] = self.walk([f], path)
            return values
        for f in focus:
            values[f] = self.path_values(f, path, simple)
        return values

    def path_values(self, node, path, simple: bool) -> list:
        """The ends of a path from one node; simple: the path is a single predicate."""
        if isinstance(node, ox.Literal):
            return []  # a literal has no outgoing arcs
        if simple:
            quads = self.store.quads_for_pattern(node, path, None, DATA)
            return list(
                dict.fromkeys(v for q in quads for v in self.written.all(node, path, q.object))
            )
        query = "SELECT DISTINCT ?f ?v WHERE { ?f " + sparql_path(self.shapes, path) + " ?v }"
        rows = self.store.query(query, substitutions={ox.Variable("f"): node})
        found = [row["v"] for row in rows]
        if any(v in self.written.rewritten for v in found):
            return self.walk([node], path)
        return found

    def walk(self, nodes: list, path) -> list:
        """The ends of a path from these nodes, walked step by step so that each literal
        reached is read as written (only for nodes where the store rewrote one)."""
        s = self.shapes
        if is_predicate(s, path):
            found = []
            for n in nodes:
                if not isinstance(n, ox.Literal):
                    for q in self.store.quads_for_pattern(n, path, None, DATA):
                        found.extend(self.written.all(n, path, q.object))
            return list(dict.fromkeys(found))
        if s.out.get(path, {}).get(FIRST.value):
            for step in s.items(path):
                nodes = self.walk(nodes, step)
            return nodes
        alternatives = s.one(path, "alternativePath")
        if alternatives is not None:
            found = [v for step in s.items(alternatives) for v in self.walk(nodes, step)]
            return list(dict.fromkeys(found))
        inner = s.one(path, "zeroOrOnePath")
        if inner is not None:
            return list(dict.fromkeys(nodes + self.walk(nodes, inner)))
        for name in ("zeroOrMorePath", "oneOrMorePath"):
            inner = s.one(path, name)
            if inner is not None:
                found = dict.fromkeys(nodes) if name == "zeroOrMorePath" else {}
                frontier = self.walk(nodes, inner)
                while frontier:
                    fresh = [v for v in frontier if v not in found]
                    found.update(dict.fromkeys(fresh))
                    frontier = self.walk(fresh, inner) if fresh else []
                return list(found)
        # An inverse path ends at subjects, never at literals: the store's answer stands.
        query = "SELECT DISTINCT ?v WHERE { ?f " + sparql_path(s, path) + " ?v }"
        found = []
        for n in nodes:
            rows = self.store.query(query, substitutions={ox.Variable("f"): n})
            found.extend(row["v"] for row in rows)
        return list(dict.fromkeys(found))
