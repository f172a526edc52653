"""Second fidelity pass (issue 17): a day is dated by a quote that names it or, marked as such,
by the report's own date; vague counts are lower bounds; and the facts the review added read
back as the articles state them."""

# ruff: noqa: F811

from __future__ import annotations

import re

import pyoxigraph as ox

# The fixtures store and engine, and the helpers, are test_fidelity's: tests name them.
from test_fidelity import KZ, canned, engine, select, store  # noqa: F401

# A quote dates a day only if it names one: a day number, a weekday, or a day counted from
# another ("the same day", "eight days later"). A report's own date is not in its quote: a
# citation that dates a day by it says so (kz:datedByReport), and the day must be that date.
NAMES_A_DAY = re.compile(
    r"\b\d{1,2}\b|monday|tuesday|wednesday|thursday|friday|saturday|sunday|same day|days later"
    r"|today|yesterday|понедельник|вторник|сред[уа]|четверг|пятниц|суббот|воскресень|сегодня"
    r"|вчера",
    re.IGNORECASE,
)


def undated_days(store: ox.Store) -> list[tuple[str, str, str]]:
    """(thing, property, day) where no citation backing the property quotes a day."""
    rows = select(
        store,
        """SELECT ?thing ?p ?day ?quote ?issued WHERE {
             VALUES ?p { kz:start kz:end kz:date kz:announced kz:inOfficeAsOf }
             ?thing ?p ?day . FILTER (DATATYPE(?day) = xsd:date)
             OPTIONAL { ?thing kz:evidence ?c . ?c kz:supports ?p ; kz:quote ?quote .
                        OPTIONAL { ?c kz:datedByReport true ;
                                      kz:source/dcterms:issued ?issued } } }""",
    )
    quotes: dict[tuple[str, str, str], list[str]] = {}
    for r in rows:
        dated_by_report = r["issued"] is not None and r["issued"] == r["day"]
        quote = "same day" if dated_by_report else (r["quote"] or "")
        quotes.setdefault((r["thing"], r["p"], r["day"]), []).append(quote)
    return sorted(k for k, qs in quotes.items() if not any(NAMES_A_DAY.search(q) for q in qs))


def test_every_day_is_dated_by_a_quote_that_names_a_day(store):
    assert undated_days(store) == []


def test_a_report_whose_quote_names_no_day_is_caught():
    # Lenta.ru's quote, as the first pass used it for Zholamanov's removal: the rule fails it.
    data = """@prefix kz: <https://w3id.org/kzld/ontology#> .
    @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
    <urn:t> kz:end "2022-02-03"^^xsd:date ;
        kz:evidence [ kz:quote "снял с должности командующего ракетными войсками"@ru ;
                      kz:supports kz:end ] .
    <urn:u> kz:end "2022-01-19"^^xsd:date ;
        kz:evidence [ kz:quote "released from his duties on January 19, 2022"@en ;
                      kz:supports kz:end ] ."""
    bad = ox.Store()
    bad.load(data.encode(), ox.RdfFormat.TURTLE)
    assert undated_days(bad) == [("urn:t", KZ + "end", "2022-02-03")]


def test_every_day_a_conflict_claims_is_quoted_by_its_own_side(store):
    rows = select(
        store,
        """SELECT ?conflict ?day ?quote ?issued WHERE {
             ?conflict a kz:Conflict ; kz:claim ?claim . ?claim kz:value ?day ;
                       kz:evidence ?c . ?c kz:quote ?quote .
             OPTIONAL { ?c kz:datedByReport true ; kz:source/dcterms:issued ?issued }
             FILTER (DATATYPE(?day) = xsd:date) }""",
    )
    assert rows, "the data records at least one disputed day"
    undated = [r for r in rows if not NAMES_A_DAY.search(r["quote"]) and r["issued"] != r["day"]]
    assert undated == []


