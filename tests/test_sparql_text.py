"""The SPARQL lexer and the read-only check: each escape found so far, a property-based
search for more, and differential tests against rdflib's parser and pyoxigraph itself."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kzld.errors import UsageError
from kzld.querying import queries
from kzld.sparql_text import (
    blank_strings_and_comments,
    check_read_only,
    expand_codepoints,
    query_form,
    tokens,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
# pyoxigraph refuses port 1 before opening any connection: a query that raises this error
# was parsed with a SERVICE and evaluated it, without any network access.
REFUSED_PORT = "http://127.0.0.1:1/"
PORT_ERROR = "port 1 is not allowed"


def kinds(text: str) -> list[tuple[str, str]]:
    return [(t.kind, t.text) for t in tokens(text)]


def refused(text: str) -> bool:
    try:
        check_read_only(text)
    except UsageError:
        return True
    return False


# --------------------------------------------------------------------------- the lexer


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1.", [("number", "1"), ("punct", ".")]),
        (".5", [("number", ".5")]),
        ("1.e5 1e-3 .5E+2 1.5", [("number", n) for n in ("1.e5", "1e-3", ".5E+2", "1.5")]),
        ("false.SERVICE", [("word", "false"), ("punct", "."), ("word", "SERVICE")]),
        ("ex:a.b.", [("pname", "ex:a.b"), ("punct", ".")]),
        (r"ex:a\.b\#c%41", [("pname", r"ex:a\.b\#c%41")]),
        ("ex: :x", [("pname", "ex:"), ("pname", ":x")]),
        ("<http://e/#x> # c", [("iri", "<http://e/#x>"), ("comment", "# c")]),
        ("\"a#b\" 'c\\'d'", [("string", '"a#b"'), ("string", "'c\\'d'")]),
        ('"""a""b"""', [("string", '"""a""b"""')]),
        ("'''a'''' x", [("string", "'''a'''"), ("error", "'"), ("word", "x")]),
        ('"x"^^xsd:int', [("string", '"x"'), ("punct", "^^"), ("pname", "xsd:int")]),
        ('"x"@en-GB', [("string", '"x"'), ("langtag", "@en-GB")]),
        ("?x $y a _:b.", [("var", "?x"), ("var", "$y"), ("word", "a"), ("bnode", "_:b")]),
        ("#x\rSERVICE", [("comment", "#x"), ("word", "SERVICE")]),
        ('"a\nb"', [("error", '"'), ("word", "a"), ("word", "b"), ("error", '"')]),
    ],
)
def test_terminals(text, expected):
    assert kinds(text)[: len(expected)] == expected


def test_tokens_carry_offsets_and_lines():
    found = list(tokens('SELECT\n  ?x # c\n"s"'))
    assert [(t.kind, t.start, t.line) for t in found] == [
        ("word", 0, 1),
        ("var", 9, 2),
        ("comment", 12, 2),
        ("string", 16, 3),
    ]


def test_blanking_keeps_positions_and_lines():
    text = 'SELECT ?x { ?x ?p "SERVICE\\"" } # FROM\n<http://e/#a>'
    blank = blank_strings_and_comments(text)
    assert len(blank) == len(text) and blank.count("\n") == 1
    assert "SERVICE" not in blank and "FROM" not in blank and "<http://e/#a>" in blank


def test_the_lexer_is_linear_on_hostile_input():
    import time

    for text in ("a." * 200_000, "'''" + "a'" * 200_000, '"""' * 100_000, "<a" * 100_000):
        began = time.perf_counter()
        list(tokens(text))
        assert time.perf_counter() - began < 10


# --------------------------------------------------------------------------- the escapes

