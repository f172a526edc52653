"""SHACL validation of a loaded graph: a lint of the shapes, findings, and the report."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import pyoxigraph as ox

from kzld.errors import CheckFailed, InputError, UsageError
from kzld.loading.graph import KGraph, load_graph, merge_graphs
from kzld.loading.resources import bundled
from kzld.validating.findings import Finding, finding_order, parse_term, source_file
from kzld.validating.rdflib_terms import from_rdflib, nt, to_rdflib
from kzld.vocabulary import (
    DCTERMS,
    GENID,
    ORG,
    OWL,
    PROV,
    RDF,
    RDFS,
    SCHEMA,
    SH,
    SKOS,
    XSD,
    prefixes,
)
from kzld.vocabulary import ONTOLOGY as KZLD_ONTOLOGY

RDF_TYPE = RDF + "type"
RDF_FIRST = RDF + "first"
RDF_REST = RDF + "rest"
RDFS_SUBCLASS = RDFS + "subClassOf"
OWL_ONTOLOGY = OWL + "Ontology"

SEVERITIES = ("Violation", "Warning", "Info")

# Terms from these vocabularies need no declaration in the kzld ontology.
STANDARD_NAMESPACES = (RDF, RDFS, OWL, XSD, SKOS, DCTERMS, SCHEMA, PROV, ORG)

# Short names in the text report; the Turtle and JSON reports keep full IRIs.
PREFIXES = dict(prefixes("kz", "ksh", "sh", "rdfs", "skos", "dcterms", "xsd", "wd", "genid", "id"))


@dataclass(frozen=True)
class Report:
    """The outcome of one validation: findings in a stable order, and their renderings."""

    findings: tuple[Finding, ...]
    fail_on: str = "violation"  # "violation" | "warning"

    @property
    def conforms(self) -> bool:
        """kzld's verdict under --fail-on: whether no finding is severe enough to fail."""
        passing = {"Info", "Warning"} if self.fail_on == "violation" else {"Info"}
        return all(f.severity in passing for f in self.findings)

    @property
    def shacl_conforms(self) -> bool:
        """SHACL's sh:conforms: true only when there are no results at all (section 3.6.1)."""
        return not self.findings

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def summary(self) -> str:
        counts = ", ".join(
            f"{self.count(s)} {s.lower()}{'' if self.count(s) == 1 or s == 'Info' else 's'}"
            for s in SEVERITIES
        )
        verdict = "conforms" if self.conforms else "does not conform"
        return f"{verdict}: {counts}"

    def severities(self) -> tuple[str, ...]:
        """SHACL's three severities, then any others the shapes define, as IRIs."""
        own = sorted({f.severity for f in self.findings} - set(SEVERITIES))
        return SEVERITIES + tuple(own)

    def to_text(self) -> str:
        lines: list[str] = []
        for severity in self.severities():
            for f in self.findings:
                if f.severity != severity:
                    continue
                if severity == "Info":  # many and harmless: one line each
                    where = f" ({f.source_file})" if f.source_file else ""
                    lines.append(f"Info: {_short(f.focus)}: {f.message}{where}")
                    continue
                lines.append(f"{f.severity}: {_short(f.focus)}")
                lines.append(f"  message: {f.message}")
                if f.path:
                    lines.append(f"  path:    {_short(f.path)}")
                if f.value and f.value != f.focus:  # node shapes report the focus itself
                    lines.append(f"  value:   {_short(f.value)}")
                lines.append(f"  shape:   {_short(f.shape)} ({_short(f.constraint)})")
                if f.source_file:
                    lines.append(f"  file:    {f.source_file}")
                lines.append("")
        if lines and lines[-1]:
            lines.append("")
        lines.append(self.summary())
        return "\n".join(lines) + "\n"

    def to_json(self) -> str:
        body = {
            "conforms": self.shacl_conforms,  # SHACL's: no results at all
            "passes": self.conforms,  # kzld's verdict under --fail-on, as the exit code says
            "failOn": self.fail_on,
            "counts": {s: self.count(s) for s in SEVERITIES},
            "findings": [asdict(f) for f in self.findings],
        }
        return json.dumps(body, indent=2, ensure_ascii=False) + "\n"

    def to_turtle(self) -> str:
        """A SHACL validation report graph; results are numbered in the findings' order."""
        sh = _sh
        report = ox.BlankNode("report")
        triples = [
            ox.Triple(report, ox.NamedNode(RDF_TYPE), sh("ValidationReport")),
            ox.Triple(
                report,
                sh("conforms"),
                ox.Literal(str(self.shacl_conforms).lower(), datatype=_XSD_BOOLEAN),
            ),
        ]
        for n, f in enumerate(self.findings, start=1):
            result = ox.BlankNode(f"r{n}")
            triples.append(ox.Triple(report, sh("result"), result))
            triples.append(ox.Triple(result, ox.NamedNode(RDF_TYPE), sh("ValidationResult")))
            severity = parse_term(f.severity) if f.severity.startswith("<") else sh(f.severity)
            triples.append(ox.Triple(result, sh("resultSeverity"), severity))
            triples.append(ox.Triple(result, sh("focusNode"), parse_term(f.focus)))
            if f.path and f.path.startswith("<") and f.path.endswith(">") and " " not in f.path:
                triples.append(ox.Triple(result, sh("resultPath"), parse_term(f.path)))
            if f.value:
                triples.append(ox.Triple(result, sh("value"), parse_term(f.value)))
            triples.append(ox.Triple(result, sh("resultMessage"), ox.Literal(f.message)))
            triples.append(ox.Triple(result, sh("sourceShape"), parse_term(f.shape)))
            triples.append(
                ox.Triple(result, sh("sourceConstraintComponent"), parse_term(f.constraint))
            )
            if f.source_file:
                triples.append(ox.Triple(result, _DCTERMS_SOURCE, ox.Literal(f.source_file)))
        prefixes = {k: PREFIXES[k] for k in ("sh", "kz", "ksh", "xsd", "dcterms")}
        text = ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=prefixes).decode()
        return text if text.endswith("\n") else text + "\n"


