"""`kzld export quickstatements`: v1 lines checked against the grammar, with references."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kzld.loading.resources import bundled

SAMPLE = Path(__file__).resolve().parent / "fixtures" / "wikidata" / "kzld"
KZ_HEADER = """@prefix kz: <https://w3id.org/kzld/ontology#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix wd: <http://www.wikidata.org/entity/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix person: <https://w3id.org/kzld/id/person/> .
@prefix post: <https://w3id.org/kzld/id/post/> .
@prefix tenure: <https://w3id.org/kzld/id/tenure/> .
"""

# QuickStatements v1, as described in ../shared/reference/wikidata.md.
ITEM = r"Q[1-9]\d*"
TIME = r"\+\d{4}-(?:\d{2})-(?:\d{2})T00:00:00Z/(?:9|10|11)"
STRING = r'"[^"\t\n]*"'
VALUE = rf"(?:{ITEM}|{TIME}|[a-z]{{2,3}}:{STRING}|{STRING}|somevalue|novalue)"
LINE = re.compile(rf"^({ITEM})\t(P[1-9]\d*)\t({VALUE})((?:\t[PS][1-9]\d*\t{VALUE})*)$")


def parse(line: str) -> dict:
    """Split a v1 line into item, property, value, qualifiers and the one reference."""
    match = LINE.match(line)
    assert match, f"not QuickStatements v1: {line!r}"
    item, prop, value, rest = match.groups()
    pairs = list(zip(*[iter(rest.split("\t")[1:])] * 2, strict=True))
    kinds = "".join(p[0] for p, _ in pairs)
    assert re.fullmatch(r"P*S*", kinds), f"qualifiers must come before the reference: {line!r}"
    for _, v in pairs + [(prop, value)]:
        if v.startswith("+"):
            check_time(v)
    return {
        "item": item,
        "property": prop,
        "value": value,
        "qualifiers": [(p, v) for p, v in pairs if p[0] == "P"],
        "reference": dict((p, v) for p, v in pairs if p[0] == "S"),
    }


def check_time(value: str) -> None:
    stamp, precision = value[1:].split("/")
    _, month, day = stamp[:10].split("-")
    if precision == "9":
        assert (month, day) == ("00", "00"), value
    elif precision == "10":
        assert month != "00" and day == "00", value
    else:
        assert month != "00" and day != "00", value


def export(kzld, data: Path, retrieved: str | None = None):
    """`kzld export quickstatements` over the bundled ontology and `data`, which must succeed."""
    # `--data` replaces the bundled files, so the ontology is named beside the case.
    given = ["--data", bundled("ontology"), "--data", data]
    dated = ["--retrieved", retrieved] if retrieved else []
    result = kzld("export", "quickstatements", *given, *dated)
    assert result.exit_code == 0, result.stderr
    return result


def test_the_grammar_checker_rejects_bad_lines():
    with pytest.raises(AssertionError):
        parse('Q1\tP39\tQ2\tS854\t"u"\tP580\t+2022-01-19T00:00:00Z/11')  # qualifier after S
    with pytest.raises(AssertionError):
        parse("Q1\tP39\tQ2\tP580\t+2022-01-19T00:00:00Z")  # no precision
    with pytest.raises(AssertionError):
        parse("Q1\tP39\tQ2\tP580\t+2022-01-19T00:00:00Z/9")  # year precision with a day
    with pytest.raises(AssertionError):
        parse("Q1\tP39\thttps://w3id.org/kzld/id/post/x")


def test_prime_minister_smailov_with_his_reference(kzld, bundled_graph):
    result = kzld("export", "quickstatements", "--retrieved", "2026-11-21")
    assert result.exit_code == 0, result.stderr
    lines = [parse(line) for line in result.stdout.splitlines()]
    smailov = [
        q
        for q in lines
        if (q["item"], q["property"], q["value"]) == ("Q56825894", "P39", "Q2416315")
    ]
    assert smailov, result.stdout
    for q in smailov:
        assert ("P580", "+2022-01-11T00:00:00Z/11") in q["qualifiers"]
        assert q["reference"]["S813"] == "+2026-11-21T00:00:00Z/11"
    # one line per source, and the sources are those the tenure cites in the graph
    expected = {
        r["url"].value
        for r in bundled_graph.store().query(
            """PREFIX kz: <https://w3id.org/kzld/ontology#>
            SELECT DISTINCT ?url WHERE {
              <https://w3id.org/kzld/id/tenure/alikhan-smailov--prime-minister-of-kazakhstan>
                  kz:evidence/kz:source/kz:url ?url }"""
        )
    }
    assert {q["reference"]["S854"].strip('"') for q in smailov} == expected
    assert len(smailov) == len(expected)


def test_sample_lines_qualifiers_and_notes(kzld):
    result = export(kzld, SAMPLE, retrieved="2026-11-21")
    lines = [parse(x) for x in result.stdout.splitlines()]
    (line,) = [q for q in lines if q["item"] == "Q56825894"]
    # The substantive tenure from 11 January is written, not the acting one before it.
    assert line["qualifiers"] == [
        ("P580", "+2022-01-11T00:00:00Z/11"),
        ("P748", "Q200881"),
        ("P1365", "Q56825894"),
    ]
    assert line["reference"] == {
        "S854": '"https://wire.example/2022/01/11/prime-minister"',
        "S1476": 'en:"Kazakhstan appoints new prime minister"',
        "S577": "+2022-01-11T00:00:00Z/11",
        "S813": "+2026-11-21T00:00:00Z/11",
    }
    assert "tenure/alikhan-smailov--prime-minister: another tenure of the same post" in (
        result.stderr
    )


def write_case(tmp_path: Path, body: str) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "case.ttl").write_text(KZ_HEADER + body, encoding="utf-8")
    return folder


CASE = """
<https://w3id.org/kzld/id/source/s> kz:url <https://s.example/a> ;
    dcterms:title "The \\"quoted\\" title"@en ; dcterms:issued "2022"^^xsd:gYear .
