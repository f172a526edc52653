"""Fidelity to the sources: what the README says the data holds, claims the quotes back,
each query row citing its own side, end unknown versus still in office, numbers as values."""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest

from kzld.querying import queries
from kzld.querying.tables import display

ROOT = Path(__file__).resolve().parents[1]
KZ = "https://w3id.org/kzld/ontology#"
PREFIXES = """PREFIX kz: <https://w3id.org/kzld/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX schema: <https://schema.org/>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
PREFIX dcterms: <http://purl.org/dc/terms/>
"""
CATALOGUE = queries.catalogue()


@pytest.fixture(scope="module")
def store(bundled_graph) -> ox.Store:
    return bundled_graph.store()


@pytest.fixture(scope="module")
def engine(store):
    return queries.LocalEngine(store, timeout=60)


def select(store: ox.Store, body: str) -> list[dict[str, str]]:
    result = store.query(PREFIXES + body)
    names = [v.value for v in result.variables]
    return [{n: (row[n].value if row[n] is not None else None) for n in names} for row in result]


def count(store: ox.Store, pattern: str) -> int:
    return int(select(store, f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ {pattern} }}")[0]["n"])


def canned(engine, name: str, **given: str) -> list[dict[str, str]]:
    result = queries.run_canned(CATALOGUE[name], engine, given)
    return [dict(zip(result.columns, map(display, row), strict=True)) for row in result.rows]


# --------------------------------------------------------------- the README, from the data


def _of(cls: str) -> str:
    return f"?x a ?c . ?c rdfs:subClassOf* kz:{cls} ."


def holdings_sentence(store: ox.Store) -> str:
    """The README's first bullet under "What the data holds", computed from the graph."""
    n = {
        "persons": count(store, _of("Person")),
        "organisations": count(store, _of("Organisation")),
        "posts": count(store, _of("Post")),
        "tenures": count(store, _of("Tenure")),
        "unknown": count(
            store,
            _of("Tenure") + " FILTER NOT EXISTS { ?x kz:end|kz:inOfficeAsOf ?d }",
        ),
        "in_office": count(store, _of("Tenure") + " ?x kz:inOfficeAsOf ?d ."),
        "events": count(store, _of("Event")),
        "statements": count(store, _of("Statement")),
        "places": count(store, _of("Place")),
        "sources": count(store, _of("Source")),
        "secondary": count(store, "?x a kz:SecondaryReport ."),
        "conflicts": count(store, "?x a kz:Conflict ."),
        "claims": count(store, "?c a kz:Conflict ; kz:claim ?x ."),
        "quantities": count(store, "?x a kz:Quantity ."),
    }
    seeds = n["sources"] - n["secondary"]
    return (
        f"{n['persons']} persons, {n['organisations']} organisations, {n['posts']} posts, "
        f"{n['tenures']} tenures ({n['in_office']} known to be under way at a source's date, "
        f"{n['unknown']} with an end no source states), {n['events']} events (of them "
        f"{n['statements']} attributed statements), {n['places']} places, {n['sources']} "
        f"sources ({seeds} seed articles and {n['secondary']} secondary reports), "
        f"{n['conflicts']} recorded conflicts between sources or accounts ({n['claims']} "
        f"claims), {n['quantities']} distinct stated numbers with their bounds."
    )


def successions_sentence(store: ox.Store) -> str:
    """Every chain of successions the data states, post by post."""
    found = select(
        store,
        """SELECT ?first ?office WHERE {
             ?first kz:replacedBy ?next ; kz:post/rdfs:label ?office .
             FILTER NOT EXISTS { ?first kz:replaces ?earlier } }""",
    )
    chains = []
    for row in sorted(found, key=lambda r: r["office"]):
        names, tenure = [], row["first"]
        while tenure:
            [holder] = select(store, f"SELECT ?n WHERE {{ <{tenure}> kz:holder/rdfs:label ?n }}")
            names.append(holder["n"])
            after = select(store, f"SELECT ?t WHERE {{ <{tenure}> kz:replacedBy ?t }}")
            tenure = after[0]["t"] if after else None
        chains.append(f"{row['office']} ({' → '.join(names)})")
    return "Successions the sources state: " + "; ".join(chains) + "."


def readme_text() -> str:
    return re.sub(r"\s+", " ", (ROOT / "README.md").read_text(encoding="utf-8"))


def test_readme_counts_are_computed_from_the_data(store):
    expected = holdings_sentence(store)
    assert expected in readme_text(), f"README should say:\n{expected}"


def test_readme_successions_are_the_ones_the_data_states(store, engine):
    expected = successions_sentence(store)
    assert expected in readme_text(), f"README should say:\n{expected}"
    # and `kzld query successors --post` answers for each of them
    for office in re.findall(r"(?:: |; )([^;(]+?) \(", expected):
        [post] = select(store, f'SELECT ?p WHERE {{ ?p a kz:Post ; rdfs:label "{office}"@en }}')
        slug = post["p"].rsplit("/", 1)[1]
        assert canned(engine, "successors", post=slug), office


