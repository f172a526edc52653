"""The remote path: `kzld load` into a real Oxigraph server, then every canned query on it
gives the same rows as the embedded store."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request

import pytest
from conftest import require_program

from kzld import endpoints, queries
from kzld.errors import UsageError

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