ESCAPES = [
    # issue 16, item 1: the lexer read false.SERVICE as one word
    f"SELECT * WHERE {{ ?s ?p false.SERVICE SILENT <{REFUSED_PORT}x> {{ ?a ?b ?c }} }} LIMIT 1",
    f"SELECT * WHERE {{ ?s ?p true.SERVICE <{REFUSED_PORT}x> {{ ?a ?b ?c }} }}",
    # pyoxigraph matches keywords with no word boundary
    f"SELECT * WHERE {{ ?s ?p falseSERVICE <{REFUSED_PORT}> {{ ?a ?b ?c }} }}",
    f"SELECT * WHERE {{ SERVICESILENT<{REFUSED_PORT}>{{ ?a ?b ?c }} }}",
    f"SELECT * WHERE {{ ?s ?p 1SERVICE <{REFUSED_PORT}> {{ ?a ?b ?c }} }}",
    f"SELECT * WHERE {{ ?s ?p 1.SERVICE <{REFUSED_PORT}> {{ ?a ?b ?c }} }}",
    f"PREFIX : <{REFUSED_PORT}> SELECT * WHERE {{ SERVICE:x {{ ?a ?b ?c }} }}",
    f"PREFIX : <{REFUSED_PORT}> SELECT * WHERE {{ ?s ?p falseSERVICE:x {{ ?a ?b ?c }} }}",
    f"PREFIX ex: <http://e/> SELECT * WHERE {{ ?s ?p ex:o. SERVICE <{REFUSED_PORT}> {{}} }}",
    f'SELECT * WHERE {{ ?s ?p "x"@en SERVICE <{REFUSED_PORT}> {{ ?a ?b ?c }} }}',
    f"SELECT * WHERE {{ ?s ?p [] SERVICE <{REFUSED_PORT}> {{ ?a ?b ?c }} }}",
    f"SELECT * WHERE {{ ?s ?p ?o #x\rSERVICE <{REFUSED_PORT}> {{ ?a ?b ?c }} }}",
    f"SELECT*WHERE{{SERVICE<{REFUSED_PORT}>{{?a?b?c}}}}",
    f"SELECT * WHERE {{ {{ SELECT * {{ SERVICE <{REFUSED_PORT}> {{ ?a ?b ?c }} }} }} }}",
    # '<' read as less-than by the engine, as an IRIREF by a lexer
    f"PREFIX : <{REFUSED_PORT}> SELECT * {{ BIND(1 AS ?a) FILTER(?a<2)SERVICE:x#>\n{{?a ?b ?c}} }}",
    # rdflib expands codepoint escapes before it parses
    f"SELECT * WHERE {{ \\u0053ERVICE <{REFUSED_PORT}> {{ ?a ?b ?c }} }}",
    # the dataset clause and updates
    f"SELECT * FROM <{REFUSED_PORT}> WHERE {{ ?a ?b ?c }}",
    f"SELECT * FROM NAMED<{REFUSED_PORT}>WHERE {{ ?a ?b ?c }}",
    f"PREFIX : <{REFUSED_PORT}> SELECT * FROM:g WHERE {{ ?a ?b ?c }}",
    f"LOAD <{REFUSED_PORT}>",
    "INSERT DATA { <http://e/s> <http://e/p> 1 }",
    "PREFIX ex: <http://e/> DELETE WHERE { ?s ?p ?o }",
    "CLEAR ALL",
    "DROP SILENT GRAPH <http://e/g>",
    "WITH <http://e/g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "SELECT * {} ; ADD DEFAULT TO <http://e/g>",
]


@pytest.mark.parametrize("text", ESCAPES)
def test_each_escape_is_refused(text):
    with pytest.raises(UsageError, match=r"^the query:\d+: \w+.* is refused: "):
        check_read_only(text)


@pytest.fixture(scope="module")
def store() -> ox.Store:
    """One triple of each kind of object, so that every pattern above has a match."""
    found = ox.Store()
    found.load(
        b'<http://e/s> <http://e/p> false, true, 1, "x"@en, <http://e/o>, [] .',
        format=ox.RdfFormat.TURTLE,
    )
    return found


def outcome(store: ox.Store, text: str) -> str:
    """What pyoxigraph does with the text: 'syntax', 'service' (it ran a SERVICE) or 'ran'."""
    try:
        answer = store.query(text)
        if isinstance(answer, ox.QuerySolutions | ox.QueryTriples):
            list(answer)
    except SyntaxError:
        return "syntax"
    except OSError as err:
        return "service" if PORT_ERROR in str(err) else "ran"
    except Exception:  # noqa: BLE001 - any evaluation error means no SERVICE was sent
        return "ran"
    return "ran"


