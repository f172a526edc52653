"""The SHACL shapes: the bundled data conforms, and every constraint has a fixture it catches."""

from __future__ import annotations

import calendar
import random
import re
from datetime import date
from pathlib import Path

import pytest

from kzld.loading.graph import load_graph
from kzld.validating.validation import SH, load_shapes, shacl_terms, validate

FIXTURES = Path(__file__).parent / "fixtures" / "shapes"
BASE = FIXTURES / "_base.ttl"
KSH = "https://w3id.org/kzld/shapes#"
TENURE_NS = "https://w3id.org/kzld/id/tenure/"
EXPECT = re.compile(r"^# expect: (\S+) (\S+)$", re.MULTILINE)


def expectations(path: Path) -> set[tuple[str, str]]:
    """(shape, constraint component) pairs a fixture names, in N-Triples form."""
    return {
        (f"<{KSH}{shape}>", f"<{SH}{component}ConstraintComponent>")
        for shape, component in EXPECT.findall(path.read_text(encoding="utf-8"))
    }


# Fixtures are held to the reference engine; test_native_validation holds the native engine
# (the default) to the same findings on every one of them.
REFERENCE = "pyshacl"
FIXTURE_FILES = sorted(p for p in FIXTURES.glob("*.ttl") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def shapes():
    return load_shapes()


def test_bundled_data_conforms(bundled_graph, shapes):
    report = validate(bundled_graph, shapes, engine=REFERENCE)
    violations = [f for f in report.findings if f.severity == "Violation"]
    assert report.conforms, report.to_text()
    assert not violations


def test_base_fixture_conforms_without_warnings(shapes):
    report = validate(load_graph([BASE]), shapes, engine=REFERENCE, fail_on="warning")
    assert report.conforms, report.to_text()


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda p: p.stem)
def test_fixture_triggers_exactly_what_it_names(fixture, shapes):
    expected = expectations(fixture)
    assert expected, f"{fixture.name} names no '# expect: Shape Component' line"
    report = validate(load_graph([BASE, fixture]), shapes, engine=REFERENCE)
    found = {(f.shape, f.constraint) for f in report.findings}
    missing = expected - found
    assert not missing, f"not reported: {sorted(missing)}\n{report.to_text()}"
    # Violations and warnings beyond the named ones mean the fixture (or a rule) is too broad.
    unexpected = {
        (f.shape, f.constraint) for f in report.findings if f.severity != "Info"
    } - expected
    assert not unexpected, f"also reported: {sorted(unexpected)}"
    for f in report.findings:
        if (f.shape, f.constraint) in expected:
            assert f.message and f.focus.startswith("<")
            assert f.source_file and f.source_file.endswith(fixture.name)


def shape_constraints(shapes) -> set[tuple[str, str]]:
    """Every (named shape, constraint component) pair the bundled shapes declare."""
    components = {t for t in shacl_terms() if t.endswith("ConstraintComponent")}
    pairs = set()
    for t in shapes.triples:
        subject = t.subject.value
        if not subject.startswith(KSH) or not t.predicate.value.startswith(SH):
            continue
        local = t.predicate.value[len(SH) :]
        if local == "property":  # results name the property shape, which is counted itself
            continue
        component = "SPARQL" if local == "sparql" else local[0].upper() + local[1:]
        if component + "ConstraintComponent" in components:
            pairs.add((f"<{subject}>", f"<{SH}{component}ConstraintComponent>"))
    return pairs


def test_every_shape_constraint_has_a_fixture(shapes):
    declared = shape_constraints(shapes)
    assert len(declared) > 50  # the enumeration itself works
    named = set().union(*(expectations(p) for p in FIXTURE_FILES))
    uncovered = declared - named
    assert not uncovered, f"constraints without a violating fixture: {sorted(uncovered)}"
    stale = named - declared
    assert not stale, f"fixtures name constraints the shapes do not declare: {sorted(stale)}"


def test_every_named_shape_is_documented(shapes):
    readme = (Path(__file__).parents[1] / "shapes" / "README.md").read_text(encoding="utf-8")
    named = {t.subject.value[len(KSH) :] for t in shapes.triples if t.subject.value.startswith(KSH)}
    named.discard("prefixes")
    node_shapes = {n.split("-")[0] for n in named}
    undocumented = sorted(n for n in node_shapes if f"`ksh:{n}`" not in readme)
    assert not undocumented, f"shapes/README.md does not describe {undocumented}"