def test_the_successions_sentence_follows_the_chain():
    graph = ox.Store()
    graph.load(
        input=b"""@prefix kz: <https://w3id.org/kzld/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<t:a> kz:post <p:1> ; kz:holder <h:a> ; kz:replacedBy <t:b> .
<t:b> kz:post <p:1> ; kz:holder <h:b> ; kz:replaces <t:a> ; kz:replacedBy <t:c> .
<t:c> kz:post <p:1> ; kz:holder <h:c> ; kz:replaces <t:b> .
<p:1> rdfs:label "Post"@en . <h:a> rdfs:label "A"@en . <h:b> rdfs:label "B"@en .
<h:c> rdfs:label "C"@en .""",
        format=ox.RdfFormat.TURTLE,
    )
    assert successions_sentence(graph) == "Successions the sources state: Post (A → B → C)."


# ------------------------------------------------------------- nothing the sources do not say


def test_no_isolated_nodes(store):
    """Every person, organisation, post, place, rank, award, law and programme is linked from
    something else: a node nothing points at says nothing the articles say about it."""
    lonely = select(
        store,
        """SELECT ?x WHERE {
             VALUES ?c { kz:Person kz:Organisation kz:Post kz:Place kz:MilitaryRank kz:Award
                         kz:Law kz:Programme }
             ?x a ?k . ?k rdfs:subClassOf* ?c .
             FILTER NOT EXISTS { ?s ?p ?x . FILTER (?s != ?x && ?p != rdf:type) }
           }""".replace("rdf:type", "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"),
    )
    assert not lonely, sorted(r["x"] for r in lonely)


def test_general_only_where_a_rank_is_quoted(store):
    found = select(
        store,
        """SELECT ?x ?d WHERE {
             ?x a kz:Person ; schema:description ?d .
             FILTER (REGEX(?d, "(kazakh|lieutenant|major|colonel|army) general", "i"))
             FILTER NOT EXISTS {
               ?x kz:militaryRank/rdfs:label ?r FILTER (REGEX(?r, "general", "i")) }
           }""",
    )
    assert not found, found


def test_alternative_names_are_the_sources_spellings(store):
    names = {r["n"] for r in select(store, "SELECT ?n WHERE { ?x skos:altLabel ?n }")}
    assert "Ruslan Fatikhovich Zhaksylykov" not in names  # a transliteration no source gives
    assert "Жаксылыков Руслан Фатихович" in names


def test_secondary_quotes_occur_in_the_reference_list(store, shared_reference: Path):
    text = re.sub(r"\s+", " ", (shared_reference / "external-facts.md").read_text("utf-8"))
    quotes = select(
        store,
        """SELECT DISTINCT ?q WHERE { ?c kz:source ?s ; kz:quote ?q . ?s a kz:SecondaryReport }""",
    )
    assert len(quotes) > 10
    missing = [r["q"] for r in quotes if re.sub(r"\s+", " ", r["q"]) not in text]
    assert not missing, missing


def test_the_air_defence_line_runs_from_ormanbetov_to_kosanov(engine):
    found = canned(engine, "holders", post="commander-in-chief-of-the-air-defence-forces")
    assert {r["holder"] for r in found} == {"Nurlan Ormanbetov", "Dauren Kosanov"}
    assert len(found) == 3


def test_a_replacement_is_not_a_dismissal(store):
    [row] = select(
        store,
        """SELECT ?type ?cause WHERE {
             ?e kz:person/rdfs:label "Nurbolat Topayev"@en ; a ?type ; kz:endsTenure ?t .
             ?t kz:endCause ?cause }""",
    )
    assert (row["type"], row["cause"]) == (KZ + "Replacement", KZ + "replaced")


def test_the_withdrawal_is_from_kazakhstan(store):
    places = select(
        store,
        """SELECT ?l WHERE { ?e a kz:TroopWithdrawal ; kz:location/rdfs:label ?l }""",
    )
    assert [r["l"] for r in places] == ["Kazakhstan"]


# ------------------------------------------------------------- each row cites its own side


def test_each_arrest_date_row_lists_only_its_own_sources(engine):
    rows = canned(engine, "prosecutions", person="murat-bektanov")
    arrests = {
        r["date"]: set(r["sources"].split(queries.LIST_SEPARATOR))
        for r in rows
        if r["what"].startswith("arrest")
    }
    assert set(arrests) == {"2022-02-20", "2022-03 (month)"}
    assert "vestnik-kavkaza-149591" in arrests["2022-02-20"]
    assert "vestnik-kavkaza-149591" not in arrests["2022-03 (month)"]
    assert "the-diplomat-2023-03" in arrests["2022-03 (month)"]
    assert "the-diplomat-2023-03" not in arrests["2022-02-20"]


def test_each_appointment_date_row_lists_only_its_own_sources(engine):
    rows = canned(engine, "events", type="appointment")
    zhurabayev = {r["date"]: r["sources"] for r in rows if "Zhurabayev" in r["event"]}
    assert zhurabayev == {"2022-01-19": "the-diplomat-2023-03", "2022-02-03": "lenta-ru-2022-02-03"}