_XSD_BOOLEAN = ox.NamedNode(XSD + "boolean")
_DCTERMS_SOURCE = ox.NamedNode(DCTERMS + "source")


def _sh(local: str) -> ox.NamedNode:
    return ox.NamedNode(SH + local)


def _short(text: str) -> str:
    """An IRI or typed literal in N-Triples form, with known namespaces abbreviated."""
    if text.startswith("<") and text.endswith(">"):
        iri = text[1:-1]
        for prefix, ns in PREFIXES.items():
            if iri.startswith(ns):
                return f"{prefix}:{iri[len(ns) :]}"
        return text
    for prefix, ns in PREFIXES.items():
        if text.startswith('"') and text.endswith(">") and f"^^<{ns}" in text:
            head, _, local = text.rpartition(f"^^<{ns}")
            return f"{head}^^{prefix}:{local[:-1]}"
    return text


# --- Loading and linting the shapes --------------------------------------------------


def load_shapes(paths: Iterable[Path | str] | None = None) -> KGraph:
    """The shapes graph: given files or folders, or the bundled shapes."""
    return load_graph(list(paths) if paths else [bundled("shapes")])


def lint_shapes(shapes: KGraph, data: KGraph) -> None:
    """Refuse a shapes graph that would validate nothing while reporting success."""
    problems: list[tuple[str, ox.NamedNode | None, str]] = []  # (message, subject, needle)
    terms = shacl_terms()
    by_subject: dict[ox.NamedNode, list[ox.Triple]] = {}
    for t in shapes.triples:
        by_subject.setdefault(t.subject, []).append(t)
        for term in (t.subject, t.predicate, t.object):
            if not isinstance(term, ox.NamedNode):
                continue
            iri = term.value
            if iri.startswith("http://www.w3.org/ns/shacl") and not iri.startswith(SH):
                namespace = iri.rsplit("#", 1)[0]
                problems.append(
                    (f"<{iri}> is not in the SHACL namespace <{SH}>", t.subject, namespace)
                )
            elif iri.startswith(SH) and iri[len(SH) :] not in terms:
                local = iri[len(SH) :]
                problems.append((f"sh:{local} is not a SHACL term (misspelt?)", t.subject, local))

    declared = _declared_terms(data)
    referenced = {t.object for t in shapes.triples if t.predicate.value in _SHAPE_REFERENCES}
    for member in _list_members(shapes, {SH + "and", SH + "or", SH + "xone"}):
        referenced.add(member)
    for subject, triples in sorted(by_subject.items(), key=lambda kv: kv[0].value):
        predicates = {t.predicate.value for t in triples}
        types = {t.object.value for t in triples if t.predicate.value == RDF_TYPE}
        is_shape = (
            bool({SH + "NodeShape", SH + "PropertyShape"} & types) or SH + "path" in predicates
        )
        if is_shape and subject not in referenced and not predicates & _TARGETS:
            problems.append(
                (f"shape {_short(str(subject))} targets nothing", subject, _local(subject.value))
            )
        for t in triples:
            if t.predicate.value in (SH + "targetClass", SH + "class"):
                cls = t.object.value
                if cls not in declared and not cls.startswith(STANDARD_NAMESPACES):
                    problems.append(
                        (
                            f"shape {_short(str(subject))} names class {_short(str(t.object))}, "
                            "which the ontology does not declare and the data does not use",
                            subject,
                            _local(cls),
                        )
                    )
    for subject, prop in _path_predicates(shapes):
        if prop not in declared and not prop.startswith(STANDARD_NAMESPACES):
            problems.append(
                (
                    f"shape path {_short(f'<{prop}>')} is not a declared property",
                    subject,
                    _local(prop),
                )
            )
    if not problems:
        _meta_validate(shapes)
    if problems:
        message, subject, needle = problems[0]
        where = shapes.origin_of(subject) if subject is not None else None
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise InputError(
            f"broken shapes: {message}{more}",
            path=str(where) if where else None,
            line=_line_in(where, needle) if where and needle else None,
            hint="fix the shapes; a broken shapes graph would report data as conforming",
        )


