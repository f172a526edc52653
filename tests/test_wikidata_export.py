"""`kzld export wikidata`: the Wikibase RDF shape, checked with WDQS-style queries."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from kzld.loading.graph import load_graph
from kzld.loading.resources import bundled
from kzld.wikidata.export import export_wikidata

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "wikidata"
SAMPLE = FIXTURES / "kzld"
WDQS_MINISTERS = (FIXTURES / "wdqs-minister-of-defence.rq").read_text(encoding="utf-8")
PERSON = "https://w3id.org/kzld/id/person/"
WD = "http://www.wikidata.org/entity/"

PREFIXES = """
PREFIX wd: <http://www.wikidata.org/entity/>
PREFIX wdt: <http://www.wikidata.org/prop/direct/>
PREFIX p: <http://www.wikidata.org/prop/>
PREFIX ps: <http://www.wikidata.org/prop/statement/>
PREFIX psv: <http://www.wikidata.org/prop/statement/value/>
PREFIX pq: <http://www.wikidata.org/prop/qualifier/>
PREFIX pqv: <http://www.wikidata.org/prop/qualifier/value/>
PREFIX pr: <http://www.wikidata.org/prop/reference/>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX wikibase: <http://wikiba.se/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX kz: <https://w3id.org/kzld/ontology#>
"""


def exported(*paths: Path) -> ox.Store:
    store = ox.Store()
    store.load(export_wikidata(load_graph(list(paths))), format=ox.RdfFormat.TURTLE)
    return store


def rows(store: ox.Store, query: str) -> list[dict[str, str | None]]:
    result = store.query(query if query.lstrip().startswith("#") else PREFIXES + query)
    names = [v.value for v in result.variables]
    return [{n: (r[n].value if r[n] is not None else None) for n in names} for r in result]


@pytest.fixture(scope="module")
def sample() -> ox.Store:
    return exported(bundled("ontology"), SAMPLE)


@pytest.fixture(scope="module")
def bundled_export(bundled_graph) -> ox.Store:
    store = ox.Store()
    store.load(export_wikidata(bundled_graph), format=ox.RdfFormat.TURTLE)
    return store


def test_wdqs_query_answers_who_replaced_whom_on_the_sample(sample):
    answers = {
        (r["ministerLabel"], r["predecessorLabel"], r["start"], r["url"])
        for r in rows(sample, WDQS_MINISTERS)
    }
    # The sample: Bektanov replaced Yermekbayev (start disputed: 31 August 2021 by the news
    # item, September 2021 by the paper); Zhaksylykov replaced Bektanov on 19 January 2022.
    # The news item also backs Bektanov's end date, so it is cited on both his statements.
    assert answers == {
        (
            "Murat Bektanov",
            "Nurlan Yermekbayev",
            "2021-09-01T00:00:00Z",
            "https://news.example/2022/01/19/minister",
        ),
        (
            "Murat Bektanov",
            "Nurlan Yermekbayev",
            "2021-08-31T00:00:00Z",
            "https://news.example/2022/01/19/minister",
        ),
        (
            "Murat Bektanov",
            "Nurlan Yermekbayev",
            "2021-09-01T00:00:00Z",
            "https://paper.example/2021/09/minister",
        ),
        (
            "Ruslan Zhaksylykov",
            "Murat Bektanov",
            "2022-01-19T00:00:00Z",
            "https://news.example/2022/01/19/minister",
        ),
    }


def test_wdqs_query_on_the_bundled_data_matches_the_kzld_graph(bundled_graph, bundled_export):
    # The same question asked in kzld's own vocabulary, on the graph as loaded.
    expected = {
        (r["holder"], r["previous"], r["start"], r["url"])
        for r in rows(
            bundled_graph.store(),
            """SELECT ?holder ?previous ?start ?url WHERE {
                 ?post rdfs:label "Minister of Defence of Kazakhstan"@en .
                 ?t kz:post ?post ; kz:holder/rdfs:label ?holder ;
                    kz:replaces/kz:holder/rdfs:label ?previous .
                 OPTIONAL { ?t kz:start ?start }
                 OPTIONAL { ?t kz:evidence/kz:source/kz:url ?url }
                 FILTER (LANG(?holder) = "en" && LANG(?previous) = "en") }""",
        )
    }
    answers = rows(bundled_export, WDQS_MINISTERS)
    got = {
        (r["ministerLabel"], r["predecessorLabel"], (r["start"] or "")[:10], r["url"])
        for r in answers
    }
    # An undated tenure (Kosanov's: no source dates his appointment) has no P580 either.
    assert {(h, p, s or "", u) for h, p, s, u in expected} == got
    assert {("Ruslan Zhaksylykov", "Murat Bektanov")} <= {(r[0], r[1]) for r in got}


def test_time_values_carry_precision_and_the_gregorian_calendar(sample):
    found = rows(
        sample,
        f"""SELECT ?time ?precision ?calendar ?tz WHERE {{
              <{PERSON}murat-bektanov> p:P39 ?st .
              ?st pqv:P580 [ wikibase:timeValue ?time ; wikibase:timePrecision ?precision ;
                             wikibase:timeCalendarModel ?calendar ;
                             wikibase:timeTimezone ?tz ] }}""",
    )
    assert {(r["time"], r["precision"]) for r in found} == {
        ("2021-08-31T00:00:00Z", "11"),
        ("2021-09-01T00:00:00Z", "10"),
    }
    assert {r["calendar"] for r in found} == {WD + "Q1985727"}
    assert {r["tz"] for r in found} == {"0"}
    birth = rows(
        sample,
        f"""SELECT ?precision WHERE {{ <{PERSON}murat-bektanov> p:P569/psv:P569/
              wikibase:timePrecision ?precision }}""",
    )
    assert [r["precision"] for r in birth] == ["9"]


def test_a_conflict_gives_one_normal_statement_per_claim_citing_its_own_source(sample):
    found = rows(
        sample,
        f"""SELECT ?st ?start ?rank ?best ?url ?quote WHERE {{
              <{PERSON}murat-bektanov> p:P39 ?st .
              ?st pq:P580 ?start ; wikibase:rank ?rank ; prov:wasDerivedFrom ?ref .
              ?ref pr:P854 ?url ; kz:quote ?quote .
              BIND (EXISTS {{ ?st a wikibase:BestRank }} AS ?best) }}""",
    )
    assert len({r["st"] for r in found}) == 2
    assert {r["rank"] for r in found} == {"http://wikiba.se/ontology#NormalRank"}
    assert {r["best"] for r in found} == {"true"}
    by_start = {(r["start"][:10], r["quote"]) for r in found}
    assert ("2021-09-01", "appointed in September") in by_start
    assert ("2021-08-31", "appointed on 31 August 2021") in by_start
    # each claim's evidence is cited only on its own statement
    assert ("2021-08-31", "appointed in September") not in by_start
    assert ("2021-09-01", "appointed on 31 August 2021") not in by_start


def test_qualifiers_use_the_holder_of_the_linked_tenure_and_wd_iris(sample):
    found = rows(
        sample,
        f"""SELECT ?prev ?next ?by WHERE {{
              <{PERSON}murat-bektanov> p:P39 ?st .
              ?st pq:P1365 ?prev ; pq:P1366 ?next ; pq:P748 ?by }}""",
    )
    assert {(r["prev"], r["next"], r["by"]) for r in found} == {
        (PERSON + "nurlan-yermekbayev", PERSON + "ruslan-zhaksylykov", WD + "Q200881")
    }
    acting = rows(sample, "SELECT ?st WHERE { wd:Q56825894 p:P39 ?st . ?st pq:P5102 wd:Q4676846 }")
    assert len(acting) == 1


def test_an_end_cause_with_no_wikidata_item_is_left_out_and_reported(kzld, sample):
    # kz:dismissed has no verified item: no P1534 at all, never the kzld IRI.
    assert not rows(sample, "SELECT ?st WHERE { ?st pq:P1534 ?cause }")
    result = kzld("export", "wikidata", "--data", bundled("ontology"), "--data", SAMPLE)
    assert result.exit_code == 0, result.stderr
    assert "#dismissed" not in result.stdout.replace("kz:dismissed", "")
    assert (
        "kzld: left out: https://w3id.org/kzld/id/tenure/murat-bektanov--minister-of-defence: "
        "P1534 value https://w3id.org/kzld/ontology#dismissed is not a Wikidata item"
    ) in result.stderr


def test_an_end_cause_mapped_to_an_item_is_written_as_that_item(tmp_path):
    mapping = tmp_path / "mapping.ttl"
    # A test-only placeholder item for the end cause (no real QID is claimed here).
    mapping.write_text(
        "<https://w3id.org/kzld/ontology#dismissed> <https://w3id.org/kzld/ontology#wikidataEntity>"
        " <http://www.wikidata.org/entity/Q999999999> .\n",
        encoding="utf-8",
    )
    notes: list[str] = []
    store = ox.Store()
    store.load(
        export_wikidata(load_graph([bundled("ontology"), SAMPLE, mapping]), notes),
        format=ox.RdfFormat.TURTLE,
    )
    found = rows(store, f"SELECT ?cause WHERE {{ <{PERSON}murat-bektanov> p:P39/pq:P1534 ?cause }}")
    assert {r["cause"] for r in found} == {WD + "Q999999999"}
    assert not [n for n in notes if "#dismissed" in n]


def test_every_item_value_in_the_bundled_export_is_a_wikidata_or_exported_item(bundled_export):
    bad = rows(
        bundled_export,
        """SELECT DISTINCT ?p ?value WHERE {
             ?s ?p ?value . FILTER (isIRI(?value))
             FILTER (STRSTARTS(STR(?p), "http://www.wikidata.org/prop/qualifier/P")
                     || STRSTARTS(STR(?p), "http://www.wikidata.org/prop/statement/P")
                     || STRSTARTS(STR(?p), "http://www.wikidata.org/prop/direct/P"))
             FILTER (!STRSTARTS(STR(?value), "http://www.wikidata.org/entity/"))
             FILTER NOT EXISTS { ?value a wikibase:Item }
           }""",
    )
    assert not bad, bad
    classes = rows(bundled_export, "SELECT DISTINCT ?c WHERE { ?s wdt:P31 ?c }")
    assert classes and all(r["c"].startswith(WD) for r in classes)
    causes = rows(bundled_export, "SELECT ?c WHERE { ?s pq:P1534 ?c }")
    assert all(r["c"].startswith(WD) for r in causes)


def test_reconciled_entities_use_wd_iris_and_every_item_has_p31(sample):
    items = rows(
        sample,
        "SELECT ?item ?class WHERE { ?item a wikibase:Item . OPTIONAL { ?item wdt:P31 ?class } }",
    )
    assert all(r["class"] for r in items)
    iris = {r["item"] for r in items}
    assert {WD + "Q56825894", WD + "Q2416315", WD + "Q200881"} <= iris
    assert PERSON + "alikhan-smailov" not in iris
    assert PERSON + "murat-bektanov" in iris
    types = {r["item"]: r["class"] for r in items}
    assert types[WD + "Q2416315"] == WD + "Q4164871"  # a post is a position
    assert types["https://w3id.org/kzld/id/event/dismissal-of-murat-bektanov"] == WD + "Q1656682"
    assert types["https://w3id.org/kzld/id/organisation/ministry-of-defence"] == WD + "Q43229"


def test_labels_and_aliases(sample):
    found = rows(
        sample,
        'SELECT ?alias WHERE { wd:Q56825894 rdfs:label "Alikhan Smailov"@en ; '
        "skos:altLabel ?alias }",
    )
    assert {r["alias"] for r in found} == {"Älihan Smaiylov", "Алихан Смаилов"}


def test_references_have_url_title_date_and_one_node_per_content(sample):
    found = rows(
        sample,
        """SELECT ?ref ?title ?date ?precision WHERE {
             ?ref a wikibase:Reference ;
                  pr:P854 <https://wire.example/2022/01/11/prime-minister> ;
                  pr:P1476 ?title ; pr:P577 ?date ;
                  <http://www.wikidata.org/prop/reference/value/P577>/wikibase:timePrecision
                  ?precision }""",
    )
    assert {(r["title"], r["date"], r["precision"]) for r in found} == {
        ("Kazakhstan appoints new prime minister", "2022-01-11T00:00:00Z", "11")
    }
    # four tenures cite the wire, each with its own quote: four reference nodes
    assert len({r["ref"] for r in found}) == 4
    # the news item is cited with only the same quote by a tenure and an event: one node
    shared = rows(
        sample,
        """SELECT ?st ?ref WHERE { ?st prov:wasDerivedFrom ?ref .
             ?ref kz:quote "fired Murat Bektanov"@en .
             FILTER NOT EXISTS { ?ref kz:quote ?other
                                 FILTER (?other != "fired Murat Bektanov"@en) } }""",
    )
    assert len({r["ref"] for r in shared}) == 1
    assert len({r["st"] for r in shared}) == 2


def test_truthy_triples_for_best_rank_statements(sample):
    missing = rows(
        sample,
        """SELECT ?item ?st WHERE { ?item p:P39 ?st . ?st a wikibase:BestRank ; ps:P39 ?post .
             FILTER NOT EXISTS { ?item wdt:P39 ?post } }""",
    )
    assert missing == []
    assert sample.query(PREFIXES + "ASK { wd:Q56825894 wdt:P39 wd:Q2416315 }")


def test_the_mapping_comes_from_the_ontology_alignment(tmp_path):
    ontology = (bundled("ontology") / "kzld.ttl").read_text(encoding="utf-8")
    assert "skos:exactMatch wd:P580" in ontology
    (tmp_path / "kzld.ttl").write_text(
        ontology.replace("skos:exactMatch wd:P580", "skos:exactMatch wd:P9580"), encoding="utf-8"
    )
    store = exported(tmp_path / "kzld.ttl", SAMPLE)
    assert rows(store, "SELECT ?s WHERE { ?s pq:P580 ?o }") == []
    assert len(rows(store, "SELECT ?s WHERE { ?s pq:P9580 ?o }")) > 0


def test_output_is_byte_identical_across_hash_seeds(run_kzld):
    args = ("export", "wikidata", "--data", bundled("ontology"), "--data", SAMPLE)
    first = run_kzld(*args, env={"PYTHONHASHSEED": "1"})
    second = run_kzld(*args, env={"PYTHONHASHSEED": "2"})
    assert first.exit_code == 0, first.stderr
    assert first.stdout == second.stdout
    assert "Q1985727" in first.stdout


def test_out_writes_the_file(kzld, tmp_path):
    out = tmp_path / "wikidata.ttl"
    result = kzld(
        "export", "wikidata", "--data", bundled("ontology"), "--data", SAMPLE, "--out", out
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    store = ox.Store()
    store.load(path=str(out), format=ox.RdfFormat.TURTLE)
    assert len(store) > 100


def test_unwritable_out_is_an_output_error(kzld, tmp_path):
    out = tmp_path / "missing-folder" / "wikidata.ttl"
    result = kzld(
        "export", "wikidata", "--data", bundled("ontology"), "--data", SAMPLE, "--out", out
    )
    assert result.exit_code == 5
    assert "kzld: error:" in result.stderr