def test_the_escapes_are_real(store):
    """The SERVICE escapes above do reach pyoxigraph's HTTP client when not refused
    (SILENT ones too, but then pyoxigraph keeps the failure to itself)."""
    service = [t for t in ESCAPES if "SERVICE" in t and "\\u0053" not in t]
    service = [t for t in service if "SILENT" not in t]
    assert [t for t in service if outcome(store, t) != "service"] == []


@pytest.mark.parametrize(
    "text",
    [
        "# SERVICE and FROM in a comment\nPREFIX from: <http://example.org/service/>\n"
        'SELECT ?s WHERE { ?s ?p "DROP ALL; SERVICE" . ?s from:load <urn:from> }',
        "SELECT ?service ?from WHERE { ?service <http://e/load> ?from }",
        "PREFIX ex: <http://e/> SELECT * { ?s ex:SERVICE ?o ; ex:from.service ?x }",
        "SELECT * { ?s ?p '''SERVICE <x> {}''' . ?s ?p \"\"\"FROM\"\"\" }",
        'SELECT * { ?s ?p "\\"SERVICE" }',
        "SELECT * { ?s <http://e/service/x> ?o FILTER(?o < 3 && ?o > 1) }",
        "ASK { ?s ?p ?o }",
    ],
)
def test_read_only_queries_pass(text):
    check_read_only(text)


def test_allow_lets_a_keyword_through():
    text = "SELECT * FROM <http://e/g> WHERE { ?s ?p ?o }"
    check_read_only(text, allow=frozenset({"FROM"}))
    with pytest.raises(UsageError):
        check_read_only(text, allow=frozenset({"SERVICE"}))


def test_the_message_names_origin_line_and_prefix():
    with pytest.raises(UsageError) as caught:
        check_read_only("PREFIX : <http://e/>\nSELECT * {\n SERVICE:x {} }", "q.rq")
    assert caught.value.message.startswith("q.rq:3: SERVICE (in 'SERVICE:x') is refused")
    assert "rename the prefix" in caught.value.hint


def test_query_form_and_the_old_import_path():
    assert query_form("PREFIX a: <http://e/> ASK {}") == "ASK"
    assert query_form("# SELECT\nCONSTRUCT WHERE { ?s ?p ?o }") == "CONSTRUCT"
    assert queries.check_read_only is check_read_only
    with pytest.raises(UsageError, match="not ASK"):
        queries.run_text("ASK {}", None)


def test_codepoint_escapes_expand_as_rdflib_does():
    from rdflib.plugins.sparql.parser import expandUnicodeEscapes

    text = r"SELECT ('\u0041\U0001F600\\u0042' AS ?x) { \u0053ERVICE }"
    assert expand_codepoints(text) == expandUnicodeEscapes(text)


# --------------------------------------------------------------------------- property-based

_CASE = st.sampled_from([str.upper, str.lower, str.title, lambda w: w[0].lower() + w[1:]])
_SEPARATOR = st.sampled_from([" ", "\t", "\n", "\r", "\r\n", " #c\n", "#c\r", "", "  "])
# What may stand before a graph pattern inside a group: every kind of term ending a triple,
# the punctuation between patterns, and the openings of nested groups.
_BEFORE = st.sampled_from(
    [
        "",
        "?s ?p ?o",
        "?s ?p ?o .",
        "?s ?p false",
        "?s ?p true.",
        "?s ?p 1",
        "?s ?p 1.",
        "?s ?p 1.5e3",
        "?s ?p .5",
        '?s ?p "x"',
        '?s ?p "x"@en',
        '?s ?p "x"^^<http://www.w3.org/2001/XMLSchema#string>',
        "?s ?p '''x'''",
        "?s ?p <http://e/o>",
        "?s ?p ex:o",
        "?s ?p ex:o.",
        "?s ?p _:b",
        "?s ?p []",
        "?s ?p ()",
        "?s ?p ?o ;",
        "?s ?p ?o , ?o2",
        "?s a ex:C",
        "OPTIONAL {",
        "MINUS {",
        "{ ?s ?p ?o } UNION {",
        "GRAPH ?g {",
        "FILTER EXISTS {",
        "FILTER NOT EXISTS {",
        "FILTER(?o)",
        "BIND(1 AS ?x)",
        "{ SELECT * WHERE {",
        "VALUES ?x { 1 }",
    ]
)