def _local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


_TARGETS = {
    SH + "targetClass",
    SH + "targetNode",
    SH + "targetSubjectsOf",
    SH + "targetObjectsOf",
    SH + "target",
}
_SHAPE_REFERENCES = {SH + "property", SH + "node", SH + "qualifiedValueShape", SH + "not"}
_PATH_WRAPPERS = {
    SH + "inversePath",
    SH + "zeroOrMorePath",
    SH + "oneOrMorePath",
    SH + "zeroOrOnePath",
}


_meta_valid: set[str] = set()


def _meta_validate(shapes: KGraph) -> None:
    """Check the shapes against SHACL's own shapes (SHACL-SHACL), once per shapes graph.

    The native engine runs the check: pySHACL's meta_validate took 2 s of every build
    (0.1 s natively); tests hold both to the same verdict on every broken shapes fixture.
    """
    digest = hashlib.sha256("\n".join(map(str, shapes.sorted_triples())).encode()).hexdigest()
    if digest in _meta_valid:
        return
    from kzld.validating.shacl_native import validate_native

    problems = [f for f in validate_native(shapes, _shacl_shacl()) if f.severity == "Violation"]
    if problems:
        first = problems[0]
        what = " ".join(_short(part) for part in (first.path, first.value) if part)
        component = _local(first.constraint.strip("<>"))
        where = Path(first.source_file) if first.source_file else None
        # A literal is found by its text, anything else by the local name of its property.
        needle = first.value if first.value and first.value.startswith('"') else None
        needle = needle or (_local(first.path.strip("<>")) if first.path else None)
        raise InputError(
            f"broken shapes: not valid SHACL ({what or _short(first.focus)}: "
            f"SHACL-SHACL's {component})",
            path=str(where) if where else None,
            line=_line_in(where, needle) if where and needle else None,
            hint="fix the shapes; a broken shapes graph would report data as conforming",
        )
    _meta_valid.add(digest)