person:a a kz:Person ; rdfs:label "A"@en ; kz:wikidataEntity wd:Q900000001 .
person:b a kz:Person ; rdfs:label "B"@en .
post:p a kz:Post ; rdfs:label "P"@en ; kz:wikidataEntity wd:Q900000002 .
post:q a kz:Post ; rdfs:label "Q"@en .
tenure:b--p a kz:Tenure ; kz:holder person:b ; kz:post post:p ; kz:replacedBy tenure:a--p .
tenure:a--p a kz:Tenure ; kz:holder person:a ; kz:post post:p ;
    kz:start "2022-03"^^xsd:gYearMonth ; kz:replaces tenure:b--p ;
    kz:evidence [ kz:source <https://w3id.org/kzld/id/source/s> ; kz:quote "q"@en ] .
tenure:a--q a kz:Tenure ; kz:holder person:a ; kz:post post:q ; kz:start "2020"^^xsd:gYear .
"""


def test_what_cannot_be_expressed_is_reported(kzld, tmp_path):
    data = write_case(tmp_path, CASE)
    result = export(kzld, data, retrieved="2026-01-02")
    (line,) = [parse(x) for x in result.stdout.splitlines()]
    assert line["qualifiers"] == [("P580", "+2022-03-00T00:00:00Z/10")]
    assert line["reference"] == {
        "S854": '"https://s.example/a"',
        "S577": "+2022-00-00T00:00:00Z/9",
        "S813": "+2026-01-02T00:00:00Z/11",
    }
    err = result.stderr
    assert "tenure/a--p: qualifier P1365 <https://w3id.org/kzld/id/person/b> has no QID" in err
    assert "tenure/a--p: S1476 of https://w3id.org/kzld/id/source/s cannot be written" in err
    assert "tenure/a--q: P39 value <https://w3id.org/kzld/id/post/q> has no QID" in err


def test_disputed_tenure_is_reported_not_written(kzld, tmp_path):
    data = write_case(
        tmp_path,
        CASE
        + """
tenure:a--p kz:start "2022-04"^^xsd:gYearMonth .
[] a kz:Conflict ; kz:about tenure:a--p ; kz:disputedProperty kz:start ;
   kz:claim [ kz:value "2022-03"^^xsd:gYearMonth ] , [ kz:value "2022-04"^^xsd:gYearMonth ] .
""",
    )
    result = export(kzld, data, retrieved="2026-01-02")
    assert result.stdout == ""
    assert "tenure/a--p: sources disagree; not written" in result.stderr


def test_retrieved_defaults_to_the_data_date_and_is_checked(kzld, tmp_path):
    data = write_case(
        tmp_path,
        CASE + '<https://w3id.org/kzld/id/dataset/x> dcterms:modified "2030-05-06"^^xsd:date .\n',
    )
    result = export(kzld, data)
    assert "S813\t+2030-05-06T00:00:00Z/11" in result.stdout
    bad = kzld("export", "quickstatements", "--data", data, "--retrieved", "6 May 2030")
    assert bad.exit_code == 2
    assert "not a date" in bad.stderr


def test_an_end_cause_with_no_item_is_left_out_and_reported(kzld, tmp_path):
    data = write_case(
        tmp_path,
        CASE + 'tenure:a--p kz:end "2023"^^xsd:gYear ; kz:endCause kz:dismissed .\n',
    )
    result = export(kzld, data, retrieved="2026-01-02")
    (line,) = [parse(x) for x in result.stdout.splitlines()]
    assert [p for p, _ in line["qualifiers"]] == ["P580", "P582"]  # no P1534
    assert (
        "tenure/a--p: P1534 value https://w3id.org/kzld/ontology#dismissed is not a Wikidata "
        "item; left out"
    ) in result.stderr
