"""`kzld serve` over real HTTP on 127.0.0.1: SPARQL protocol, dereferenceable IRIs,
reconciliation, and every refusal the hardening list asks for."""

from __future__ import annotations

import csv
import http.client
import io
import json
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import pyoxigraph as ox
import pytest
from conftest import ROOT, LoopbackServer, subprocess_env

from kzld.loading.graph import load_graph

FIXTURE = Path(__file__).parent / "fixtures" / "web.ttl"
ID = "https://w3id.org/kzld/id/"
KZ = "https://w3id.org/kzld/ontology#"
LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
MINISTERS_QUERY = """
PREFIX kz: <https://w3id.org/kzld/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?person ?name WHERE {
  ?t kz:post <https://w3id.org/kzld/id/post/minister-of-defence> ; kz:holder ?person .
  ?person rdfs:label ?name .
} ORDER BY ?name
"""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fixture_graph():
    return load_graph([FIXTURE])


@pytest.fixture(scope="module")
def server(fixture_graph):
    running = LoopbackServer(fixture_graph, timeout=5)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def bundled_server(bundled_graph):
    running = LoopbackServer(bundled_graph)
    yield running
    running.stop()


def triples(body: bytes, fmt: ox.RdfFormat) -> set[ox.Triple]:
    return {q.triple for q in ox.parse(body, format=fmt)}


def solutions(body: bytes, fmt: ox.QueryResultsFormat) -> list[dict[str, object]]:
    parsed = ox.parse_query_results(body, format=fmt)
    names = [v.value for v in parsed.variables]
    return [{n: s[n] for n in names if s[n] is not None} for s in parsed]


# --- SPARQL protocol --------------------------------------------------------------------


def test_select_json_lists_the_ministers(server, fixture_graph):
    status, headers, body = server.sparql(MINISTERS_QUERY)
    assert status == 200
    assert headers["Content-Type"].startswith("application/sparql-results+json")
    rows = solutions(body, ox.QueryResultsFormat.JSON)
    names = [r["name"].value for r in rows]
    expected = sorted(
        t.object.value
        for t in fixture_graph.triples
        if t.predicate == LABEL
        and t.subject.value.startswith(ID + "person/")
        and t.subject.value != ID + "person/script-kiddie"
    )
    assert names == expected


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        ("application/sparql-results+xml", ox.QueryResultsFormat.XML),
        ("application/xml;q=0.9, text/plain;q=0.1", ox.QueryResultsFormat.XML),
        ("text/tab-separated-values", ox.QueryResultsFormat.TSV),
        ("application/json", ox.QueryResultsFormat.JSON),
    ],
)
def test_select_formats_carry_the_same_solutions(server, accept, fmt):
    reference = solutions(server.sparql(MINISTERS_QUERY)[2], ox.QueryResultsFormat.JSON)
    status, headers, body = server.sparql(MINISTERS_QUERY, accept=accept)
    assert status == 200
    assert headers["Vary"] == "Accept"
    assert solutions(body, fmt) == reference