def _pyshacl_asset(name: str) -> Path:
    """A file pySHACL ships (the SHACL vocabulary, SHACL-SHACL), found without importing
    pySHACL, whose import alone takes 0.26 s."""
    import importlib.util

    spec = importlib.util.find_spec("pyshacl")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pyshacl is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "assets" / name


@functools.cache
def _shacl_shacl() -> KGraph:
    return load_graph([_pyshacl_asset("shacl-shacl.ttl")])


def shacl_terms() -> set[str]:
    """Every term the SHACL vocabulary defines, read from the copy pySHACL ships."""
    vocabulary = _pyshacl_asset("shacl.ttl")
    return {
        t.subject.value[len(SH) :]
        for t in ox.parse(path=str(vocabulary), format=ox.RdfFormat.TURTLE)
        if isinstance(t.subject, ox.NamedNode) and t.subject.value.startswith(SH)
    }


def _declared_terms(data: KGraph) -> set[str]:
    """Classes and properties the data declares or uses, with the bundled ontology's."""
    declared: set[str] = set()
    graphs = [data] if _has_ontology(data) else [data, _bundled_ontology()]
    for graph in graphs:
        for t in graph.triples:
            declared.add(t.predicate.value)
            if t.predicate.value == RDF_TYPE and isinstance(t.object, ox.NamedNode):
                declared.add(t.object.value)
                if t.object.value.startswith(OWL) or t.object.value in (
                    RDFS + "Class",
                    RDF + "Property",
                    RDFS + "Datatype",
                ):
                    if isinstance(t.subject, ox.NamedNode):
                        declared.add(t.subject.value)
    return declared


def _list_members(graph: KGraph, predicates: set[str]) -> list[ox.NamedNode]:
    firsts = {t.subject: t.object for t in graph.triples if t.predicate.value == RDF_FIRST}
    rests = {t.subject: t.object for t in graph.triples if t.predicate.value == RDF_REST}
    members = []
    for t in graph.triples:
        if t.predicate.value in predicates:
            node = t.object
            while node in firsts:
                members.append(firsts[node])
                node = rests.get(node)
    return members


def _path_predicates(shapes: KGraph) -> list[tuple[ox.NamedNode, str]]:
    """Every predicate IRI a shape's sh:path walks, with the shape naming it."""
    out: dict[ox.Term, dict[str, ox.Term]] = {}
    for t in shapes.triples:
        out.setdefault(t.subject, {})[t.predicate.value] = t.object
    found: list[tuple[ox.NamedNode, str]] = []

    def members(node: ox.Term) -> Iterable[ox.Term]:
        while RDF_FIRST in out.get(node, {}):
            yield out[node][RDF_FIRST]
            node = out[node].get(RDF_REST)

    def walk(shape: ox.NamedNode, node: ox.Term) -> None:
        props = out.get(node, {})
        wrapped = [props[p] for p in _PATH_WRAPPERS if p in props]
        if RDF_FIRST in props:  # a sequence path
            parts = list(members(node))
        elif SH + "alternativePath" in props:
            parts = list(members(props[SH + "alternativePath"]))
        elif wrapped:
            parts = wrapped
        else:
            found.append((shape, node.value))
            return
        for part in parts:
            walk(shape, part)

    for t in shapes.triples:
        if t.predicate.value == SH + "path":
            walk(t.subject, t.object)
    return found


