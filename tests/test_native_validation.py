"""The native SHACL engine gives pySHACL's verdict and pySHACL's findings, and refuses
what it cannot check."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from kzld.errors import InputError
from kzld.loading.graph import load_graph
from kzld.loading.resources import bundled
from kzld.validating.shacl_native import validate_native
from kzld.validating.validation import SH, load_shapes, validate, validate_shacl

FIXTURES = Path(__file__).parent / "fixtures"
NATIVE = FIXTURES / "native"
SHAPE_FIXTURES = FIXTURES / "shapes"
EX = "https://example.org/"


def key(finding) -> tuple:
    """What the engines must agree on: focus, path, value, severity, component."""
    return (finding.focus, finding.path, finding.value, finding.severity, finding.constraint)


def both(graph, shapes):
    """The reports of both engines on the same graph and shapes."""
    return validate(graph, shapes, engine="pyshacl"), validate(graph, shapes, engine="native")


def assert_agree(reference, native) -> None:
    expected, found = {key(f) for f in reference.findings}, {key(f) for f in native.findings}
    assert found == expected, (
        f"only pySHACL: {sorted(expected - found, key=str)}\n"
        f"only native: {sorted(found - expected, key=str)}"
    )
    assert native.conforms == reference.conforms


@pytest.fixture(scope="module")
def shapes():
    return load_shapes()


def test_engines_agree_on_the_bundled_data(bundled_graph, shapes):
    reference, native = both(bundled_graph, shapes)
    assert_agree(reference, native)
    assert native.findings  # the info-level "no Wikidata item" findings at least


BROKEN = """
@prefix kz: <https://w3id.org/kzld/ontology#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix tenure: <https://w3id.org/kzld/id/tenure/> .
@prefix person: <https://w3id.org/kzld/id/person/> .
@prefix post: <https://w3id.org/kzld/id/post/> .

person:broken-person a kz:Person ;
    rdfs:label "Broken Person"@en, "Сломанный"@ru ;
    kz:wikidataEntity "Q1" ;
    kz:birthDate "1970-02-30"^^xsd:date .

tenure:broken-person--minister-of-defence a kz:Tenure ;
    kz:holder person:broken-person, post:minister-of-defence ;
    kz:post post:minister-of-defence ;
    kz:start "2024-05-01"^^xsd:date ;
    kz:end "2023"^^xsd:gYear ;
    kz:endCause kz:retired ;
    kz:replacedBy tenure:dauren-kosanov--minister-of-defence .