def _closing(before: str) -> str:
    return "}" * (before.count("{") - before.count("}"))


# These end in a name the grammar would extend with letters glued to it (?oSERVICE is a
# variable): a keyword after them needs a separator.
_ENDS_IN_NAME = ("?o", "ex:o", "ex:o.", "_:b", "@en", "ex:C", "?o2")


@st.composite
def hidden_service(draw) -> str:
    before, gap = draw(_BEFORE), draw(_SEPARATOR)
    if not gap and before.endswith(_ENDS_IN_NAME):
        gap = " "
    keyword = draw(_CASE)("SERVICE")
    silent = draw(st.sampled_from(["", " SILENT", "SILENT", " silent"]))
    target = draw(st.sampled_from([f"<{REFUSED_PORT}>", ":x", " :x", " ?v", f" <{REFUSED_PORT}>"]))
    return (
        f"PREFIX ex: <http://e/> PREFIX : <{REFUSED_PORT}>\nSELECT * WHERE {{ {before}{gap}"
        f"{keyword}{silent}{target} {{ ?a ?b ?c }} {_closing(before)} }}"
    )


# Where a dataset clause or an update keyword stands, with the keywords it may be.
_OUTSIDE = [
    ("SELECT * {k}{g}<http://e/g> WHERE {{ ?s ?p ?o }}", ["FROM"]),
    ("SELECT * {k} NAMED{g}<http://e/g> WHERE {{ ?s ?p ?o }}", ["FROM"]),
    ("CONSTRUCT {{ ?s ?p ?o }}{g}{k}<http://e/g> WHERE {{ ?s ?p ?o }}", ["FROM"]),
    ("ASK{g}{k}<http://e/g>{{}}", ["FROM"]),
    ("{k}{g}<http://e/doc>", ["LOAD"]),
    ("{k} DATA{g}{{ <http://e/s> <http://e/p> 1 }}", ["INSERT", "DELETE"]),
    ("PREFIX ex: <http://e/>{g}{k}{g}WHERE {{ ?s ?p ?o }}", ["DELETE"]),
    ("{k}{g}ALL", ["CLEAR", "DROP"]),
    ("{k} SILENT{g}GRAPH <http://e/g>", ["DROP", "CREATE", "CLEAR"]),
    ("{k}{g}DEFAULT TO <http://e/g>", ["ADD", "MOVE", "COPY"]),
    ("{k}{g}<http://e/g> DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}", ["WITH"]),
    ("SELECT * {{}} ;{g}{k}{g}<http://e/doc>", ["LOAD"]),
]


@st.composite
def hidden_update_or_dataset(draw) -> str:
    form, keywords = draw(st.sampled_from(_OUTSIDE))
    keyword = draw(_CASE)(draw(st.sampled_from(keywords)))
    return form.format(k=keyword, g=draw(_SEPARATOR))


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(text=hidden_service())
def test_service_in_every_position_is_refused(store, text):
    assert refused(text), text


@FUZZ
@given(text=hidden_service().map(lambda t: t.replace("?o ", "?o").replace("@en ", "@en")))
def test_glued_to_a_name_is_refused_or_harmless(store, text):
    """A keyword glued to a variable or a name: refused, or pyoxigraph runs no SERVICE."""
    if not refused(text):
        assert outcome(store, text) != "service", text


@FUZZ
@given(text=hidden_update_or_dataset())
def test_updates_and_dataset_clauses_are_refused(text):
    assert refused(text), text


# Characters that open or close the grammar's opaque terminals, and a few to fill them.
_RISKY = st.text(alphabet=list("\"'\\#<>\r\n :.)(x?$@_{}^"), max_size=12)


@settings(max_examples=400, deadline=None)
@given(head=_RISKY, tail=_RISKY)
@example(head="FILTER(?s<?o)", tail="#>\n")
@example(head='"', tail='"')
@example(head="<", tail=">")
@example(head="#", tail="")
def test_no_accepted_query_makes_pyoxigraph_run_service(store, head, tail):
    """The executor itself as the oracle: whatever the lexer lets through never makes
    pyoxigraph evaluate a SERVICE (it would fail on port 1 before any connection)."""
    text = (
        f"PREFIX : <{REFUSED_PORT}> SELECT * WHERE {{ ?s ?p ?o {head}SERVICE:x"
        f"{{ ?a ?b ?c }}{tail} }}"
    )
    text_b = f"SELECT * WHERE {{ ?s ?p ?o . {head} SERVICE <{REFUSED_PORT}> {{}} {tail} }}"
    for query in (text, text_b):
        if not refused(query):
            assert outcome(store, query) != "service", query


