"""The remote path: `kzld load` into a real Oxigraph server, then every canned query on it
gives the same rows as the embedded store."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request

import pytest
from conftest import require_program

from kzld.errors import UsageError
from kzld.querying import endpoints, queries

pytestmark = pytest.mark.slow

# Parameters for each canned query, so that the parameter path is compared too.
PARAMS = {
    "successors": [{}, {"post": "defence minister"}],
    "holders": [{"post": "minister-of-defence", "date": "2022-01"}, {"org": "ministry-of-defence"}],
    "timeline": [{"person": "Zhaqsylyqov"}],
    "dismissals": [{"from": "2022", "to": "2022-06"}],
    "prosecutions": [{}],
    "events": [{}, {"type": "arrest", "from": "2022-02"}],
    "conflicts": [{}],
    "sources": [{}],
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def oxigraph(tmp_path_factory):
    """A real Oxigraph server on 127.0.0.1, stopped after the session."""
    binary = require_program("oxigraph", "PyPI 'oxigraph', in the test extras")
    port = _free_port()
    location = tmp_path_factory.mktemp("oxigraph")
    log = location.parent / "oxigraph.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):  # wait until it answers; polling, not a timed assertion
            try:
                with urllib.request.urlopen(base + "/query?query=ASK%7B%7D", timeout=1):
                    break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"oxigraph exited: {log.read_text()}")
                time.sleep(0.1)
        else:
            pytest.fail("oxigraph did not start")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="session")
def loaded(oxigraph):
    from kzld.cli import run

    assert run(["load", "--endpoint", oxigraph + "/query"]) == 0
    return oxigraph + "/query"


def test_load_puts_every_triple(loaded, bundled_graph):
    answer = endpoints.select(loaded, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert int(answer["results"]["bindings"][0]["n"]["value"]) == len(bundled_graph)


def test_load_replaces_rather_than_duplicates(loaded, bundled_graph, kzld):
    result = kzld("load", "--endpoint", loaded)
    assert result.exit_code == 0, result.stderr
    assert f"loaded {len(bundled_graph)} triples" in result.stdout
    answer = endpoints.select(loaded, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert int(answer["results"]["bindings"][0]["n"]["value"]) == len(bundled_graph)


def test_load_into_a_named_graph(oxigraph, tmp_path, kzld):
    data = tmp_path / "one.ttl"
    data.write_text('<https://example.org/a> <https://example.org/b> "c" .\n')
    graph = "https://example.org/graph/test"
    result = kzld("load", "--store", oxigraph + "/store", "--graph", graph, "--data", data)
    assert result.exit_code == 0, result.stderr
    answer = endpoints.select(
        oxigraph + "/query",
        "SELECT ?o WHERE { GRAPH <https://example.org/graph/test> { ?s ?p ?o } }",
    )
    assert [b["o"]["value"] for b in answer["results"]["bindings"]] == ["c"]


@pytest.mark.parametrize(
    ("name", "given"),
    [(name, given) for name, options in PARAMS.items() for given in options],
    ids=lambda v: v if isinstance(v, str) else "-".join(v) or "all",
)
def test_every_canned_query_gives_the_same_rows_remotely(loaded, bundled_graph, name, given):
    canned = queries.catalogue()[name]
    local = queries.run_canned(canned, queries.LocalEngine(bundled_graph.store()), given)
    remote_engine = queries.RemoteEngine(loaded)
    remote = queries.run_canned(canned, remote_engine, given)
    assert remote.columns == local.columns
    assert remote.rows == local.rows
    assert local.rows or name in {"prosecutions"}, f"{name} found nothing to compare"
    if given:  # parameters reached the endpoint as a VALUES block
        assert "VALUES (" in remote_engine.sent[-1]


def test_the_cli_prints_the_same_table_for_both_engines(loaded, kzld):
    local = kzld("query", "successors", "--format", "csv")
    remote = kzld("query", "successors", "--format", "csv", "--endpoint", loaded)
    assert local.exit_code == remote.exit_code == 0, remote.stderr
    assert remote.stdout == local.stdout
    assert "Murat Bektanov,Ruslan Zhaksylykov,2022-01-19" in local.stdout


def test_json_output_is_the_same_for_both_engines(loaded, kzld):
    local = kzld("query", "holders", "--post", "minister-of-defence", "-f", "json")
    remote = kzld("query", "holders", "--post", "minister-of-defence", "-f", "json", "-e", loaded)
    assert remote.stdout == local.stdout


def test_an_unknown_name_is_refused_on_the_endpoint_too(loaded, kzld):
    result = kzld("query", "successors", "--post", "Ministr of Defense", "--endpoint", loaded)
    assert result.exit_code == 2
    assert "minister-of-defence" in result.stderr


def test_a_user_query_runs_remotely(loaded, tmp_path, kzld):
    query = tmp_path / "q.rq"
    query.write_text(
        "PREFIX kz: <https://w3id.org/kzld/ontology#>\n"
        "SELECT ?t WHERE { ?t kz:post <https://w3id.org/kzld/id/post/minister-of-defence> }"
        " ORDER BY ?t\n"
    )
    local = kzld("query", "--file", query, "-f", "tsv")
    remote = kzld("query", "--file", query, "-f", "tsv", "--endpoint", loaded)
    assert local.exit_code == remote.exit_code == 0
    assert remote.stdout == local.stdout
    assert "murat-bektanov--minister-of-defence" in local.stdout


def test_a_failing_store_is_a_remote_error(kzld, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        result = kzld("load", "--endpoint", f"http://127.0.0.1:{port}/query")
    assert result.exit_code == 4
    assert "connection refused" in result.stderr


def test_the_store_url_comes_from_the_endpoint():
    assert endpoints.store_url_for("http://127.0.0.1:7878/query") == "http://127.0.0.1:7878/store"
    with pytest.raises(UsageError, match="cannot derive a Graph Store URL") as caught:
        endpoints.store_url_for("http://127.0.0.1:7878/")
    assert "--store" in caught.value.hint


def test_query_graph_reads_the_named_graph_the_load_filled(oxigraph, kzld):
    graph = "https://example.org/graph/kzld"
    result = kzld("load", "--endpoint", oxigraph + "/query", "--graph", graph)
    assert result.exit_code == 0, result.stderr
    local = kzld("query", "successors", "--format", "csv")
    named = kzld("query", "successors", "-f", "csv", "-e", oxigraph + "/query", "--graph", graph)
    assert named.exit_code == 0, named.stderr
    assert named.stdout == local.stdout
    # The embedded store holds one graph, the --data: --graph names it and changes nothing.
    assert kzld("query", "successors", "-f", "csv", "--graph", graph).stdout == local.stdout


def test_the_python_api_queries_an_endpoint_as_the_embedded_store(oxigraph, kzld, bundled_graph):
    import kzld as api

    graph = "https://example.org/graph/api"
    assert kzld("load", "--endpoint", oxigraph + "/query", "--graph", graph).exit_code == 0
    remote = api.query("holders", endpoint=oxigraph + "/query", named_graph=graph)
    local = api.query("holders", bundled_graph)
    assert remote.columns == local.columns and len(local) > 10
    assert remote == local
    count = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"
    assert api.select(count, endpoint=oxigraph + "/query", named_graph=graph) == api.select(
        count, bundled_graph
    )
    with pytest.raises(UsageError, match="exclude each other"):
        api.query("holders", bundled_graph, endpoint=oxigraph + "/query")
    with pytest.raises(UsageError, match="the named graph is not an IRI"):
        api.query("holders", named_graph="not an iri")


def test_query_graph_must_be_an_iri(kzld):
    result = kzld("query", "successors", "--graph", "not an iri")
    assert result.exit_code == 2
    assert "--graph is not an IRI" in result.stderr


# --------------------------------------------------------------------------- credentials


class Store:
    """A Graph Store on 127.0.0.1 that demands Basic credentials (or answers HTML)."""

    def __init__(self, user="reader", password="p@ss w0rd", html=False):
        import base64
        import http.server
        import threading

        self.graphs: dict[str, bytes] = {}
        self.seen: list[tuple[str, str | None]] = []
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        store = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status, body=b"", media="text/plain", extra=()):
                self.send_response(status)
                self.send_header("Content-Type", media)
                self.send_header("Content-Length", str(len(body)))
                for name, value in extra:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                store.seen.append((self.command, self.headers.get("Authorization")))
                if html:  # a login page on every request, with 200
                    self._reply(200, b"<!DOCTYPE html><html>Sign in</html>", "text/html")
                    return
                if self.headers.get("Authorization") != expected:
                    self._reply(
                        401, b"who are you?", extra=[("WWW-Authenticate", 'Basic realm="x"')]
                    )
                    return
                key = self.path.partition("?")[2]
                if self.command == "GET":
                    self._reply(200, store.graphs.get(key, b""), "application/n-triples")
                    return
                store.graphs[key] = (
                    store.graphs.get(key, b"") if self.command == "POST" else b""
                ) + body
                self._reply(204)

            do_GET = do_PUT = do_POST = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/store"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def basic_store():
    store = Store()
    yield store
    store.stop()


def _data(tmp_path):
    data = tmp_path / "two.ttl"
    data.write_text("<https://example.org/a> <https://example.org/b> 'c', 'd' .\n")
    return data


def test_load_with_basic_credentials_from_the_environment(basic_store, run_kzld, tmp_path):
    env = {"KZLD_STORE_USER": "reader", "KZLD_STORE_PASSWORD": "p@ss w0rd", "HOME": str(tmp_path)}
    result = run_kzld("load", "--store", basic_store.url, "--data", _data(tmp_path), env=env)
    assert result.exit_code == 0, result.stderr
    assert "loaded 2 triples into the default graph" in result.stdout
    assert "(it holds 2 triples)" in result.stdout
    assert "p@ss w0rd" not in result.stdout + result.stderr
    assert [method for method, _ in basic_store.seen] == ["PUT", "PUT", "GET", "GET"]
    assert basic_store.seen[0][1] is None  # credentials only when the store asks


def test_load_with_credentials_from_netrc(basic_store, run_kzld, tmp_path):
    (tmp_path / ".netrc").write_text('machine 127.0.0.1 login reader password "p@ss w0rd"\n')
    (tmp_path / ".netrc").chmod(0o600)
    env = {"HOME": str(tmp_path), "KZLD_STORE_USER": "", "KZLD_STORE_PASSWORD": ""}
    result = run_kzld("load", "--store", basic_store.url, "--data", _data(tmp_path), env=env)
    assert result.exit_code == 0, result.stderr
    assert "p@ss w0rd" not in result.stdout + result.stderr


def test_load_without_credentials_says_where_to_put_them(basic_store, run_kzld, tmp_path):
    env = {"HOME": str(tmp_path), "KZLD_STORE_USER": "", "KZLD_STORE_PASSWORD": ""}
    result = run_kzld("load", "--store", basic_store.url, "--data", _data(tmp_path), env=env)
    assert result.exit_code == 4
    assert "401 Unauthorized" in result.stderr and "who are you?" in result.stderr
    assert "KZLD_STORE_USER" in result.stderr and "~/.netrc" in result.stderr


def test_half_the_credentials_is_a_usage_error(basic_store, run_kzld, tmp_path):
    env = {"HOME": str(tmp_path), "KZLD_STORE_USER": "reader", "KZLD_STORE_PASSWORD": ""}
    result = run_kzld("load", "--store", basic_store.url, "--data", _data(tmp_path), env=env)
    assert result.exit_code == 2
    assert "go together" in result.stderr
    assert basic_store.seen == []


def test_a_store_answering_200_with_html_is_not_loaded(run_kzld, tmp_path):
    store = Store(html=True)
    try:
        result = run_kzld("load", "--store", store.url, "--data", _data(tmp_path))
    finally:
        store.stop()
    assert result.exit_code == 4
    assert result.stderr.startswith("kzld: error: ")
    assert "an HTML page, not RDF" in result.stderr
    assert "loaded" not in result.stdout


def test_a_store_that_keeps_fewer_triples_is_not_loaded(basic_store, tmp_path):
    with pytest.raises(endpoints.EndpointBadResponse, match="holds 2 triples, not 3"):
        endpoints.load_into_store(
            basic_store.url,
            b'<https://example.org/a> <https://example.org/b> "c" .\n'
            b'<https://example.org/a> <https://example.org/b> "d" .\n',
            3,
            credentials=endpoints.Credentials("reader", "p@ss w0rd", "test"),
        )


def test_credentials_never_show_their_password():
    shown = repr(endpoints.Credentials("reader", "hunter2", "the environment"))
    assert "hunter2" not in shown and "reader" in shown


def test_remote_queries_from_several_threads_each_get_their_rows(oxigraph, loaded):
    """urllib's opener is the process's: queries from threads take turns with it."""
    from concurrent.futures import ThreadPoolExecutor

    import kzld as api

    def ask(_):
        return api.select("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", endpoint=oxigraph + "/query")

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(ask, range(8)))
    assert len({str(a[0]["n"]) for a in answers}) == 1 and int(answers[0][0]["n"].value) > 1000
