"""`kzld diff wikidata`: kzld's statements on reconciled items against a real Oxigraph
server holding Wikidata-shaped statements; precision-aware; QuickStatements for the safe
subset only."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from test_quickstatements import parse
from test_reconcile import wikidata_endpoint  # noqa: F401  (the Oxigraph server fixture)

from kzld.loading.graph import load_graph
from kzld.loading.resources import bundled
from kzld.wikidata.export import Time
from kzld.wikidata.reconciliation import compatible, diff

SAMPLE = Path(__file__).resolve().parent / "fixtures" / "wikidata" / "kzld"
TENURE = "https://w3id.org/kzld/id/tenure/"


@pytest.fixture(scope="module")
def report(wikidata_endpoint):  # noqa: F811
    graph = load_graph([bundled("ontology"), SAMPLE])
    return diff(graph, wikidata_endpoint, retrieved=Time("2026-01-02T00:00:00Z", 11))


def kinds(report, kind: str) -> set[tuple]:
    return {(d.item, d.pid, d.value, d.detail) for d in report.differences if d.kind == kind}


def test_precision_aware_time_comparison():
    year = Time("1972-01-01T00:00:00Z", 9)
    assert compatible(year, Time("1972-12-18T00:00:00Z", 11))
    assert compatible(Time("1972-12-18T00:00:00Z", 11), year)
    assert not compatible(year, Time("1973-01-01T00:00:00Z", 11))
    month = Time("2022-01-01T00:00:00Z", 10)
    assert compatible(month, Time("2022-01-31T00:00:00Z", 11))
    assert not compatible(month, Time("2022-02-01T00:00:00Z", 11))


def test_a_year_agrees_with_a_day_inside_it_and_deprecated_is_ignored(report):
    # kzld: born 1972 (year); Wikidata: 18 December 1972, and a deprecated 1970
    assert ("Q56825894", "P569", "1972-01-01/9", "") in kinds(report, "agree")
    assert not any(d.pid == "P569" for d in report.differences if d.kind != "agree")


def test_conflicting_qualifier_is_reported(report):
    # kzld: the PM from 11 January 2022 replaced himself (acting PM); Wikidata: Mamin
    assert ("Q56825894", "P39", "Q2416315", "P1365: kzld Q56825894, Wikidata Q900000121") in (
        kinds(report, "conflict")
    )


def test_two_tenures_of_one_post_pair_with_the_right_statement(report):
    by_origin = {(d.kind, d.origin.removeprefix(TENURE)) for d in report.differences}
    assert ("conflict", "alikhan-smailov--prime-minister--2") in by_origin
    assert ("missing", "alikhan-smailov--prime-minister") in by_origin  # the acting one


def test_what_wikidata_lacks_and_what_only_wikidata_has(report):
    assert ("Q200881", "P39", "Q5256775", "P580 2019-03-20/11") in kinds(
        report, "missing-qualifier"
    )
    assert ("Q56825894", "P39", "Q2416315", "P748 Q200881") in kinds(report, "missing-qualifier")
    assert ("Q3814905", "P31", "Q43229", "") in kinds(report, "missing")
    only = {(item, pid, value) for item, pid, value, _ in kinds(report, "only-wikidata")}
    assert only == {("Q200881", "P39", "Q2416315"), ("Q3814905", "P31", "Q900000499")}
    assert ("Q2416315", "P31", "Q4164871", "") in kinds(report, "agree")


def test_quickstatements_for_the_safe_subset_only(report):
    lines = [parse(line) for line in report.quickstatements]
    # Tokayev's start as President: the statement exists, unique, no clash -> add P580.
    # Smailov's P748 is not written (that statement conflicts), nor the acting tenure
    # (Wikidata already has a P39 with that value), nor P31 (not a statement class).
    assert {(q["item"], q["property"], q["value"]) for q in lines} == {
        ("Q200881", "P39", "Q5256775")
    }
    assert lines[0]["qualifiers"] == [("P580", "+2019-03-20T00:00:00Z/11")]
    assert lines[0]["reference"]["S813"] == "+2026-01-02T00:00:00Z/11"
    assert any("alikhan-smailov--prime-minister:" in note for note in report.notes)


def test_cli_writes_report_and_quickstatements(kzld, wikidata_endpoint, tmp_path):  # noqa: F811
    qs = tmp_path / "safe.qs"
    result = kzld(
        "diff", "wikidata", "--data", bundled("ontology"), "--data", SAMPLE,
        "--endpoint", wikidata_endpoint, "--quickstatements", qs, "--retrieved", "2026-01-02",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout), delimiter="\t"))
    assert {r["kind"] for r in rows} >= {"agree", "conflict", "missing", "only-wikidata"}
    assert [parse(line)["item"] for line in qs.read_text(encoding="utf-8").splitlines()] == [
        "Q200881"
    ]
    assert "1 conflict" in result.stderr


def test_endpoint_fault_is_a_clear_error(kzld, tmp_path):
    result = kzld(
        "diff", "wikidata", "--data", bundled("ontology"), "--data", SAMPLE,
        "--endpoint", "ftp://127.0.0.1/x",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "not an http(s) URL" in result.stderr