def _line_in(path: Path, needle: str) -> int | None:
    """The first line outside comments that holds the needle."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for number, line in enumerate(lines, start=1):
        if needle in line and not line.lstrip().startswith("#"):
            return number
    return None


# --- Validation ----------------------------------------------------------------------

Engine = Callable[[KGraph, KGraph], list[Finding]]


def validate(
    graph: KGraph,
    shapes: KGraph | None = None,
    *,
    engine: str = "native",
    fail_on: str = "violation",
) -> Report:
    """Validate a graph against the shapes (bundled by default) and report every finding.

    When the graph does not hold the kzld ontology, the bundled one is added so that
    targets such as kz:Event reach instances of its subclasses.
    """
    if fail_on not in ("violation", "warning"):
        raise UsageError(f"unknown --fail-on level {fail_on!r}", hint="use violation or warning")
    run = ENGINES.get(engine)
    if run is None:
        raise UsageError(f"unknown validation engine {engine!r}", hint="use " + ", ".join(ENGINES))
    shapes = shapes if shapes is not None else load_shapes()
    data = graph if _has_ontology(graph) else merge_graphs(graph, _bundled_ontology())
    lint_shapes(shapes, data)
    if engine != "native":  # the native engine checks its own, with what it cannot run
        from kzld.validating.shacl_native import check_sparql

        check_sparql(shapes)
    if not _has_targets(shapes, data):
        raise CheckFailed(
            "the data holds nothing the shapes check: no instance of any class they target",
            hint="pass the data files with --data (an empty or ontology-only graph never conforms)",
        )
    return validate_shacl(data, shapes, engine=engine, fail_on=fail_on)


def validate_shacl(
    data: KGraph, shapes: KGraph, *, engine: str = "native", fail_on: str = "violation"
) -> Report:
    """SHACL validation as the specification defines it: the engine and its report,
    without kzld's own checks on the shapes (validate's lint, SHACL-SHACL among them).

    The W3C test suite runs through here, so it holds the same engine, loader and report
    that `kzld validate` uses.
    """
    run = ENGINES.get(engine)
    if run is None:
        raise UsageError(f"unknown validation engine {engine!r}", hint="use " + ", ".join(ENGINES))
    return Report(findings=tuple(sorted(run(data, shapes), key=finding_order)), fail_on=fail_on)


def _has_ontology(graph: KGraph) -> bool:
    """Whether the graph holds the kzld ontology itself (another ontology is no substitute)."""
    return any(
        t.subject.value == KZLD_ONTOLOGY
        and t.predicate.value == RDF_TYPE
        and t.object.value == OWL_ONTOLOGY
        for t in graph.triples
    )


_ontology_cache: list[KGraph] = []


def _bundled_ontology() -> KGraph:
    if not _ontology_cache:
        _ontology_cache.append(load_graph([bundled("ontology")]))
    return _ontology_cache[0]


def _has_targets(shapes: KGraph, data: KGraph) -> bool:
    """Whether any node in the data is an instance of a class the shapes target."""
    targets = {t.object for t in shapes.triples if t.predicate.value == SH + "targetClass"}
    subclasses: dict[ox.Term, set[ox.Term]] = {}
    for t in data.triples:
        if t.predicate.value == RDFS_SUBCLASS:
            subclasses.setdefault(t.object, set()).add(t.subject)
    closure, todo = set(), list(targets)
    while todo:
        cls = todo.pop()
        if cls not in closure:
            closure.add(cls)
            todo.extend(subclasses.get(cls, ()))
    return any(t.predicate.value == RDF_TYPE and t.object in closure for t in data.triples)


# --- The pyshacl engine --------------------------------------------------------------


def _pyshacl_findings(data: KGraph, shapes: KGraph) -> list[Finding]:
    """Run pySHACL on copies of both graphs, read its report back as findings."""
    import pyshacl
    from pyparsing import ParseException
    from pyshacl.errors import ReportableRuntimeError
    from rdflib import BNode, Graph
    from rdflib.namespace import SH as S

    # Both graphs are fresh copies made here, so pySHACL may work on them in place; the
    # data graph must stay ours for its prepared-query cache to be used.
    # kzld's skolem IRIs turn back into blank nodes in both graphs: pySHACL then judges node
    # kinds and lengths on the blank nodes the files wrote, as SHACL defines them.
    data_graph = to_rdflib(data.triples, unskolemise=True, graph=_prepared_query_graph_class()())
    shapes_graph = to_rdflib(shapes.triples, unskolemise=True, graph=Graph())
    try:
        _, report, _ = pyshacl.validate(
            data_graph,
            shacl_graph=shapes_graph,
            inference="none",
            advanced=True,
            meta_shacl=False,  # done once per shapes graph by lint_shapes
            inplace=True,
            allow_warnings=False,
        )
    except ReportableRuntimeError as err:
        report = err
    except ParseException as err:  # rdflib's parser on a query check_sparql let through
        raise InputError(
            f"broken shapes: a SPARQL query does not parse: {str(err).splitlines()[0]}",
            hint="fix the query in the shapes",
        ) from None
    except Exception as err:  # noqa: BLE001 - pySHACL's own refusals ($shapesGraph, prefixes)
        raise InputError(
            f"pySHACL cannot run these shapes: {type(err).__name__}: {str(err).splitlines()[0]}",
            hint="fix the shapes, or validate with the native engine",
        ) from None
    # pySHACL returns some failures (a VALUES clause in a SPARQL constraint) instead of
    # raising them.
    if isinstance(report, ReportableRuntimeError):
        raise InputError(
            f"broken shapes: {report.message.splitlines()[0]}",
            hint="the shapes graph is not valid SHACL (checked against SHACL-SHACL)",
        ) from None
    assert isinstance(report, Graph)
    findings = []
    # Only the report's own results: pySHACL also types the nested sh:detail ones.
    for result in report.objects(None, S.result):
        focus = report.value(result, S.focusNode)
        path = report.value(result, S.resultPath)
        value = report.value(result, S.value)
        messages = sorted(str(m) for m in report.objects(result, S.resultMessage))
        shape = report.value(result, S.sourceShape)
        findings.append(
            Finding(
                severity=_severity(str(report.value(result, S.resultSeverity))),
                focus=nt(focus),
                path=None if path is None else _path_text(report, path),
                value=None if value is None else nt(value),
                message="; ".join(messages) or "(no message)",
                shape=nt(shape) if not isinstance(shape, BNode) else f"<{GENID}{shape}>",
                constraint=nt(report.value(result, S.sourceConstraintComponent)),
                source_file=source_file(data, from_rdflib(focus)),
            )
        )
    return findings


def _severity(iri: str) -> str:
    """A finding's severity: SHACL's by local name, a shapes graph's own as its <IRI>."""
    local = iri[len(SH) :] if iri.startswith(SH) else None
    return local if local in SEVERITIES else f"<{iri}>"