"""


def test_engines_agree_on_a_broken_copy(bundled_graph, shapes, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(bundled("data"), data)
    (data / "broken.ttl").write_text(BROKEN, encoding="utf-8")
    graph = load_graph([bundled("ontology"), data])
    reference, native = both(graph, shapes)
    assert_agree(reference, native)
    assert not native.conforms
    # Every broken node is caught, by more than one constraint where it breaks several.
    clean = {key(f) for f in validate(bundled_graph, shapes, engine="native").findings}
    new = [f for f in native.findings if key(f) not in clean and f.severity == "Violation"]
    for node, at_least in (
        ("person/broken-person", 3),  # second label, literal QID, impossible date
        ("tenure/broken-person--minister-of-defence", 4),  # holder, order, cause, succession
    ):
        caught = {f.constraint for f in new if f.focus == f"<https://w3id.org/kzld/id/{node}>"}
        assert len(caught) >= at_least, (node, caught)


@pytest.mark.parametrize(
    "fixture",
    sorted(p for p in SHAPE_FIXTURES.glob("*.ttl") if not p.name.startswith("_")),
    ids=lambda p: p.stem,
)
def test_engines_agree_on_every_shape_fixture(fixture, shapes):
    graph = load_graph([SHAPE_FIXTURES / "_base.ttl", fixture])
    reference, native = both(graph, shapes)
    assert_agree(reference, native)


# Every component the engine implements, each broken at least once by data.ttl.
COMPONENTS = """Class Datatype NodeKind MinCount MaxCount MinExclusive MinInclusive MaxExclusive
    MaxInclusive MinLength MaxLength Pattern LanguageIn UniqueLang Equals Disjoint LessThan
    LessThanOrEquals Not And Or Xone Node QualifiedMinCount QualifiedMaxCount Closed HasValue
    In SPARQL""".split()


@pytest.fixture(scope="module")
def component_reports():
    return both(load_graph([NATIVE / "data.ttl"]), load_graph([NATIVE / "shapes.ttl"]))


def test_engines_agree_on_every_component(component_reports):
    assert_agree(*component_reports)


@pytest.mark.parametrize("component", COMPONENTS)
def test_component_is_checked(component_reports, component):
    _, native = component_reports
    found = {f.constraint for f in native.findings}
    assert f"<{SH}{component}ConstraintComponent>" in found


def test_conforming_nodes_have_no_findings(component_reports):
    # ex:other is a Thing only through rdfs:subClassOf; ex:wheel is checked only via sh:node.
    _, native = component_reports
    focus = {f.focus for f in native.findings}
    assert f"<{EX}other>" not in focus
    assert f"<{EX}wheel>" not in focus
    assert f"<{EX}nameless>" in focus  # reached through the subclass as well


def test_prebinding_reaches_filters(component_reports):
    # ex:FlaglessRule mentions $this only inside FILTER NOT EXISTS: only a pre-bound $this
    # finds ex:neither, which has no ex:size.
    _, native = component_reports
    flagless = {f.focus for f in native.findings if f.shape == f"<{EX}FlaglessRule>"}
    assert flagless == {f"<{EX}neither>"}


def test_severity_and_deactivation(component_reports):
    _, native = component_reports
    severities = {f.shape: f.severity for f in native.findings}
    assert severities[f"<{EX}ObjectShape>"] == "Info"
    assert f"<{EX}OffShape>" not in severities


def test_unknown_component_is_refused(tmp_path):
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
        "<https://example.org/S> a sh:NodeShape ; sh:targetNode <https://example.org/a> ;\n"
        "    sh:target [ a <https://example.org/SomeTarget> ] .\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"sh:target, which the native SHACL engine") as err:
        validate_native(load_graph([NATIVE / "data.ttl"]), load_graph([shapes]))
    assert str(shapes) in err.value.message


def test_kzld_validate_runs_the_native_engine_unless_told_otherwise(kzld, tmp_path):
    # A custom SHACL-AF target: each engine refuses it (exit 3) in its own words.
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
        "<https://example.org/S> a sh:NodeShape ;\n"
        "    sh:targetClass <https://w3id.org/kzld/ontology#Person> ;\n"
        "    sh:target [ a <https://example.org/SomeTarget> ] .\n",
        encoding="utf-8",
    )
    default = kzld("validate", "--shapes", shapes)
    assert default.exit_code == 3, default.stderr
    assert "which the native SHACL engine does not implement" in default.stderr
    reference = kzld("validate", "--shapes", shapes, "--engine", "pyshacl")
    assert reference.exit_code == 3, reference.stderr
    assert "broken shapes: None of these types match a TargetType" in reference.stderr


def test_a_failure_pyshacl_returns_is_broken_shapes_too(kzld, tmp_path):
    # pySHACL returns, rather than raises, its refusal of VALUES in a SPARQL constraint.
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
        "<https://example.org/S> a sh:NodeShape ;\n"
        "    sh:targetClass <https://w3id.org/kzld/ontology#Person> ;\n"
        '    sh:sparql [ sh:select "SELECT $this WHERE { VALUES ?x { 1 } $this ?p ?x }" ] .\n',
        encoding="utf-8",
    )
    refusals = {"pyshacl": "broken shapes: A SPARQL Constraint must not contain a VALUES"}
    refusals["native"] = "uses VALUES"
    for engine, words in refusals.items():
        result = kzld("validate", "--shapes", shapes, "--engine", engine)
        assert result.exit_code == 3 and words in result.stderr, (engine, result.stderr)
        assert "Traceback" not in result.stderr


def test_forbidden_sparql_is_refused(tmp_path):
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
        "<https://example.org/S> a sh:NodeShape ; sh:targetClass <https://example.org/Thing> ;\n"
        '    sh:sparql [ sh:select "SELECT $this WHERE { VALUES ?x { 1 } $this ?p ?x }" ] .\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="uses VALUES"):
        validate_native(load_graph([NATIVE / "data.ttl"]), load_graph([shapes]))


def test_cli_native_engine_exit_codes(kzld):
    broken = kzld(
        "validate", "--engine", "native", "--data", NATIVE / "data.ttl",
        "--shapes", NATIVE / "shapes.ttl", "--format", "json",
    )  # fmt: skip
    assert broken.exit_code == 1
    assert '"conforms": false' in broken.stdout
    clean = kzld("validate", "--engine", "native")
    assert clean.exit_code == 0, clean.stderr


# Shapes graphs SHACL-SHACL rejects, one rule each; kzld checks shapes natively against it.
BROKEN_SHAPES = {
    "count-not-integer": 'ksh:S sh:targetClass kz:Tenure ;\n'
                         'sh:property [ sh:path kz:holder ; sh:minCount "one" ] .',
    "two-paths": "ksh:S sh:targetClass kz:Tenure ; sh:property [ sh:path kz:holder, kz:post ] .",
    "unknown-node-kind": "ksh:S sh:targetClass kz:Tenure ; sh:nodeKind sh:Anything .",
    "severity-literal": 'ksh:S sh:targetClass kz:Tenure ; sh:severity "high" ; sh:closed true .',
    "target-literal": 'ksh:S a sh:NodeShape ; sh:targetClass "Tenure" .',
    "property-literal": 'ksh:S sh:targetClass kz:Tenure ; sh:property "holder" .',
    "or-not-a-list": "ksh:S sh:targetClass kz:Tenure ; sh:or ksh:Other .",
    "pattern-number": "ksh:S sh:targetClass kz:Tenure ; sh:pattern 5 .",
    "closed-string": 'ksh:S sh:targetClass kz:Tenure ; sh:closed "yes" .',
    "deactivated-string": 'ksh:S sh:targetClass kz:Tenure ; sh:deactivated "no" .',
    "language-in-iris": "ksh:S sh:targetClass kz:Tenure ; sh:languageIn ( kz:en ) .",
    "valid": "ksh:S sh:targetClass kz:Tenure ; sh:property [ sh:path kz:holder ; sh:minCount 1 ] .",
}  # fmt: skip
SHAPES_PREFIXES = """@prefix kz: <https://w3id.org/kzld/ontology#> .
@prefix ksh: <https://w3id.org/kzld/shapes#> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
"""


@pytest.mark.parametrize("name", sorted(BROKEN_SHAPES))
def test_shapes_are_checked_natively_as_pyshacl_meta_validates(name, tmp_path):
    from pyshacl.entrypoints import meta_validate
    from rdflib import Graph

    from kzld.validating.validation import _shacl_shacl

    path = tmp_path / f"{name}.ttl"
    path.write_text(SHAPES_PREFIXES + BROKEN_SHAPES[name], encoding="utf-8")
    reference, _, _ = meta_validate(Graph().parse(path))
    native = validate_native(load_graph([path]), _shacl_shacl())
    assert (not any(f.severity == "Violation" for f in native)) == reference
    assert reference == (name == "valid")


def test_the_bundled_shapes_pass_the_native_shacl_shacl_check():
    from kzld.validating.validation import _shacl_shacl

    assert validate_native(load_shapes(), _shacl_shacl()) == []


def test_shapes_shacl_rejects_are_refused_with_file_and_line(tmp_path):
    path = tmp_path / "shapes.ttl"
    path.write_text(SHAPES_PREFIXES + BROKEN_SHAPES["count-not-integer"], encoding="utf-8")
    with pytest.raises(InputError) as caught:
        validate(load_graph([bundled("ontology")]), load_graph([path]), engine="native")
    assert caught.value.path == str(path) and caught.value.line == 5
    assert 'sh:minCount "one"' in caught.value.message


# --- literals as written, blank nodes as blank (issue 20) -------------------------------

PREFIXES = (
    "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
    "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
    "@prefix ex: <https://example.org/> .\n"
)
# (constraint on ex:p, values of ex:p on ex:a, the value nodes pySHACL reports)
LITERAL_CASES = {
    "byte-out-of-range": ("sh:datatype xsd:byte", '"300"^^xsd:byte', ['"300"^^xsd:byte']),
    "int-is-not-integer": ("sh:datatype xsd:integer", '"5"^^xsd:int', ['"5"^^xsd:int']),
    "int-is-int": ("sh:datatype xsd:int", '"5"^^xsd:int', []),
    "non-negative": ("sh:datatype xsd:nonNegativeInteger", '"7"^^xsd:nonNegativeInteger', []),
    "leading-zero-pattern": ('sh:pattern "^0"', '"01"^^xsd:integer', []),
    "decimal-length": ("sh:maxLength 3", '"1.50"^^xsd:decimal', ['"1.50"^^xsd:decimal']),
    "has-value-as-written": ('sh:hasValue "1.0"^^xsd:decimal', '"1.0"^^xsd:decimal', []),
    "in-as-written": ('sh:in ( "1.0E2"^^xsd:double )', '"1.0E2"^^xsd:double', []),
    "two-spellings": ("sh:maxCount 1", '5, "05"^^xsd:integer', [None]),
    "boolean-one": ('sh:in ( "1"^^xsd:boolean )', '"1"^^xsd:boolean', []),
}


def _expand(value: str | None) -> str | None:
    """A literal written with xsd: in N-Triples form."""
    if value is None:
        return None
    text, _, datatype = value.partition("^^xsd:")
    return f"{text}^^<http://www.w3.org/2001/XMLSchema#{datatype}>"


@pytest.mark.parametrize("case", sorted(LITERAL_CASES))
def test_value_nodes_are_compared_as_written(case, tmp_path):
    constraint, values, expected = LITERAL_CASES[case]
    path = tmp_path / "case.ttl"
    path.write_text(
        PREFIXES + f"ex:a ex:p {values} .\n"
        f"ex:S a sh:NodeShape ; sh:targetNode ex:a ;\n"
        f"    sh:property [ sh:path ex:p ; {constraint} ] .\n",
        encoding="utf-8",
    )
    graph = load_graph([path])
    native = validate_shacl(graph, graph, engine="native")
    reference = validate_shacl(graph, graph, engine="pyshacl")
    assert_agree(reference, native)
    assert sorted(f.value or "" for f in native.findings) == sorted(
        _expand(v) or "" for v in expected
    )


BLANK_CASES = {
    # a blank focus node always fails sh:minLength (SHACL 4.4.1), skolemised or not
    "blank-focus-min-length": (
        "ex:S a sh:NodeShape ; sh:targetSubjectsOf ex:p ; sh:minLength 1 .",
        "[ ex:p 1 ] .",
        1,
    ),
    "blank-value-is-blank": (
        "ex:S a sh:NodeShape ; sh:targetNode ex:a ;"
        " sh:property [ sh:path ex:p ; sh:nodeKind sh:BlankNode ] .",
        "ex:a ex:p [ ex:q 1 ], [ ex:q 2 ] .",
        0,
    ),
    "is-blank-in-sparql": (
        "ex:S a sh:NodeShape ; sh:targetNode ex:a ; sh:sparql [ sh:select "
        '"SELECT $this ?value WHERE { $this <https://example.org/p> ?value '
        'FILTER (isBlank(?value) && !isIRI(?value)) }" ] .',
        "ex:a ex:p [ ex:q 1 ], ex:b .",
        1,
    ),
    "blank-value-is-not-iri": (
        "ex:S a sh:NodeShape ; sh:targetNode ex:a ;"
        " sh:property [ sh:path ex:p ; sh:nodeKind sh:IRI ] .",
        "ex:a ex:p [ ex:q 1 ], ex:b .",
        1,
    ),
}


@pytest.mark.parametrize("case", sorted(BLANK_CASES))
def test_skolemised_blank_nodes_keep_their_verdicts(case, tmp_path):
    shape, data, count = BLANK_CASES[case]
    path = tmp_path / "case.ttl"
    path.write_text(PREFIXES + shape + "\n" + data + "\n", encoding="utf-8")
    graph = load_graph([path])
    native = validate_shacl(graph, graph, engine="native")
    assert_agree(validate_shacl(graph, graph, engine="pyshacl"), native)
    assert len(native.findings) == count


# --- SPARQL from a shapes file: refused before it runs ----------------------------------

EVIL = """@prefix sh: <http://www.w3.org/ns/shacl#> .
<https://example.org/S> a sh:NodeShape ;
    sh:targetClass <https://w3id.org/kzld/ontology#Person> ;
    sh:sparql [ sh:select \"\"\"
        SELECT $this WHERE { $this a <https://w3id.org/kzld/ontology#Person> .
        SERVICE <http://127.0.0.1:PORT/shapes> { ?a ?b ?c } }\"\"\" ] .
"""


@pytest.mark.parametrize("engine", ["native", "pyshacl"])
def test_service_in_a_shapes_file_never_connects(engine, kzld, tmp_path):
    # The "#" inside the IRI once read as a comment, which hid the SERVICE after it.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        shapes = tmp_path / "evil.ttl"
        port = listener.getsockname()[1]
        shapes.write_text(EVIL.replace("PORT", str(port)), encoding="utf-8")
        result = kzld("validate", "--shapes", shapes, "--engine", engine)
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert result.exit_code == 3, result.stderr
    assert "SERVICE is refused" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("kzld: error:") == 1


@pytest.mark.parametrize("engine", ["native", "pyshacl"])
def test_a_broken_sparql_constraint_is_one_error_line(engine, kzld, tmp_path):
    shapes = tmp_path / "broken.ttl"
    shapes.write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
        "<https://example.org/S> a sh:NodeShape ;\n"
        "    sh:targetClass <https://w3id.org/kzld/ontology#Person> ;\n"
        '    sh:sparql [ sh:select "SELECT $this WHERE { $this ?p }" ] .\n',
        encoding="utf-8",
    )
    result = kzld("validate", "--shapes", shapes, "--engine", engine)
    assert result.exit_code == 3, result.stderr
    assert "does not parse" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("kzld: error:") == 1


def test_shapes_graph_is_bound_and_leaves_the_data_as_it_was(tmp_path):
    # $shapesGraph names the shapes as a named graph beside the data, for this run only.
    path = tmp_path / "case.ttl"
    path.write_text(
        PREFIXES + "ex:a ex:p 1 .\n"
        "ex:S a sh:NodeShape ; sh:targetNode ex:a ; ex:flag true ;\n"
        '    sh:sparql [ sh:select """SELECT $this WHERE {\n'
        '        GRAPH $shapesGraph { $currentShape <https://example.org/flag> true } }""" ] .\n',
        encoding="utf-8",
    )
    graph = load_graph([path])
    before = len(graph.store())
    findings = validate_native(graph, graph)
    assert [(f.focus, f.constraint) for f in findings] == [
        (f"<{EX}a>", f"<{SH}SPARQLConstraintComponent>")
    ]
    assert len(graph.store()) == before
    assert not list(graph.store().named_graphs())


def test_sparql_reads_literals_as_written(tmp_path):
    # The store (and a query's own text) would read "05" as 5: the validator runs on rdflib
    # for such a value, so STR($value) is "05" and only that value fails. pySHACL agrees
    # on the verdict but leaves out sh:value, which SHACL gives ASK validators' results.
    path = tmp_path / "case.ttl"
    path.write_text(
        PREFIXES + 'ex:a ex:p "05"^^xsd:integer, 7 .\n'
        "ex:NotSpelt a sh:ConstraintComponent ;\n"
        "    sh:parameter [ sh:path ex:spelling ] ;\n"
        "    sh:validator [ a sh:SPARQLAskValidator ;\n"
        '        sh:ask "ASK { FILTER (STR($value) != $spelling) }" ] .\n'
        "ex:S a sh:NodeShape ; sh:targetNode ex:a ;\n"
        '    sh:property [ sh:path ex:p ; ex:spelling "05" ] .\n',
        encoding="utf-8",
    )
    graph = load_graph([path])
    native = validate_shacl(graph, graph, engine="native")
    reference = validate_shacl(graph, graph, engine="pyshacl")
    assert [f.focus for f in native.findings] == [f.focus for f in reference.findings]
    assert [f.value for f in native.findings] == [_expand('"05"^^xsd:integer')]
    assert [f.constraint for f in native.findings] == ["<https://example.org/NotSpelt>"]