# ------------------------------------------------------- end unknown versus still in office


def test_an_unknown_end_is_not_shown_as_current(engine):
    on = {(r["office"], r["holder"]) for r in canned(engine, "holders", date="2024")}
    # Zhaksylykov's National Guard command has a start (2014) and no stated end.
    assert not [o for o in on if o[1] == "Ruslan Zhaksylykov" and "National Guard" in o[0]]
    assert ("Minister of Defence of Kazakhstan", "Ruslan Zhaksylykov") in on
    # Undated tenures are no one's post on a given date.
    assert not [o for o in on if o[0].startswith("Deputy Minister of Internal Affairs")]
    latest = {(r["office"], r["holder"]) for r in canned(engine, "holders", date="2025-06")}
    assert ("Minister of Defence of Kazakhstan", "Dauren Kosanov") in latest
    assert ("President of Kazakhstan", "Kassym-Jomart Tokayev") in latest
    later = {(r["office"], r["holder"]) for r in canned(engine, "holders", date="2026")}
    assert ("Minister of Defence of Kazakhstan", "Dauren Kosanov") not in later


def test_in_office_dates_are_quoted_and_no_later_than_their_source(store):
    found = select(
        store,
        """SELECT ?t ?d ?issued WHERE {
             ?t kz:inOfficeAsOf ?d ; kz:evidence ?c .
             ?c kz:supports kz:inOfficeAsOf ;
                kz:source/<http://purl.org/dc/terms/issued> ?issued }""",
    )
    assert len({r["t"] for r in found}) >= 4
    assert all(r["d"] <= r["issued"] for r in found), found


# ------------------------------------------------------------------ numbers, claims, cases


def test_bounds_are_values_not_text(store):
    found = {
        (r["p"].rsplit("#", 1)[1], r["v"], r["b"].rsplit("#", 1)[1])
        for r in select(
            store,
            """SELECT ?p ?v ?b WHERE { ?e ?p ?q . ?q a kz:Quantity ; kz:numericValue ?v ;
                                         kz:bound ?b }""",
        )
    }
    assert ("amountRaised", "230000000", "moreThan") in found
    assert ("amountEmbezzled", "590000000", "moreThan") in found
    assert ("killed", "220", "moreThan") in found
    assert ("shareOfGDP", "0.75", "about") in found
    assert ("duration", "5", "moreThan") in found
    assert ("quantityProcured", "1000000", "nearly") in found
    assert ("prisonTerm", "12", "exactly") in found
    # the old ways of saying a bound are gone
    for old in ("killedMoreThan", "approximate", "amount", "currency", "victimAge"):
        assert not select(store, f"SELECT ?s WHERE {{ ?s kz:{old} ?o }}"), old


def test_disputed_accounts_are_claims_with_claimants(engine):
    rows = canned(engine, "conflicts")
    shakhimov = {(r["value"], r["claimant"]) for r in rows if "Shakhimov" in r["about"]}
    assert shakhimov == {
        ("a metal structure collapsed on him during a storm", "National Guard of Kazakhstan"),
        ("his relatives found stab wounds", "his relatives, after exhumation"),
    }
    accounts = {r["about"] for r in rows if r["property"] == "account"}
    assert len(accounts) == 5
    tolls = {r["value"] for r in rows if r["about"].startswith("January 2022")}
    assert tolls == {"225", "at least 225", "at least 238", "more than 220"}


def test_one_decree_dismissed_two_commanders(store):
    found = select(
        store,
        """SELECT ?who WHERE { ?e kz:instrument ?decree ; kz:person/rdfs:label ?who .
                              ?decree a kz:Decree }""",
    )
    assert {r["who"] for r in found} == {"Nurlan Ormanbetov", "Kairat Sadykov"}


def test_a_case_closed_then_reopened(store):
    found = select(
        store,
        """SELECT ?type ?reason WHERE { ?e kz:case ?case ; a ?type ; kz:reason ?reason .
                                       ?case kz:person/rdfs:label "Bekbol Mirash"@en }""",
    )
    assert {(r["type"].rsplit("#", 1)[1], r["reason"]) for r in found} == {
        ("CaseClosure", "a suicide"),
        ("CaseReopening", "under pressure from the family and activists"),
    }


def test_statements_name_speaker_outlet_and_words(store):
    found = select(
        store,
        """SELECT ?speaker ?outlet WHERE {
             ?s a ?k ; kz:agent/rdfs:label ?speaker ; kz:outlet/rdfs:label ?outlet ;
                kz:statementText ?w .
             ?k rdfs:subClassOf* kz:Statement }""",
    )
    pairs = {(r["speaker"], r["outlet"]) for r in found}
    assert ("Kassym-Jomart Tokayev", "Khabar 24") in pairs
    assert ("Dimash Alzhanov", "The Insider") in pairs
    assert ("Berik Asylov", "X") in pairs