def _native_findings(data: KGraph, shapes: KGraph) -> list[Finding]:
    """The native engine: shapes compiled to SPARQL on the pyoxigraph store."""
    from kzld.validating.shacl_native import validate_native

    return validate_native(data, shapes)


ENGINES: dict[str, Engine] = {"pyshacl": _pyshacl_findings, "native": _native_findings}


@functools.lru_cache(maxsize=64)
def _prepared(text: str):
    from rdflib.plugins.sparql import prepareQuery

    return prepareQuery(text)


@functools.cache
def _prepared_query_graph_class():
    from rdflib import Graph

    class PreparedQueryGraph(Graph):
        """pySHACL sends the same SPARQL text once per focus node, which rdflib would parse
        every time (a fifth of a second each); this graph parses each text once."""

        def query(self, query_object, *args, **kwargs):
            if isinstance(query_object, str):
                query_object = _prepared(query_object)
            return super().query(query_object, *args, **kwargs)

    return PreparedQueryGraph


def _path_text(graph, node) -> str:
    """A result path as N-Triples IRI, or as a SPARQL property path when complex."""
    from rdflib import BNode, URIRef
    from rdflib.collection import Collection
    from rdflib.namespace import SH as S

    if isinstance(node, URIRef):
        return f"<{node}>"
    assert isinstance(node, BNode)
    alternatives = graph.value(node, S.alternativePath)
    if alternatives is not None:
        return "(" + "|".join(_path_text(graph, n) for n in Collection(graph, alternatives)) + ")"
    for predicate, suffix in (
        (S.zeroOrMorePath, "*"),
        (S.oneOrMorePath, "+"),
        (S.zeroOrOnePath, "?"),
    ):
        inner = graph.value(node, predicate)
        if inner is not None:
            return f"({_path_text(graph, inner)}){suffix}"
    inverse = graph.value(node, S.inversePath)
    if inverse is not None:
        return "^" + _path_text(graph, inverse)
    return "/".join(_path_text(graph, n) for n in Collection(graph, node))
