"""Canned queries: valid SPARQL with a complete header, and the right rows on the real data."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Literal, Variable
from rdflib.plugins.sparql import prepareQuery

from kzld.errors import UsageError
from kzld.loading.resources import bundled
from kzld.querying import queries

CATALOGUE = queries.catalogue()
REQUIRED = {
    "successors",
    "holders",
    "timeline",
    "dismissals",
    "prosecutions",
    "events",
    "conflicts",
    "sources",
    "figures",
}
# The canned queries and kzld's own lookups (other folders belong to other commands).
ALL_RQ = sorted(bundled("queries").glob("*.rq")) + sorted(bundled("queries").glob("lookup/*.rq"))


@pytest.fixture(scope="module")
def engine(bundled_graph):
    return queries.LocalEngine(bundled_graph.store(), timeout=60)


def rows(engine, name: str, **given: str) -> list[dict[str, str]]:
    """Rows of a canned query as {column: displayed value}."""
    from kzld.querying.tables import display

    result = queries.run_canned(CATALOGUE[name], engine, given)
    return [dict(zip(result.columns, map(display, row), strict=True)) for row in result.rows]


# --------------------------------------------------------------------------- the files


def test_the_catalogue_has_every_required_query():
    assert REQUIRED <= set(CATALOGUE)


@pytest.mark.parametrize("path", ALL_RQ, ids=lambda p: p.stem)
def test_every_query_is_valid_sparql_for_both_parsers(path):
    text = path.read_text(encoding="utf-8")
    ox.Store().query(text)  # raises SyntaxError when invalid
    prepareQuery(text)


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_the_header_matches_the_query(name):
    canned = CATALOGUE[name]
    assert canned.summary and canned.description
    projected = [v.value for v in ox.Store().query(canned.text).variables]
    # Columns come from the projection; parameters are projected too (pyoxigraph only
    # substitutes projected variables) but are not shown.
    assert set(canned.columns) <= set(projected), name
    for param in canned.params:
        assert param.name in projected, f"{name}: --{param.name} is not projected"
        assert param.name not in canned.columns
        assert param.example, f"{name}: --{param.name} has no example"
    assert set(canned.lists) <= set(canned.columns)


def read_query_text(tmp_path: Path, text: str) -> queries.CannedQuery:
    """`text` read as a query file would be."""
    path = tmp_path / "broken.rq"
    path.write_text(text)
    return queries.read_query(path)


def test_a_header_missing_its_columns_is_refused(tmp_path):
    with pytest.raises(UsageError, match="no '#\\+ columns:' line"):
        read_query_text(tmp_path, "#+ name: broken\n#+ summary: x\nSELECT ?x WHERE { ?x ?p ?o }\n")


def test_a_parameter_of_unknown_type_is_refused(tmp_path):
    with pytest.raises(UsageError, match="unknown type 'colour'"):
        read_query_text(
            tmp_path,
            "#+ name: b\n#+ summary: x\n#+ columns: x\n#+ param: who; type: colour\nSELECT ?x {}\n",
        )


def test_a_default_in_the_header_is_refused(tmp_path):
    # The raw file must give the rows of `kzld query NAME`: a default lives in the query.
    with pytest.raises(UsageError, match="has a default in its header") as caught:
        read_query_text(
            tmp_path,
            "#+ name: b\n#+ summary: x\n#+ columns: x\n"
            "#+ param: type; type: type; default: https://w3id.org/kzld/ontology#Event\n"
            "SELECT ?x {}\n",
        )
    assert "COALESCE" in caught.value.hint


def test_events_without_a_type_are_the_events_only():
    """Run raw, events.rq gives the events (its default, kz:Event, is in the query), not
    every typed thing."""
    from kzld.loading.graph import load_graph
    from kzld.loading.resources import default_data_paths

    store = load_graph(default_data_paths()).store()
    text = queries.catalogue()["events"].text
    everything = {str(s["thing"]) for s in store.query("SELECT DISTINCT ?thing { ?thing a ?c }")}
    raw = list(store.query(text))
    typed = queries.with_values(text, {"type": ox.NamedNode(queries.KZ + "Event")})
    assert len(raw) == len(list(store.query(typed)))
    assert {s["event"].value for s in raw} == {s["event"].value for s in store.query(typed)}
    assert 0 < len(raw) < len(everything)


# --------------------------------------------------------------------------- the rows


def succession(found, predecessor, successor):
    return [r for r in found if r["predecessor"] == predecessor and r["successor"] == successor]


def test_successors_of_the_minister_of_defence(engine):
    found = rows(engine, "successors", post="minister-of-defence")
    assert {r["office"] for r in found} == {"Minister of Defence of Kazakhstan"}
    (bektanov,) = succession(found, "Murat Bektanov", "Ruslan Zhaksylykov")
    assert bektanov["date"] == "2022-01-19"
    assert "dismissed" in bektanov["left"]
    assert "kz-expert-2022-01" in bektanov["sources"].split("; ")
    (zhaksylykov,) = succession(found, "Ruslan Zhaksylykov", "Dauren Kosanov")
    assert zhaksylykov["date"] == "2025-06-08"
    # in date order
    assert found.index(bektanov) < found.index(zhaksylykov)


def test_successors_of_the_prime_minister_and_security_council(engine):
    found = rows(engine, "successors")
    (pm,) = succession(found, "Askar Mamin", "Alikhan Smailov")
    assert pm["date"] == "2022-01-11"
    assert pm["office"] == "Prime Minister of Kazakhstan"
    chair = succession(found, "Nursultan Nazarbayev", "Kassym-Jomart Tokayev")
    assert "Chair of the Security Council of Kazakhstan" in {r["office"] for r in chair}
    assert all(r["sources"] for r in found), "every succession names its sources"


def test_a_post_named_by_label_slug_or_iri_gives_the_same_rows(engine):
    by_slug = rows(engine, "successors", post="minister-of-defence")
    assert rows(engine, "successors", post="Defense Minister") == by_slug
    iri = "https://w3id.org/kzld/id/post/minister-of-defence"
    assert rows(engine, "successors", post=iri) == by_slug


def test_holders_on_a_date(engine):
    on_day = rows(engine, "holders", post="minister-of-defence", date="2022-03-01")
    assert [r["holder"] for r in on_day] == ["Ruslan Zhaksylykov"]
    # a month overlapping the hand-over finds both ministers
    january = rows(engine, "holders", post="minister-of-defence", date="2022-01")
    assert {"Murat Bektanov", "Ruslan Zhaksylykov"} <= {r["holder"] for r in january}


def test_holders_of_an_organisations_posts(engine):
    found = rows(engine, "holders", org="Ministry of Defense", date="2022-06")
    assert ("Minister of Defence of Kazakhstan", "Ruslan Zhaksylykov") in {
        (r["office"], r["holder"]) for r in found
    }
    assert all("Defence" in r["office"] for r in found)
    assert len(rows(engine, "holders", date="2022-06")) > len(found)


def test_holders_over_time_are_in_order(engine):
    over_time = [r["holder"] for r in rows(engine, "holders", post="minister-of-defence")]
    expected = ["Murat Bektanov", "Ruslan Zhaksylykov", "Dauren Kosanov"]
    assert [h for h in over_time if h in expected] == expected


def test_timeline_by_alternative_spelling(engine):
    found = rows(engine, "timeline", person="Zhaqsylyqov")
    assert {r["name"] for r in found} == {"Ruslan Zhaksylykov"}
    took = [r for r in found if r["kind"] == "took office" and "Defence" in r["what"]]
    assert [r["date"] for r in took] == ["2022-01-19"]
    dated = [r["date"] for r in found if r["date"]]
    assert dated == sorted(dated, key=lambda d: d.split(" ")[0])


def test_dismissals_in_a_period_with_reason_and_quote(engine):
    found = rows(engine, "dismissals", **{"from": "2022-01", "to": "2022-01-31"})
    bektanov = [r for r in found if r["person"] == "Murat Bektanov"]
    assert bektanov and all(r["date"] == "2022-01-19" for r in bektanov)
    assert any("command" in r["reasons"] for r in bektanov)
    assert all(r["quote"] and r["source"] for r in bektanov)
    assert "Ruslan Zhaksylykov" not in {r["person"] for r in found}  # dismissed in 2025


def test_date_filters_compare_across_precisions(engine):
    # A dismissal dated to a month (2022-04) is inside a period given by days and by year.
    by_year = rows(engine, "dismissals", **{"from": "2022", "to": "2022"})
    by_day = rows(engine, "dismissals", **{"from": "2022-04-10", "to": "2022-04-20"})
    month_dated = [r for r in by_year if r["date"].endswith("(month)")]
    assert month_dated
    assert any(r["date"] == "2022-04 (month)" for r in by_day)
    assert all(r["date"].startswith("2022") for r in by_year)


def test_prosecutions_of_bektanov(engine):
    found = rows(engine, "prosecutions", person="murat-bektanov")
    assert {r["who"] for r in found} == {"Murat Bektanov"}
    assert any(r["article"].startswith("451") for r in found)
    assert all(r["sources"] for r in found)
    (sentence,) = [r for r in found if r["what"] == "sentence"]
    assert sentence["date"] == "2023-02-24"
    assert sentence["announced"] == "2023-03-09"  # made public two weeks later
    assert "12 years" in sentence["penalty"]
    assert "military court" in sentence["court"].lower()
    dated = [r["date"] for r in found if r["date"]]
    assert found[: len(dated)] == [r for r in found if r["date"]], "undated rows come last"


def test_events_by_type_and_period(engine):
    arrests = rows(engine, "events", type="arrest", **{"from": "2022"})
    assert arrests
    assert {r["kind"] for r in arrests} == {"arrest or detention"}
    assert all(r["date"] >= "2022" for r in arrests)
    everything = rows(engine, "events")
    assert len(everything) > len(arrests)


def test_conflicts_show_each_side_with_its_source(engine):
    found = rows(engine, "conflicts")
    by_point: dict[tuple[str, str], set[str]] = {}
    for r in found:
        by_point.setdefault((r["about"], r["property"]), set()).add(r["value"])
        assert r["source"], r
    assert by_point and all(len(values) >= 2 for values in by_point.values())


def test_sources_count_what_they_support(engine):
    found = {r["source"]: r for r in rows(engine, "sources")}
    diplomat = found["the-diplomat-2023-03"]
    assert diplomat["kind"] == "seed article"
    assert int(diplomat["citations"]) > 10
    # Bektanov's start date and birth are backed by the Astana Times report.
    supports = found["astana-times-2021-09"]["supports"].split("; ")
    assert {"start", "birthDate"} <= set(supports)


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "given", ["Zhaqsylyqov", "zhaksylykov", "ruslan-zhaksylykov", "ЖАКСЫЛЫКОВ РУСЛАН ФАТИХОВИЧ"]
)
def test_a_person_by_any_spelling(engine, given):
    found = queries.resolve(engine, "person", given)
    assert found == ox.NamedNode("https://w3id.org/kzld/id/person/ruslan-zhaksylykov")


def test_accents_are_ignored(engine):
    found = queries.resolve(engine, "person", "Alihan Smaiylov")
    assert found.value.endswith("/alikhan-smailov")


def test_an_unknown_name_suggests_close_matches(engine):
    with pytest.raises(UsageError) as caught:
        queries.resolve(engine, "person", "Bektanoff")
    assert "no person is named 'Bektanoff'" in caught.value.message
    assert "murat-bektanov" in caught.value.hint


def test_an_ambiguous_name_lists_the_candidates(engine):
    with pytest.raises(UsageError, match="names .* posts") as caught:
        queries.resolve(engine, "post", "minister")
    assert "minister-of-defence" in caught.value.message


def test_a_known_iri_of_the_wrong_kind_is_refused(engine):
    with pytest.raises(UsageError, match="no post is named"):
        queries.resolve(engine, "post", "https://w3id.org/kzld/id/person/murat-bektanov")


def test_a_parameter_the_query_does_not_take(engine):
    with pytest.raises(UsageError, match="takes no --person"):
        queries.run_canned(CATALOGUE["successors"], engine, {"person": "x"})


@pytest.mark.parametrize("bad", ["2022-13", "2022-02-30", "22", "2022/01/01", "x> } ; DROP ALL"])
def test_bad_dates_are_refused(bad):
    with pytest.raises(UsageError, match="not a date"):
        queries.parse_date(bad)


@pytest.mark.parametrize(
    ("text", "datatype"),
    [("2022", "gYear"), ("2022-03", "gYearMonth"), ("2022-03-09", "date")],
)
def test_dates_keep_their_precision(text, datatype):
    assert queries.parse_date(text).datatype.value == queries.XSD + datatype


# --------------------------------------------------------------------------- safety


HOSTILE = ["x> } ; DROP ALL", 'foo" . ?s ?p ?o', "} UNION { ?s ?p ?o", "# comment\n}"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_names_are_refused_not_run(engine, value):
    with pytest.raises(UsageError, match="no post is named"):
        queries.run_canned(CATALOGUE["successors"], engine, {"post": value})


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_literal_stays_one_term_in_the_values_block(value):
    text = CATALOGUE["successors"].text
    sent = queries.with_values(text, {"post": ox.Literal(value)})
    # The query text is kept whole around one VALUES block holding the escaped term ...
    cut = queries.where_opening(text) + 1
    assert sent == text[:cut] + f" VALUES (?post) {{ ({ox.Literal(value)}) }}" + text[cut:]
    # ... and that text is exactly one RDF term equal to the value.
    (triple,) = ox.parse(f"<urn:s> <urn:p> {ox.Literal(value)} .", format=ox.RdfFormat.N_TRIPLES)
    assert triple.object == ox.Literal(value)
    # rdflib reads one VALUES row binding ?post to exactly that literal.
    values = [
        node for node in _walk(prepareQuery(sent).algebra) if getattr(node, "name", "") == "values"
    ]
    assert [row for node in values for row in node["res"]] == [{Variable("post"): Literal(value)}]


def _walk(node):
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        yield from _walk(child)


def test_the_values_block_opens_the_where_clause():
    text = 'SELECT ?x WHERE { ?x <urn:p> "{ not here" }'
    bound = queries.with_values(text, {"x": ox.NamedNode("urn:a")})
    assert bound == 'SELECT ?x WHERE { VALUES (?x) { (<urn:a>) } ?x <urn:p> "{ not here" }'


def test_values_binding_gives_the_same_rows_as_pyoxigraph_substitution(engine):
    canned = CATALOGUE["successors"]
    post = {"post": ox.NamedNode("https://w3id.org/kzld/id/post/minister-of-defence")}
    solutions = engine.store.query(
        canned.text, substitutions={ox.Variable(k): v for k, v in post.items()}
    )
    names = [v.value for v in solutions.variables]
    substituted = queries.Results(names, [tuple(s[n] for n in names) for s in solutions])
    valued = engine.select(canned.text, post)  # the engine binds through VALUES
    assert "VALUES (?post)" in queries.with_values(canned.text, post)
    assert queries.tidy(canned, substituted).rows
    assert queries.tidy(canned, substituted).rows == queries.tidy(canned, valued).rows


# --------------------------------------------------------------------------- user queries


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", "SERVICE"),
        ("SELECT * FROM <http://example.org/g> WHERE { ?s ?p ?o }", "FROM"),
        ("SELECT * FROM NAMED <http://example.org/g> WHERE { ?s ?p ?o }", "FROM"),
        ("LOAD <http://example.org/data.ttl>", "LOAD"),
        ("DROP ALL", "DROP"),
        ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "INSERT"),
        ("DELETE WHERE { ?s ?p ?o }", "DELETE"),
        ("select * where { service <http://x/> { ?s ?p ?o } }", "SERVICE"),
    ],
)
def test_user_queries_that_leave_the_data_are_refused(text, word):
    with pytest.raises(UsageError, match=f"{word} is refused"):
        queries.check_read_only(text)


def test_keywords_inside_strings_iris_and_comments_are_fine():
    text = (
        "# SERVICE and FROM in a comment\n"
        "PREFIX from: <http://example.org/service/>\n"
        'SELECT ?s WHERE { ?s ?p "DROP ALL; SERVICE" . ?s from:load <urn:from> }'
    )
    queries.check_read_only(text)


def test_timeline_rows_from_a_fixture():
    from kzld.loading.graph import load_graph

    fixture = Path(__file__).parent / "fixtures" / "queries" / "timeline.ttl"
    engine = queries.LocalEngine(load_graph([bundled("ontology"), fixture]).store(), timeout=60)
    found = [
        (r["date"], r["kind"], r["what"], r["role"])
        for r in rows(engine, "timeline", person="Aigerim Test")
    ]
    assert found == [
        ("2020-05 (month)", "took office", "Warden", "holder"),
        ("2020-06-01", "appointment", "Other Test appointed", "agent"),
        ("2021 (year)", "left office (dismissed)", "Warden", "holder"),
        ("2021-03-02", "arrest or detention", "Aigerim Test arrested", "concerned"),
        ("", "in office (undated)", "Keeper", "holder"),
    ]


# --------------------------------------------------------------------------- figures


def test_figures_give_each_number_with_its_bound_unit_and_source(engine):
    found = {
        (r["about"], r["figure"], r["bound"], r["value"], r["unit"], r["sources"])
        for r in rows(engine, "figures")
    }
    assert (
        "CSTO deployment to Kazakhstan",
        "troop count",
        "exactly",
        "2000",
        "",
        "euronews-2022-01-19",
    ) in found
    sentence = "Murat Bektanov sentenced to 12 years in prison"
    assert any(f[:5] == (sentence, "prison term", "exactly", "12", "year") for f in found)


def test_a_disputed_figure_is_one_row_per_claim_with_that_claims_source(engine):
    depot = [r for r in rows(engine, "figures") if r["about"].startswith("Explosions at the arms")]
    by_value = {r["value"]: r["sources"] for r in depot if r["figure"] == "killed"}
    assert by_value == {
        "12": "the-diplomat-2023-03",
        "15": "astana-times-2021-09",
        "17": "liter-kz-1650463462",
    }


def test_figures_for_one_person_cover_their_events_and_tenures(engine):
    about = {r["about"] for r in rows(engine, "figures", person="Nursultan Nazarbayev")}
    assert about == {
        "Nazarbayev's video denying tensions among the elites",
        "tenure/nursultan-nazarbayev--president-of-kazakhstan",
    }
    assert all("Bektanov" in r["about"] for r in rows(engine, "figures", person="murat-bektanov"))