def test_select_csv(server):
    status, headers, body = server.sparql(MINISTERS_QUERY, accept="text/csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    assert rows[0] == ["person", "name"]
    assert [ID + "person/dauren-kosanov", "Dauren Kosanov"] in rows[1:]


def test_format_parameter_overrides_accept(server):
    status, headers, _ = server.sparql(MINISTERS_QUERY, accept="text/csv", extra="&format=tsv")
    assert status == 200 and headers["Content-Type"].startswith("text/tab-separated-values")
    status, _, body = server.sparql(MINISTERS_QUERY, extra="&format=yaml")
    assert status == 400 and b"unknown format" in body


@pytest.mark.parametrize("method", ["POST-form", "POST-body"])
def test_post_queries(server, method):
    if method == "POST-form":
        status, _, body = server.sparql(MINISTERS_QUERY, method="POST")
    else:
        status, _, body = server.request(
            "POST",
            "/sparql",
            MINISTERS_QUERY.encode(),
            {"Content-Type": "application/sparql-query"},
        )
    assert status == 200
    assert len(solutions(body, ox.QueryResultsFormat.JSON)) == 4


def test_ask(server):
    yes = "ASK { <https://w3id.org/kzld/id/person/murat-bektanov> ?p ?o }"
    no = "ASK { <https://w3id.org/kzld/id/person/nobody> ?p ?o }"
    assert json.loads(server.sparql(yes)[2]) == {"head": {}, "boolean": True}
    assert json.loads(server.sparql(no)[2])["boolean"] is False
    status, _, body = server.sparql(yes, accept="application/sparql-results+xml")
    assert bool(ox.parse_query_results(body, format=ox.QueryResultsFormat.XML)) is True
    assert server.sparql(yes, accept="text/csv")[0] == 406


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        ("text/turtle", ox.RdfFormat.TURTLE),
        ("application/ld+json", ox.RdfFormat.JSON_LD),
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
        (None, ox.RdfFormat.TURTLE),
    ],
)
def test_construct_in_each_rdf_format(server, fixture_graph, accept, fmt):
    query = "CONSTRUCT { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l } WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l }"  # noqa: E501
    status, headers, body = server.sparql(query, accept=accept)
    assert status == 200
    assert (
        headers["Content-Type"].split(";")[0]
        == {
            ox.RdfFormat.TURTLE: "text/turtle",
            ox.RdfFormat.JSON_LD: "application/ld+json",
            ox.RdfFormat.N_TRIPLES: "application/n-triples",
        }[fmt]
    )
    got = triples(body, fmt)
    assert got == {t for t in fixture_graph.triples if t.predicate == LABEL}


def test_describe(server):
    query = "DESCRIBE <https://w3id.org/kzld/id/person/dauren-kosanov>"
    status, _, body = server.sparql(query, accept="application/n-triples")
    assert status == 200
    described = triples(body, ox.RdfFormat.N_TRIPLES)
    assert (
        ox.Triple(
            ox.NamedNode(ID + "person/dauren-kosanov"),
            LABEL,
            ox.Literal("Dauren Kosanov", language="en"),
        )
        in described
    )


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { SERVICE <{remote}> { ?s ?p ?o } }",
        "select * { service silent <{remote}> { ?s ?p ?o } }",
        "SELECT * WHERE { ?s ?p ?o . { SERVICE <{remote}> { ?s ?p ?x } } }",
    ],
)
def test_service_refused_before_any_connection(server, query):
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(1.0)
    remote = f"http://127.0.0.1:{listener.getsockname()[1]}/sparql"
    try:
        status, _, body = server.sparql(query.replace("{remote}", remote))
        assert status == 400
        assert b"SERVICE is refused" in body
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody called the "remote endpoint"
    finally:
        listener.close()


def test_service_as_a_variable_name_is_fine(server):
    status, _, _ = server.sparql("SELECT ?service WHERE { ?service ?p ?o } LIMIT 1")
    assert status == 200