# --------------------------------------------------------------------------- differential


def _rdflib_reading(text: str) -> str | None:
    """What rdflib's parser makes of the text: 'service', 'dataset', 'update', 'plain',
    or None where it does not parse."""
    from pyparsing import ParseException
    from rdflib.plugins.sparql import algebra
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    try:
        tree = parseQuery(text)
    except ParseException:
        try:
            parseUpdate(text)
        except ParseException:
            return None
        return "update"
    except Exception:  # noqa: BLE001 - rdflib raises others on odd input
        return None
    clause = tree[1].get("datasetClause")  # rdflib's CompValue answers its key when absent
    if clause and not isinstance(clause, str):
        return "dataset"
    try:
        translated = algebra.translateQuery(tree)
    except Exception:  # noqa: BLE001 - an undefined prefix and the like
        return None
    found: list[str] = []
    algebra.traverse(
        translated.algebra,
        visitPre=lambda node: (
            found.append("service")
            if getattr(node, "name", None) == "ServiceGraphPattern"
            else None
        ),
    )
    return "service" if found else "plain"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(hidden_service(), hidden_update_or_dataset()),
)
def test_rdflib_agrees_on_generated_queries(text):
    """Where rdflib's parser reads a SERVICE, a dataset clause or an update, the check
    refuses; the check may refuse more (pyoxigraph's keywords have no word boundary)."""
    if _rdflib_reading(text) in {"service", "dataset", "update"}:
        assert refused(text), text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=_BEFORE,
    hidden=st.sampled_from(
        [
            '"SERVICE <x> {}"',
            "'''FROM <g> ; DROP ALL'''",
            '"a\\"SERVICE"',
            "<http://e/SERVICE>",
            "?service",
            "ex:SERVICE",
            '"x"@en',
        ]
    ),
)
def test_rdflib_agrees_on_hidden_keywords(before, hidden):
    """Keywords inside strings, IRIs, variables and local names: rdflib reads a plain query
    and the check lets it through."""
    text = f"PREFIX ex: <http://e/> SELECT * WHERE {{ {before} ?x ?y {hidden} {_closing(before)} }}"
    if _rdflib_reading(text) == "plain":
        assert not refused(text), text


def _real_queries() -> list[Path]:
    found = sorted((ROOT / "queries").rglob("*.rq"))
    assert found
    return found


@pytest.mark.parametrize("path", _real_queries(), ids=lambda p: p.name)
def test_every_shipped_query_passes_and_rdflib_reads_it_plain(path):
    text = path.read_text(encoding="utf-8")
    check_read_only(text, str(path))
    assert _rdflib_reading(text) == "plain"


def _w3c_sparql() -> list[str]:
    """The SELECT queries of the W3C SHACL-SPARQL test suite (sh:select values)."""
    folder = SHARED / "w3c" / "shacl-test-suite"
    if not folder.is_dir():
        return []
    import rdflib

    found: list[str] = []
    select = rdflib.URIRef("http://www.w3.org/ns/shacl#select")
    for path in sorted(folder.rglob("*.ttl")):
        if "sparql" not in str(path):
            continue
        graph = rdflib.Graph().parse(path, format="turtle")
        found.extend(str(o) for o in graph.objects(None, select))
    return found


def test_w3c_sparql_constraints_pass_and_agree_with_rdflib():
    texts = _w3c_sparql()
    if not texts:
        pytest.skip("../shared/w3c/shacl-test-suite is absent")
    prologue = "PREFIX ex: <http://datashapes.org/sh/tests/> "
    prologue += "PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> "
    prologue += "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
    checked = 0
    for text in texts:
        reading = _rdflib_reading(prologue + text)
        if reading is None:
            continue
        checked += 1
        assert refused(prologue + text) == (reading != "plain"), text
    assert checked > 0
