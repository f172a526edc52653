"""`kzld serve` under load and abuse, over real sockets on 127.0.0.1: queries stopped in
their worker processes, a quick lane that runaway queries cannot take, truthful cut
answers, slow and oversized clients, odd requests that still get an answer, bounded
reconciliation, and a build's files served byte for byte."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import pyoxigraph as ox
import pytest
from conftest import ROOT, LoopbackServer, subprocess_env

from kzld.loading.graph import load_graph

FIXTURE = Path(__file__).parent / "fixtures" / "web.ttl"
ID = "https://w3id.org/kzld/id/"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o }"
MEMORY_HOG = "SELECT * { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l } ORDER BY ?c ?f ?i ?l"
ASK = "ASK { <https://w3id.org/kzld/id/person/murat-bektanov> ?p ?o }"

pytestmark = pytest.mark.slow


def workers(server: LoopbackServer) -> set[int]:
    """The worker processes alive now: the children of the zygote."""
    zygote = server.httpd.site.pool.zygote
    found = set()
    for task in Path(f"/proc/{zygote}/task").iterdir():
        found |= {int(p) for p in (task / "children").read_text().split()}
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def graph():
    return load_graph([FIXTURE])


@pytest.fixture(scope="module")
def server(graph):
    running = LoopbackServer(
        graph, timeout=4, quick=0.5, memory=256, max_rows=5, header_timeout=1.5, body_timeout=1.5
    )
    yield running
    running.stop()


def in_background(call, *args):
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", call(*args)))
    thread.start()
    return thread, box


# --- workers: stopped, not abandoned -----------------------------------------------------------


def test_a_runaway_query_is_stopped_and_its_worker_killed(server):
    before = workers(server)
    started = time.monotonic()
    status, headers, body = server.sparql(RUNAWAY)
    took = time.monotonic() - started
    assert status == 503
    assert b"ran past the 4 s time limit" in body and b"worker process killed" in body
    assert headers["Retry-After"] == "1"
    assert 3.9 < took < 6
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and before <= workers(server):
        time.sleep(0.05)
    gone = before - workers(server)
    assert len(gone) == 1 and not any(alive(pid) for pid in gone)
    # A fresh worker took its place, and answers.
    assert server.sparql(ASK)[0] == 200
    assert len(workers(server)) == 4


def test_a_query_past_its_memory_cap_is_stopped_and_the_server_lives(server):
    status, _, body = server.sparql(MEMORY_HOG)
    assert status == 503
    assert b"256 MiB memory allowed to one query" in body
    assert server.sparql(ASK)[0] == 200


def test_an_ask_is_answered_at_once_while_two_runaways_run(server):
    other = RUNAWAY.replace("COUNT(*)", "COUNT(DISTINCT ?a)")
    hogs = [in_background(server.sparql, q) for q in (RUNAWAY, other)]
    time.sleep(0.8)  # both are past the quick lane's half second: both hold long lanes
    try:
        for _ in range(5):
            started = time.monotonic()
            status, _, body = server.sparql(ASK)
            assert status == 200 and json.loads(body)["boolean"] is True
            assert time.monotonic() - started < 1.0
        # A third long query finds no long lane: stopped at the quick limit, and told why.
        started = time.monotonic()
        status, _, body = server.sparql(RUNAWAY.replace("?o }", "?o . ?x ?y ?z }"))
        assert status == 503 and b"lanes for long queries were taken" in body
        assert time.monotonic() - started < 2.0
    finally:
        for thread, _ in hogs:
            thread.join(30)
    assert all(box["result"][0] == 503 for _, box in hogs)


def test_a_client_that_leaves_has_its_query_killed(server):
    before = workers(server)
    raw = socket.create_connection((server.host, server.port))
    raw.sendall(f"GET /sparql?query={quote(RUNAWAY)} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    time.sleep(0.3)
    raw.close()
    deadline = time.monotonic() + 2.5  # well before the query's own 4 s deadline
    while time.monotonic() < deadline and before <= workers(server):
        time.sleep(0.05)
    assert not before <= workers(server), "the worker of an abandoned query still runs"


# --- answers: pyoxigraph's serializers, cut answers say so ---------------------------------------


def test_a_cut_answer_says_so_in_the_header_and_in_the_body(server):
    everything = "SELECT * WHERE { ?s ?p ?o }"
    status, headers, body = server.sparql(everything)
    assert status == 200
    assert headers["Kzld-Truncated"] == "answer cut at 5 rows"
    assert headers["Kzld-Rows"] == "5"
    parsed = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
    assert len(list(parsed)) == 5
    link = json.loads(body)["head"]["link"]
    assert link == [f"http://{server.host}:{server.port}/sparql/limits"]
    status, _, limits = server.get("/sparql/limits")
    assert status == 200 and b"at most 5 solutions or triples" in limits
    xml = server.sparql(everything, accept="application/sparql-results+xml")[2]
    assert len(list(ox.parse_query_results(xml, format=ox.QueryResultsFormat.XML))) == 5
    assert b"/sparql/limits" in xml and b"answer cut at 5 rows" in xml
    turtle = server.sparql("CONSTRUCT WHERE { ?s ?p ?o }", accept="text/turtle")[2]
    assert turtle.startswith(b"# kzld: answer cut at 5 triples")
    assert len(list(ox.parse(turtle, format=ox.RdfFormat.TURTLE))) == 5
    # An answer within the cap says nothing of the sort.
    status, headers, body = server.sparql("SELECT * WHERE { ?s ?p ?o } LIMIT 2")
    assert "Kzld-Truncated" not in headers and "link" not in json.loads(body)["head"]


def test_a_large_answer_is_streamed(graph):
    big = LoopbackServer(graph, max_rows=100_000)
    try:
        query = "SELECT ?s ?p ?o ?x WHERE { ?s ?p ?o . ?x ?y ?z . ?a ?b ?c } LIMIT 40000"
        status, headers, body = big.sparql(query, accept="text/tab-separated-values")
        assert status == 200
        assert headers["Transfer-Encoding"] == "chunked"
        rows = list(ox.parse_query_results(body, format=ox.QueryResultsFormat.TSV))
        assert len(rows) == 40000 == int(headers["Kzld-Rows"])
    finally:
        big.stop()


# --- HTTP: keep-alive, slow and oversized clients, odd requests -----------------------------------


def test_http_1_1_keep_alive(server):
    conn = server.connection()
    try:
        sockets = set()
        for _ in range(3):
            conn.request("GET", "/sparql?" + urlencode({"query": ASK}))
            response = conn.getresponse()
            assert response.status == 200 and response.version == 11
            response.read()
            sockets.add(id(conn.sock))
        assert len(sockets) == 1  # one connection for the three
    finally:
        conn.close()


def test_trickling_headers_get_408_and_lose_the_connection(server):
    raw = socket.create_connection((server.host, server.port))
    raw.settimeout(10)
    started = time.monotonic()
    try:
        raw.sendall(b"GET / HTTP/1.1\r\n")
        answer = b""
        for _ in range(30):  # a byte every 0.1 s, never the end of the headers
            try:
                raw.sendall(b"X")
            except OSError:
                break
            time.sleep(0.1)
        while chunk := raw.recv(4096):
            answer += chunk
    except ConnectionResetError:
        pass
    finally:
        raw.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"request headers took more than 1.5 s" in answer
    assert time.monotonic() - started < 4


def test_normal_requests_pass_while_many_clients_trickle(server):
    idle = [socket.create_connection((server.host, server.port)) for _ in range(60)]
    try:
        for conn in idle:
            conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        for _ in range(10):
            assert server.sparql(ASK)[0] == 200
    finally:
        for conn in idle:
            conn.close()


def test_a_slow_body_gets_408(server):
    raw = socket.create_connection((server.host, server.port))
    raw.settimeout(10)
    try:
        raw.sendall(
            b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
            b"Content-Length: 100\r\n\r\nASK {"
        )
        answer = raw.recv(4096)
    finally:
        raw.close()
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_oversized_headers_get_431(server):
    raw = socket.create_connection((server.host, server.port))
    raw.settimeout(10)
    try:
        raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        with_answer = b""
        try:
            for _ in range(100):
                raw.sendall(b"X-Filler: " + b"a" * 1000 + b"\r\n")
        except OSError:
            pass
        with_answer = raw.recv(4096)
    finally:
        raw.close()
    assert with_answer.startswith(b"HTTP/1.1 431 ")


@pytest.mark.parametrize(
    ("target", "status"),
    [
        ("/id/%ff", 400),
        ("/id/person/%c3%28", 400),
        ("/sparql?query=%ff", 400),
        ("/sparql?query=" + quote("ASK {" + "(" * 40 + "1" + ")" * 40 + "}"), 200),
        ("/sparql?query=" + quote("ASK { FILTER(" + "(" * 2500 + "1" + ")" * 2500 + ") }"), 200),
        ("/sparql?query=" + quote("ASK { FILTER(" + "(" * 40 + "1" + ")" * 40 + ") }"), 200),
        (
            "/reconcile?"
            + urlencode({"queries": json.dumps({"q": {"query": "x", "type": "a b"}})}),
            400,
        ),
        ("/reconcile?" + urlencode({"queries": "[" * 2000 + "]" * 2000}), 400),
    ],
)
def test_odd_requests_always_get_an_answer(server, target, status):
    got, _, body = server.get(target)
    assert got == status, body
    if status != 200:
        assert body.startswith(b"kzld: error: ")


def test_cors_on_the_apis(server):
    for target in ("/sparql?" + urlencode({"query": ASK}), "/reconcile", "/sparql"):
        _, headers, _ = server.get(target)
        assert headers["Access-Control-Allow-Origin"] == "*"
    status, headers, _ = server.request(
        "OPTIONS",
        "/sparql",
        headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"},
    )
    assert status == 204
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in server.get("/id/person/murat-bektanov")[1]


# --- reconciliation: bounded ------------------------------------------------------------------


def test_reconcile_refuses_overlong_queries_at_once(server):
    long_text = "Bektanov " * 1700  # 15 KB: once over two minutes of CPU
    started = time.monotonic()
    status, _, body = server.get(
        "/reconcile?" + urlencode({"queries": json.dumps({"q0": {"query": long_text}})})
    )
    assert status == 400 and b"at most 200 characters" in body
    assert time.monotonic() - started < 1


def test_reconcile_a_full_batch_of_long_queries_is_quick(server):
    text = ("Murat Bektanov Zhaqsylyqov " * 8)[:200]
    batch = {f"q{i}": {"query": text} for i in range(100)}
    started = time.monotonic()
    status, _, body = server.request(
        "POST",
        "/reconcile",
        urlencode({"queries": json.dumps(batch)}),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200 and len(json.loads(body)) == 100
    assert time.monotonic() - started < 5


def test_reconcile_stops_when_the_client_leaves(graph, monkeypatch):
    from kzld.web.reconcile_api import Reconciler

    scored = []
    real = Reconciler.reconcile

    def slow(self, query):
        scored.append(1)
        time.sleep(0.05)
        return real(self, query)

    monkeypatch.setattr(Reconciler, "reconcile", slow)
    running = LoopbackServer(graph)
    try:
        batch = {f"q{i}": {"query": "Bektanov"} for i in range(100)}
        form = urlencode({"queries": json.dumps(batch)}).encode()
        raw = socket.create_connection((running.host, running.port))
        raw.sendall(
            b"POST /reconcile HTTP/1.1\r\nHost: x\r\nContent-Type: "
            b"application/x-www-form-urlencoded\r\nContent-Length: "
            + str(len(form)).encode()
            + b"\r\n\r\n"
            + form
        )
        time.sleep(0.5)
        raw.close()
        time.sleep(1.0)
        done = len(scored)
        time.sleep(1.0)
        assert done == len(scored) < 60  # stopped, long before the 100th query
    finally:
        running.stop()


# --- a build's files, byte for byte --------------------------------------------------------------


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    out = tmp_path_factory.mktemp("build") / "public"
    result = subprocess.run(
        [sys.executable, "-m", "kzld", "build", "--out", str(out)],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
    )
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def publication_server(published):
    running = LoopbackServer(load_graph([published / "kzld.nt"]), publication=published)
    yield running
    running.stop()


def test_every_published_file_is_served_byte_for_byte(publication_server, published):
    names = [
        line.split("  ", 1)[1]
        for line in (published / "SHA256SUMS").read_text().split("\n")
        if line
    ]
    assert {"kzld.ttl", "kzld.nt", "kzld.jsonld", "dataset.ttl", "context.jsonld"} <= set(names)
    for name in [*names, "SHA256SUMS"]:
        on_disk = (published / name).read_bytes()
        for target in (f"/{name}", f"/dump/{name}"):
            status, headers, body = publication_server.get(target)
            assert status == 200, target
            assert hashlib.sha256(body).digest() == hashlib.sha256(on_disk).digest(), target
            assert headers["ETag"] == f'"{hashlib.sha256(on_disk).hexdigest()}"'
    status, _, _ = publication_server.request(
        "GET",
        "/kzld.ttl",
        headers={"If-None-Match": publication_server.get("/kzld.ttl")[1]["ETag"]},
    )
    assert status == 304


def test_the_description_iris_resolve(publication_server, published):
    description = ox.parse((published / "dataset.ttl").read_bytes(), format=ox.RdfFormat.TURTLE)
    void_dump = "http://rdfs.org/ns/void#dataDump"
    dumps = {q.object.value for q in description if q.predicate.value == void_dump}
    assert dumps
    for iri in dumps:
        assert iri.startswith("https://w3id.org/kzld/dump/")
        name = iri.rsplit("/", 1)[1]
        status, _, body = publication_server.get(iri.removeprefix("https://w3id.org/kzld"))
        assert status == 200 and body == (published / name).read_bytes()
    assert publication_server.get("/dataset")[2] == (published / "dataset.ttl").read_bytes()
    ontology_ttl = (published / "kzld-ontology.ttl").read_bytes()
    versions = [
        q.object.value
        for q in ox.parse(ontology_ttl, format=ox.RdfFormat.TURTLE)
        if q.predicate.value == "http://www.w3.org/2002/07/owl#versionIRI"
    ]
    assert versions
    for iri in versions:
        path = iri.removeprefix("https://w3id.org/kzld")
        assert publication_server.get(path, accept="text/turtle")[2] == ontology_ttl
        assert b"<html" in publication_server.get(path, accept="text/html")[2].lower()
    assert publication_server.get("/ontology/9.9.9")[0] == 404


def test_the_ontology_honours_accept(publication_server, published):
    status, headers, body = publication_server.get("/ontology", accept="text/turtle")
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    assert body == (published / "kzld-ontology.ttl").read_bytes()
    status, _, body = publication_server.get("/ontology", accept="application/n-triples")
    assert body == (published / "kzld-ontology.nt").read_bytes()
    status, headers, body = publication_server.get("/ontology")
    assert headers["Content-Type"].startswith("text/html") and headers["Vary"] == "Accept"


def test_a_publication_altered_after_its_build_is_refused(published, tmp_path):
    altered = tmp_path / "public"
    altered.mkdir()
    for path in published.iterdir():
        (altered / path.name).write_bytes(path.read_bytes())
    (altered / "kzld.ttl").write_bytes((published / "kzld.ttl").read_bytes() + b"\n# extra\n")
    result = subprocess.run(
        [sys.executable, "-m", "kzld", "serve", "--publication", str(altered), "--port", "0"],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
    assert "does not match its checksums" in result.stderr and "kzld.ttl" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_imports_uvicorn_and_no_other_command_does():
    code = (
        "import sys\nfrom kzld.cli import run\nrun(['query', '--help'])\n"
        "print(sorted(m for m in ('uvicorn', 'starlette', 'kzld.web.server') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


# --- the second guard: the worker process itself cannot reach the network -----------------------


def test_a_worker_cannot_connect_even_when_the_lexer_is_bypassed(graph, monkeypatch):
    import asyncio

    import kzld.web.sparql_worker
    from kzld.web.sparql_worker import Pool, QueryFailed

    # As if the lexer had a bug: the workers forked below let everything through.
    monkeypatch.setattr(kzld.web.sparql_worker, "check_read_only", lambda *_args: None)

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(1.0)
    remote = f"http://127.0.0.1:{listener.getsockname()[1]}/sparql"
    media = {"solutions": "application/sparql-results+json", "boolean": None, "graph": None}

    async def run() -> tuple[str | None, object]:
        pool = Pool(graph.store(), workers=2, long_lanes=1, timeout=5, quick=5)
        await pool.start()
        try:
            query = f"SELECT * WHERE {{ SERVICE <{remote}> {{ ?s ?p ?o }} }}"
            try:
                answer = await pool.run(query, media, 10, "x")
                outcome = answer.head
            except QueryFailed as err:
                outcome = err
            return pool.guard, outcome
        finally:
            await pool.close()

    try:
        guard, outcome = asyncio.run(run())
        if guard is None:
            pytest.skip("this platform offers neither seccomp nor Landlock")
        assert isinstance(outcome, QueryFailed) and outcome.status == 500
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing reached the listener
    finally:
        listener.close()


def test_a_long_query_holds_up_no_other_client(server):
    long_query = (
        "SELECT * WHERE { "
        + " ".join(f'?s{i} <http://example.org/p{i}> "value {i}" .' for i in range(2500))
        + " } LIMIT 1"
    ).encode()
    assert len(long_query) > 80_000

    def post():
        return server.request(
            "POST", "/sparql", long_query, {"Content-Type": "application/sparql-query"}
        )

    posts = [in_background(post) for _ in range(3)]
    try:
        for _ in range(3):
            started = time.monotonic()
            assert server.sparql(ASK)[0] == 200
            assert time.monotonic() - started < 0.5
    finally:
        for thread, _ in posts:
            thread.join(30)
    assert all(box["result"][0] in (200, 503) for _, box in posts)


def test_head_gives_the_length_without_the_body(publication_server, published):
    conn = publication_server.connection()
    try:
        conn.request("HEAD", "/kzld.nt")
        response = conn.getresponse()
        assert response.status == 200
        assert int(response.headers["Content-Length"]) == (published / "kzld.nt").stat().st_size
        assert response.read() == b""
    finally:
        conn.close()