@pytest.mark.parametrize(
    ("target", "body", "content_type"),
    [
        (
            "/sparql",
            "update=" + quote("INSERT DATA { <http://a> <http://b> <http://c> }"),
            "application/x-www-form-urlencoded",
        ),
        ("/sparql", "DROP ALL", "application/sparql-update"),
        (
            "/sparql",
            "query=" + quote("DELETE WHERE { ?s ?p ?o }"),
            "application/x-www-form-urlencoded",
        ),
    ],
)
def test_updates_refused(server, target, body, content_type):
    status, _, answer = server.request("POST", target, body, {"Content-Type": content_type})
    assert status == 400
    assert b"updates are refused" in answer
    # The data is untouched.
    count = server.sparql("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[2]
    assert int(solutions(count, ox.QueryResultsFormat.JSON)[0]["n"].value) > 40


def test_update_get_parameter_refused(server):
    status, _, body = server.get("/sparql?update=" + quote("CLEAR ALL"))
    assert status == 400 and b"read-only" in body


def test_bad_queries(server):
    status, _, body = server.sparql("SELECT WHERE {")
    assert status == 400 and b"syntax error" in body
    assert server.get("/sparql")[0] == 400
    assert server.request("PUT", "/sparql", "x")[0] == 405
    assert server.request("DELETE", "/id/person/murat-bektanov")[0] == 405


def test_oversize_body_refused_unread(server):
    conn = server.connection()
    try:
        conn.putrequest("POST", "/sparql")
        conn.putheader("Content-Type", "application/sparql-query")
        conn.putheader("Content-Length", str(64 << 20))
        conn.endheaders()
        conn.send(b"SELECT * WHERE { ?s ?p ?o }")  # far less than announced: never read
        response = conn.getresponse()
        assert response.status == 413
        assert b"request body over" in response.read()
    finally:
        conn.close()


def test_post_without_length_refused(server):
    conn = server.connection()
    try:
        conn.putrequest("POST", "/sparql")
        conn.putheader("Content-Type", "application/sparql-query")
        conn.endheaders()
        response = conn.getresponse()
        assert response.status == 411
    finally:
        conn.close()


def test_overlong_target_refused(server):
    status, _, _ = server.get("/sparql?query=" + "x" * 20_000)
    assert status == 414


def test_result_limit_cuts_and_says_so(fixture_graph):
    small = LoopbackServer(fixture_graph, max_rows=3)
    try:
        status, headers, body = small.sparql("SELECT * WHERE { ?s ?p ?o }")
        assert status == 200
        assert len(solutions(body, ox.QueryResultsFormat.JSON)) == 3
        assert "3 rows" in headers["Kzld-Truncated"]
    finally:
        small.stop()


def test_runaway_query_stopped_at_the_timeout(fixture_graph):
    quick = LoopbackServer(fixture_graph, timeout=0.1)
    try:
        # 62 ** 4 combinations to count: seconds of work, against a tenth of a second.
        runaway = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
        status, _, body = quick.sparql(runaway)
        assert status == 503
        assert b"time limit" in body
    finally:
        quick.stop()


def test_requests_beyond_the_connection_limit_get_503(fixture_graph):
    tight = LoopbackServer(fixture_graph, connections=1)
    hog = socket.create_connection((tight.host, tight.port))
    try:
        hog.sendall(b"GET / HTTP/1.0\r\n")  # an unfinished request holds the only slot
        status, headers, body = tight.get("/sparql?query=ASK%7B%7D")
        assert status == 503
        assert headers["Retry-After"] == "1"
    finally:
        hog.close()
        tight.stop()


# --- dereferenceable IRIs -----------------------------------------------------------------


def test_entity_html_has_labels_facts_quotes_and_incoming_links(server):
    status, headers, body = server.get("/id/person/murat-bektanov", accept="text/html")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    html = body.decode("utf-8")
    assert "<h1>Murat Bektanov</h1>" in html
    assert "Bektanov" in html.split("Also known as", 1)[1]
    assert 'href="/id/event/arrest-of-murat-bektanov"' in html  # an incoming link
    tenure = server.get("/id/tenure/murat-bektanov--minister-of-defence")[2].decode()
    assert "Bektanov was &lt;b&gt;dismissed&lt;/b&gt; on 19 January" in tenure
    assert 'href="/id/source/test-source-2023"' in tenure


def test_literals_are_html_escaped(server):
    html = server.get("/id/person/script-kiddie")[2].decode("utf-8")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    comment = server.get("/id/person/murat-bektanov")[2].decode("utf-8")
    assert "<script>" not in comment
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt; &amp; &quot;more&quot;" in comment
    preview = server.get("/reconcile/preview?id=" + quote(ID + "person/script-kiddie"))[2]
    assert b"<script>" not in preview


@pytest.mark.parametrize(
    ("how", "fmt"),
    [
        ({"accept": "text/turtle"}, ox.RdfFormat.TURTLE),
        ({"accept": "application/ld+json"}, ox.RdfFormat.JSON_LD),
        ({"accept": "application/n-triples;q=1, text/html;q=0.5"}, ox.RdfFormat.N_TRIPLES),
        ({"suffix": ".ttl"}, ox.RdfFormat.TURTLE),
        ({"suffix": ".jsonld"}, ox.RdfFormat.JSON_LD),
        ({"suffix": ".nt"}, ox.RdfFormat.N_TRIPLES),
    ],
)
def test_entity_rdf_by_negotiation_and_suffix(server, fixture_graph, how, fmt):
    iri = ID + "tenure/murat-bektanov--minister-of-defence"
    target = "/id/tenure/murat-bektanov--minister-of-defence" + how.get("suffix", "")
    status, _, body = server.get(target, accept=how.get("accept", "text/html"))
    assert status == 200
    got = triples(body, fmt)
    subject = ox.NamedNode(iri)
    own = {t for t in fixture_graph.triples if t.subject == subject}
    assert own <= got
    # The citation written as a blank node travels with it, quote included.
    quotes = {t.object.value for t in got if t.predicate.value == KZ + "quote"}
    assert quotes == {"Bektanov was <b>dismissed</b> on 19 January"}
    # Nothing about other entities.
    assert {t.subject for t in got if t.subject.value.startswith(ID)} == {subject}


def test_entity_errors(server):
    assert server.get("/id/person/nobody")[0] == 404
    assert server.get("/id/person/murat-bektanov", accept="image/png")[0] == 406
    assert server.get("/nothing-here")[0] == 404


@pytest.mark.parametrize(
    "target",
    [
        "/id/../../etc/passwd",
        "/id/person/../../../etc/passwd",
        "/id/%2e%2e/%2e%2e/etc/passwd",
        "/id/person/..%2f..%2fetc%2fpasswd",
        "/id/person/%5c..%5cwin.ini",
        "/id/person/x%00.ttl",
        "/.well-known/genid/..%2f..%2f",
    ],
)
def test_path_traversal_refused(server, target):
    status, _, body = server.get(target)
    assert status == 400
    assert b"path refused" in body
    assert b"root:" not in body


# --- reconciliation ---------------------------------------------------------------------


def test_reconcile_manifest(server):
    status, headers, body = server.get("/reconcile")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    manifest = json.loads(body)
    assert "0.2" in manifest["versions"]
    assert manifest["identifierSpace"] == ID
    assert manifest["schemaSpace"] == KZ
    assert manifest["defaultTypes"] == [{"id": KZ + "Person", "name": "person"}]
    base = f"http://{server.host}:{server.port}"
    assert manifest["preview"]["url"] == base + "/reconcile/preview?id={{id}}"
    assert "{{id}}" in manifest["view"]["url"]
    suggest = manifest["suggest"]["entity"]
    assert suggest["service_url"] + suggest["service_path"] == base + "/reconcile/suggest/entity"


def _reconcile(server, queries, method="GET"):
    form = urlencode({"queries": json.dumps(queries)})
    if method == "GET":
        status, _, body = server.get("/reconcile?" + form)
    else:
        status, _, body = server.request(
            "POST", "/reconcile", form, {"Content-Type": "application/x-www-form-urlencoded"}
        )
    assert status == 200, body
    return json.loads(body)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_reconcile_batch_shapes_and_spellings(server, method):
    answer = _reconcile(
        server,
        {
            "q0": {"query": "Zhaqsylyqov"},  # a spelling the fixture does not hold
            "q1": {"query": "  BEKTANÓV "},  # case, accents, spaces
            "q2": {"query": "жаксылыков руслан", "limit": 1},  # a Cyrillic alternative label
            "q3": {"query": "defence minister", "type": KZ + "Post"},
        },
        method,
    )
    assert set(answer) == {"q0", "q1", "q2", "q3"}
    for value in answer.values():
        assert list(value) == ["result"]
        for candidate in value["result"]:
            assert set(candidate) == {"id", "name", "score", "match", "type"}
            assert isinstance(candidate["score"], float) and 0 < candidate["score"] <= 100
            assert all(set(t) == {"id", "name"} for t in candidate["type"])
    top = {key: value["result"][0] for key, value in answer.items()}
    assert top["q0"]["id"] == ID + "person/ruslan-zhaksylykov"
    assert top["q0"]["match"] is False  # a close spelling is a candidate, not a match
    assert top["q1"]["id"] == ID + "person/murat-bektanov" and top["q1"]["match"] is True
    assert top["q1"]["score"] == 100.0
    assert [c["id"] for c in answer["q2"]["result"]] == [ID + "person/ruslan-zhaksylykov"]
    assert top["q3"]["id"] == ID + "post/minister-of-defence"
    assert all(c["type"][0]["id"] == KZ + "Post" for c in answer["q3"]["result"])
    scores = [c["score"] for c in answer["q0"]["result"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    "queries",
    [
        "not json",
        "[1, 2]",
        json.dumps({"q0": {"limit": 3}}),
        json.dumps({"q0": {"query": "x", "limit": -1}}),
    ],
)
def test_reconcile_bad_batches(server, queries):
    status, _, body = server.get("/reconcile?" + urlencode({"queries": queries}))
    assert status == 400
    assert body.startswith(b"kzld: error: ")


def test_reconcile_preview_and_suggest(server):
    status, _, body = server.get("/reconcile/preview?id=" + quote(ID + "person/murat-bektanov"))
    assert status == 200 and b"Murat Bektanov" in body
    assert server.get("/reconcile/preview?id=" + quote(ID + "person/nobody"))[0] == 404
    status, _, body = server.get("/reconcile/suggest/entity?prefix=bek")
    result = json.loads(body)["result"]
    assert result[0]["id"] == ID + "person/murat-bektanov"
    assert all(" bek" in " " + r["name"].casefold() for r in result)
    assert ID + "person/ruslan-zhaksylykov" not in {r["id"] for r in result}
    assert set(result[0]) == {"id", "name", "description"}
    status, headers, _ = server.get("/reconcile/view?id=" + quote(ID + "person/murat-bektanov"))
    assert status == 303 and headers["Location"] == "/id/person/murat-bektanov"


# --- the bundled data: what the issue calls done --------------------------------------------


def test_done_when_on_the_bundled_data(bundled_server, bundled_graph):
    status, _, body = bundled_server.sparql(MINISTERS_QUERY)
    names = {r["name"].value for r in solutions(body, ox.QueryResultsFormat.JSON)}
    assert {"Murat Bektanov", "Ruslan Zhaksylykov"} <= names
    html = bundled_server.get("/id/person/murat-bektanov", accept="text/html")[2].decode()
    assert "<h1>Murat Bektanov</h1>" in html
    turtle = bundled_server.get("/id/person/murat-bektanov", accept="text/turtle")[2]
    subject = ox.NamedNode(ID + "person/murat-bektanov")
    got = triples(turtle, ox.RdfFormat.TURTLE)
    assert {t for t in bundled_graph.triples if t.subject == subject} <= got
    answer = _reconcile(bundled_server, {"q0": {"query": "Zhaqsylyqov", "type": KZ + "Person"}})
    assert answer["q0"]["result"][0]["id"] == ID + "person/ruslan-zhaksylykov"


# --- the command ------------------------------------------------------------------------


def test_serve_command_binds_loopback_by_default():
    child = subprocess.Popen(
        [sys.executable, "-m", "kzld", "serve", "--data", str(FIXTURE), "--port", "0", "-q"],
        cwd=ROOT,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline()
        url = urlsplit(line.split(" at ", 1)[1].strip())
        assert url.hostname == "127.0.0.1"
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        conn.request("GET", "/sparql?" + urlencode({"query": "ASK { ?s ?p ?o }"}))
        assert json.loads(conn.getresponse().read())["boolean"] is True
        conn.close()
    finally:
        child.terminate()
        child.wait(timeout=30)
        child.stdout.close()
        child.stderr.close()


def test_serve_command_reports_a_taken_port(kzld):
    taken = socket.create_server(("127.0.0.1", 0))
    try:
        port = taken.getsockname()[1]
        result = kzld("serve", "--data", FIXTURE, "--port", port)
        assert result.exit_code == 2
        assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
        assert "hint:" in result.stderr
    finally:
        taken.close()
