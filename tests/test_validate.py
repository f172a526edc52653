"""kzld validate: exit codes, the three report formats, the shapes lint, empty data."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest

from kzld.loading.graph import load_graph
from kzld.validating.validation import load_shapes, validate

FIXTURES = Path(__file__).parent / "fixtures" / "shapes"
BASE = FIXTURES / "_base.ttl"
LINT = FIXTURES / "lint"
SH = "http://www.w3.org/ns/shacl#"
KSH = "https://w3id.org/kzld/shapes#"
TENURE = "https://w3id.org/kzld/id/tenure/"

# Two violations (an end before the start, a tenure with no quoted citation) and a warning
# (a tenure with no date), in two files.
MIXED = (
    "--data",
    BASE,
    "--data",
    FIXTURES / "tenure-order.ttl",
    "--data",
    FIXTURES / "tenure-evidence.ttl",
)

WARNING_ONLY = """
@prefix kz: <https://w3id.org/kzld/ontology#> .
<https://w3id.org/kzld/id/tenure/undated> a kz:Tenure ;
    kz:holder <https://w3id.org/kzld/id/person/p> ;
    kz:post <https://w3id.org/kzld/id/post/shared> ;
    kz:evidence [ kz:source <https://w3id.org/kzld/id/source/s> ; kz:quote "a quote"@en ] .
"""


def test_bundled_data_conforms_exit_0(kzld):
    result = kzld("validate")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("conforms: 0 violations")
    assert result.stderr == ""


def test_violations_and_warnings_all_reported_in_text(kzld):
    result = kzld("validate", *MIXED)
    assert result.exit_code == 1
    out = result.stdout
    # The end-before-start violation, with its focus, path, value, message and file.
    block = out[out.index("Violation: id:tenure/backwards") :].split("\n\n")[0]
    assert "message: Tenure ends (2022-03) before it starts (2022-04-15)" in block
    assert "path:    kz:end" in block
    assert 'value:   "2022-03"^^xsd:gYearMonth' in block
    assert "shape:   ksh:TenureOrder (sh:SPARQLConstraintComponent)" in block
    assert "file:    " in block and "tenure-order.ttl" in block
    # The missing quote, and the warning, from the other file.
    assert "Violation: id:tenure/unsourced" in out
    assert "Warning: id:tenure/undated" in out
    assert "Tenure has no kz:start, kz:end or kz:heldOn date" in out
    assert out.count("tenure-evidence.ttl") >= 2
    # The month-long end may fall after a mid-month start: that tenure is not reported.
    assert "id:tenure/same-month" not in out
    assert out.splitlines()[-1] == "does not conform: 2 violations, 1 warning, 0 info"
    assert "kzld: error: the data does not conform" in result.stderr


def test_json_report_lists_every_finding(kzld):
    result = kzld("validate", *MIXED, "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["conforms"] is False
    assert report["counts"] == {"Violation": 2, "Warning": 1, "Info": 0}
    by_focus = {f["focus"]: f for f in report["findings"]}
    backwards = by_focus[f"<{TENURE}backwards>"]
    assert backwards == {
        "severity": "Violation",
        "focus": f"<{TENURE}backwards>",
        "path": "<https://w3id.org/kzld/ontology#end>",
        "value": '"2022-03"^^<http://www.w3.org/2001/XMLSchema#gYearMonth>',
        "message": "Tenure ends (2022-03) before it starts (2022-04-15)",
        "shape": f"<{KSH}TenureOrder>",
        "constraint": f"<{SH}SPARQLConstraintComponent>",
        "source_file": backwards["source_file"],
    }
    assert Path(backwards["source_file"]).resolve() == FIXTURES / "tenure-order.ttl"
    assert by_focus[f"<{TENURE}undated>"]["severity"] == "Warning"


def test_turtle_report_is_a_shacl_validation_report(kzld):
    result = kzld("validate", *MIXED, "--format", "turtle")
    assert result.exit_code == 1
    store = ox.Store()
    store.load(result.stdout.encode(), format=ox.RdfFormat.TURTLE)
    [row] = store.query(
        f"PREFIX sh: <{SH}> SELECT ?c WHERE {{ ?r a sh:ValidationReport ; sh:conforms ?c }}"
    )
    assert row["c"].value == "false"
    rows = list(
        store.query(
            f"PREFIX sh: <{SH}> SELECT ?focus ?severity ?shape ?message ?path ?value WHERE {{"
            " ?report sh:result ?r . ?r a sh:ValidationResult ; sh:focusNode ?focus ;"
            " sh:resultSeverity ?severity ; sh:sourceShape ?shape ; sh:resultMessage ?message ."
            " OPTIONAL { ?r sh:resultPath ?path } OPTIONAL { ?r sh:value ?value } }"
        )
    )
    assert len(rows) == 3
    backwards = next(r for r in rows if r["focus"].value == TENURE + "backwards")
    assert backwards["severity"].value == SH + "Violation"
    assert backwards["shape"].value == KSH + "TenureOrder"
    assert backwards["path"].value == "https://w3id.org/kzld/ontology#end"
    assert backwards["value"].value == "2022-03"
    assert {r["severity"].value for r in rows} == {SH + "Violation", SH + "Warning"}


def test_reports_are_stable_across_hash_seeds(run_kzld):
    for report_format in ("json", "turtle"):
        outputs = set()
        for seed in ("0", "12345"):
            done = run_kzld(
                "validate", *MIXED, "--format", report_format, env={"PYTHONHASHSEED": seed}
            )
            assert done.exit_code == 1, done.stderr
            outputs.add(done.stdout)
        assert len(outputs) == 1, report_format


@pytest.fixture
def warning_only(tmp_path):
    path = tmp_path / "warning.ttl"
    path.write_text(WARNING_ONLY, encoding="utf-8")
    return path


def test_warnings_pass_by_default_and_fail_on_request(kzld, warning_only):
    passing = kzld("validate", "--data", BASE, "--data", warning_only)
    assert passing.exit_code == 0, passing.stderr
    assert "Warning: id:tenure/undated" in passing.stdout
    assert passing.stdout.splitlines()[-1] == "conforms: 0 violations, 1 warning, 0 info"
    failing = kzld("validate", "--data", BASE, "--data", warning_only, "--fail-on", "warning")
    assert failing.exit_code == 1
    assert "does not conform" in failing.stdout


def test_reports_conform_as_shacl_says_while_the_exit_code_follows_fail_on(kzld, warning_only):
    # SHACL: sh:conforms is true only when there are no results at all (3.6.1); a warning
    # is a result. kzld's exit code is its own policy (--fail-on) and stays 0 here.
    turtle = kzld("validate", "--data", BASE, "--data", warning_only, "--format", "turtle")
    assert turtle.exit_code == 0, turtle.stderr
    store = ox.Store()
    store.load(turtle.stdout.encode(), format=ox.RdfFormat.TURTLE)
    [row] = store.query(
        f"PREFIX sh: <{SH}> SELECT ?c (COUNT(?r) AS ?n) WHERE "
        "{ ?report sh:conforms ?c ; sh:result ?r } GROUP BY ?c"
    )
    assert (row["c"].value, row["n"].value) == ("false", "1")
    report = json.loads(
        kzld("validate", "--data", BASE, "--data", warning_only, "-f", "json").stdout
    )
    assert (report["conforms"], report["passes"], report["counts"]["Warning"]) == (False, True, 1)
    clean = json.loads(kzld("validate", "--data", BASE, "--format", "json").stdout)
    assert (clean["conforms"], clean["passes"]) == (True, True)


def test_unreadable_data_exits_3_with_the_line(kzld, tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text(BASE.read_text(encoding="utf-8") + "\n<urn:x> <urn:y> .\n", encoding="utf-8")
    line = bad.read_text(encoding="utf-8").count("\n")
    result = kzld("validate", "--data", bad)
    assert result.exit_code == 3
    assert f"bad.ttl:{line}:" in result.stderr
    assert result.stdout == ""


def test_ontology_only_data_never_conforms(kzld):
    result = kzld("validate", "--data", Path(__file__).parents[1] / "ontology")
    assert result.exit_code == 1
    assert "holds nothing the shapes check" in result.stderr


def test_unknown_format_is_a_usage_error(kzld):
    result = kzld("validate", "--data", BASE, "--format", "xml")
    assert result.exit_code == 2


LINT_CASES = {
    "wrong-namespace.ttl": ("wrong-namespace.ttl:4:", "is not in the SHACL namespace"),
    "misspelt-constraint.ttl": ("misspelt-constraint.ttl:12:", "sh:minCout is not a SHACL term"),
    "targets-nothing.ttl": ("targets-nothing.ttl:6:", "shape ksh:Tenure targets nothing"),
    "undeclared-class.ttl": ("undeclared-class.ttl:6:", "names class kz:Tenur"),
    "undeclared-path.ttl": ("undeclared-path.ttl:8:", "shape path kz:hodler is not a declared"),
    "undeclared-path-nested.ttl": ("undeclared-path-nested.ttl:8:", "kz:postInn is not a declared"),
    "not-shacl.ttl": ("not-shacl.ttl", "not valid SHACL"),
}


@pytest.mark.parametrize("name", sorted(LINT_CASES))
def test_broken_shapes_are_refused_not_conforming(kzld, name):
    # The data breaks the rule each broken shapes file means to state (a tenure without
    # holder), so a shapes graph that silently checked nothing would say "conforms".
    location, message = LINT_CASES[name]
    result = kzld(
        "validate",
        "--data",
        BASE,
        "--data",
        FIXTURES / "tenure-holder-post.ttl",
        "--shapes",
        LINT / name,
    )
    assert result.exit_code == 3, result.stdout
    first = result.stderr.splitlines()[0]
    assert first.startswith("kzld: error: ") and "broken shapes" in first
    assert location in first and message in first
    assert "conforms" not in result.stdout


def test_validate_leaves_its_inputs_unchanged():
    graph = load_graph([BASE, FIXTURES / "conflict.ttl"])
    shapes = load_shapes()
    before = (list(graph.triples), dict(graph.origins), list(shapes.triples))
    first = validate(graph, shapes)
    assert (list(graph.triples), dict(graph.origins), list(shapes.triples)) == before
    assert validate(graph, shapes) == first


def test_data_with_its_own_ontology_still_gets_the_kzld_class_tree(kzld, tmp_path):
    # An extension ontology of the user's does not replace kzld's: a kz:Dismissal (an Event
    # only through the kzld ontology) with no citation is still caught.
    path = tmp_path / "extension.ttl"
    path.write_text(
        "@prefix kz: <https://w3id.org/kzld/ontology#> .\n"
        "<https://example.org/my-ontology> a <http://www.w3.org/2002/07/owl#Ontology> .\n"
        '<https://w3id.org/kzld/id/event/e> a kz:Dismissal ; kz:date "2022"^^'
        "<http://www.w3.org/2001/XMLSchema#gYear> .\n",
        encoding="utf-8",
    )
    result = kzld("validate", "--data", BASE, "--data", path)
    assert result.exit_code == 1
    assert "Violation: id:event/e" in result.stdout
    assert "ksh:Event-evidence" in result.stdout


def test_info_is_one_line_and_never_fails(kzld, tmp_path):
    path = tmp_path / "unlinked.ttl"
    path.write_text(
        "<https://w3id.org/kzld/id/person/unlinked> a <https://w3id.org/kzld/ontology#Person> ;"
        ' <http://www.w3.org/2000/01/rdf-schema#label> "Unlinked"@en .\n',
        encoding="utf-8",
    )
    result = kzld("validate", "--data", BASE, "--data", path, "--fail-on", "warning")
    assert result.exit_code == 0, result.stderr
    assert (
        f"Info: id:person/unlinked: Wikidata QID missing: run kzld reconcile ({path})"
        in result.stdout.splitlines()
    )
    assert result.stdout.splitlines()[-1] == "conforms: 0 violations, 0 warnings, 1 info"