def test_days_dated_by_a_report_are_the_reports_own_date(store):
    rows = select(
        store,
        """SELECT ?thing ?p ?day ?issued WHERE {
             ?thing kz:evidence ?c . ?c kz:datedByReport true ; kz:supports ?p ;
                    kz:source/dcterms:issued ?issued .
             ?thing ?p ?day . FILTER (DATATYPE(?day) = xsd:date) }""",
    )
    # Lenta.ru (Zholamanov's removal, Zhurabayev's appointment) and EADaily (the 2025 decree)
    assert {r["thing"].rsplit("/", 1)[1] for r in rows} >= {
        "dismissal-of-askar-zholamanov",
        "appointment-of-bolat-zhurabayev",
        "dismissal-of-ruslan-zhaksylykov",
    }
    days: dict[tuple[str, str, str], set[str]] = {}
    for r in rows:
        days.setdefault((r["thing"], r["p"], r["issued"]), set()).add(r["day"])
    assert [key for key, values in days.items() if key[2] not in values] == []


def test_the_unrest_counts_detentions_and_cases_as_lower_bounds(store):
    rows = select(
        store,
        """SELECT ?p ?n ?bound ?quote WHERE {
             VALUES ?p { kz:detained kz:criminalCasesOpened }
             <https://w3id.org/kzld/id/event/january-2022-unrest> ?p ?q ; kz:evidence ?c .
             ?q kz:numericValue ?n ; kz:bound ?bound .
             ?c kz:supports ?p ; kz:quote ?quote }""",
    )
    found = {(r["p"].removeprefix(KZ), float(r["n"]), r["bound"].removeprefix(KZ)) for r in rows}
    assert found == {("detained", 1000.0, "atLeast"), ("criminalCasesOpened", 100.0, "atLeast")}
    assert {r["quote"] for r in rows} == {
        "Thousands of people were detained and hundreds of criminal cases initiated."
    }


def test_zhaksylykov_had_served_more_than_30_years_in_the_internal_troops(store):
    rows = select(
        store,
        """SELECT ?n ?bound ?unit ?quote WHERE {
             ?e a kz:Appointment ; kz:person/rdfs:label "Ruslan Zhaksylykov"@en ;
                kz:serviceLength ?q ; kz:evidence ?c .
             ?q kz:numericValue ?n ; kz:bound ?bound ; kz:unit ?unit .
             ?c kz:supports kz:serviceLength ; kz:quote ?quote }""",
    )
    assert [(float(r["n"]), r["bound"], r["unit"]) for r in rows] == [
        (30.0, KZ + "moreThan", KZ + "years")
    ]
    assert "Internal Troops for more than 30 years" in rows[0]["quote"]


def test_the_three_district_commanders_were_replaced_by_tokayev(store):
    rows = select(
        store,
        """SELECT ?who WHERE {
             ?e a kz:Dismissal ; kz:person/rdfs:label ?who ;
                kz:agent/rdfs:label "Kassym-Jomart Tokayev"@en ; kz:evidence ?c .
             ?c kz:supports kz:agent ; kz:quote ?quote .
             FILTER (CONTAINS(?quote, "Military Districts were replaced by Tokayev")) }""",
    )
    assert sorted(r["who"] for r in rows) == [
        "Asan Zhusupov",
        "Kaydar Karakulov",
        "Nurlan Aldiyarov",
    ]


def test_the_2025_hand_over_is_dated_by_the_decree_report_and_kosanov_not_minister_before(engine):
    (row,) = [
        r
        for r in canned(engine, "successors", post="minister-of-defence")
        if r["predecessor"] == "Ruslan Zhaksylykov"
    ]
    assert (row["successor"], row["date"]) == ("Dauren Kosanov", "2025-06-08")
    for day in ("2022-03-01", "2023"):
        holders = [
            r["holder"] for r in canned(engine, "holders", post="minister-of-defence", date=day)
        ]
        assert holders == ["Ruslan Zhaksylykov"], day


def test_who_spoke_about_kosanovs_appointment(store):
    rows = select(
        store,
        """SELECT ?who ?text WHERE {
             ?s a kz:Statement ; kz:agent/rdfs:label ?who ; kz:statementText ?text ;
                kz:concerns <https://w3id.org/kzld/id/event/appointment-of-dauren-kosanov> }""",
    )
    said = {r["who"]: r["text"] for r in rows}
    assert set(said) == {"Yermurat Bapi", "Marat Abenov"}
    assert (
        said["Yermurat Bapi"]
        == "any general entrusted with such a post must prove worthy of that trust"
    )