def _random_date(rng: random.Random) -> tuple[str, str, date, date]:
    """A date at a random precision: (lexical form, datatype, first day, last day)."""
    year = rng.choice([2021, 2022])
    month = rng.choice([1, 2, 12])
    day = rng.choice([1, 15, calendar.monthrange(year, month)[1]])
    precision = rng.choice(["date", "gYearMonth", "gYear"])
    if precision == "gYear":
        return str(year), precision, date(year, 1, 1), date(year, 12, 31)
    if precision == "gYearMonth":
        last = calendar.monthrange(year, month)[1]
        return f"{year}-{month:02}", precision, date(year, month, 1), date(year, month, last)
    day_date = date(year, month, day)
    return day_date.isoformat(), precision, day_date, day_date


def test_date_rules_agree_with_the_calendar_across_precisions(tmp_path, shapes):
    """End-before-start and handover rules, on 80 random date pairs of mixed precision,
    agree with a plain calendar computation of the spans each date stands for."""
    rng = random.Random(20220119)
    lines = [
        "@prefix kz: <https://w3id.org/kzld/ontology#> .",
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .",
    ]
    backwards, disagreeing = set(), set()
    for n in range(80):
        end, start = _random_date(rng), _random_date(rng)
        before, after = f"{TENURE_NS}a{n}", f"{TENURE_NS}b{n}"
        lines.append(
            f'<{before}> a kz:Tenure ; kz:end "{end[0]}"^^xsd:{end[1]} ; '
            f'kz:start "{start[0]}"^^xsd:{start[1]} ; kz:replacedBy <{after}> .'
        )
        # The successor starts when the first tenure started: a handover check of the pair.
        lines.append(
            f'<{after}> a kz:Tenure ; kz:start "{start[0]}"^^xsd:{start[1]} ; '
            f"kz:replaces <{before}> ."
        )
        if end[3] < start[2]:
            backwards.add(f"<{before}>")
        if end[3] < start[2] or end[2] > start[3]:
            disagreeing.add(f"<{before}>")
        for tenure in (before, after):
            lines.append(
                f"<{tenure}> kz:holder <https://w3id.org/kzld/id/person/p> ; "
                "kz:post <https://w3id.org/kzld/id/post/shared> ; "
                'kz:evidence [ kz:source <https://w3id.org/kzld/id/source/s> ; kz:quote "q"@en ] .'
            )
    path = tmp_path / "dates.ttl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = validate(load_graph([BASE, path]), shapes, engine=REFERENCE)

    def flagged(shape: str) -> set[str]:
        return {f.focus for f in report.findings if f.shape == f"<{KSH}{shape}>"}

    assert backwards and disagreeing - backwards  # the sample exercises both rules
    assert flagged("TenureOrder") == backwards
    assert flagged("SuccessionHandover") == disagreeing


def test_single_holder_overlaps_agree_with_the_calendar(tmp_path, shapes):
    """Pairs of tenures of a single-holder post, dates at random precisions: reported exactly
    when the spans certainly held (latest start to earliest end) share more than a day's edge."""
    rng = random.Random(2025)
    lines = [
        "@prefix kz: <https://w3id.org/kzld/ontology#> .",
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .",
    ]
    overlapping = set()
    for n in range(30):
        # One post per pair, so that only the two tenures of a pair can overlap.
        post = f"https://w3id.org/kzld/id/post/single-{n}"
        lines.append(
            f"<{post}> a kz:Post ; kz:singleHolder true ;"
            f' <http://www.w3.org/2000/01/rdf-schema#label> "P{n}"@en ;'
            " kz:postIn <https://w3id.org/kzld/id/organisation/outlet> ."
        )
        spans = []
        for side in ("a", "b"):
            start, end = sorted([_random_date(rng), _random_date(rng)], key=lambda d: d[2])
            tenure = f"<{TENURE_NS}{side}{n}>"
            lines.append(
                f'{tenure} a kz:Tenure ; kz:post <{post}> ; kz:start "{start[0]}"^^xsd:{start[1]} ;'
                f' kz:end "{end[0]}"^^xsd:{end[1]} ;'
                " kz:holder <https://w3id.org/kzld/id/person/p> ;"
                ' kz:evidence [ kz:source <https://w3id.org/kzld/id/source/s> ; kz:quote "q"@en ] .'
            )
            spans.append((tenure, start[3], end[2]))  # certainly held from .. to
        (a, a_from, a_to), (b, b_from, b_to) = spans
        if a_from <= a_to and b_from <= b_to and a_from < b_to and b_from < a_to:
            overlapping |= {a, b}
    path = tmp_path / "overlaps.ttl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = validate(load_graph([BASE, path]), shapes, engine=REFERENCE)
    flagged = {f.focus for f in report.findings if f.shape == f"<{KSH}SingleHolder>"}
    assert overlapping and len(overlapping) < 60  # the sample has both outcomes
    assert flagged == overlapping
