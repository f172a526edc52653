"""Every canned query is portable SPARQL 1.1: over the built dump, the same rows (as a
multiset, list items as sets) on pyoxigraph, a real Oxigraph server, rdflib 7's SPARQL
engine and a real Virtuoso 7, each started here on 127.0.0.1 and stopped; raw, and with
the parameters each query's header documents as its example.

The stores are filled with `kzld load` exactly as the README says (Virtuoso through its
authenticated Graph Store endpoint, with a user created for the test)."""

from __future__ import annotations

import collections
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import require_program

from kzld.querying import queries

pytestmark = pytest.mark.slow

GRAPH = "https://w3id.org/kzld/graph"
VIRTUOSO_USER, VIRTUOSO_PASSWORD = "kzld", "kzld-test-secret"
CATALOGUE = queries.catalogue()
NAMES = sorted(CATALOGUE)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_answers(url: str, server: subprocess.Popen, log: Path, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # polling until it is up, not a timed assertion
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if server.poll() is not None:
                pytest.fail(f"{server.args[0]} exited: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
    pytest.fail(f"{server.args[0]} did not answer within {seconds} s")


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def dump(tmp_path_factory, run_kzld_module) -> Path:
    """kzld.nt as `kzld build` publishes it."""
    out = tmp_path_factory.mktemp("publication")
    result = run_kzld_module("build", "--out", out)
    assert result.exit_code == 0, result.stderr
    return out / "kzld.nt"


@pytest.fixture(scope="module")
def run_kzld_module():
    """run_kzld for module-scoped fixtures."""
    import sys

    from conftest import ROOT, Result, subprocess_env

    def run(*args, env=None):
        done = subprocess.run(
            [sys.executable, "-m", "kzld", *map(str, args)],
            cwd=ROOT,
            env=subprocess_env(env),
            capture_output=True,
            text=True,
            timeout=600,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture(scope="module")
def oxigraph_server(tmp_path_factory, dump, run_kzld_module):
    """A real Oxigraph server, filled with `kzld load --endpoint URL/query --data kzld.nt`."""
    binary = require_program("oxigraph", "PyPI 'oxigraph', in the test extras")
    port = _free_port()
    folder = tmp_path_factory.mktemp("oxigraph")
    log = folder / "server.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [binary, "serve", "--location", str(folder / "db"), "--bind", f"127.0.0.1:{port}"],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answers(base + "/query?query=ASK%7B%7D", server, log)
        result = run_kzld_module("load", "--endpoint", base + "/query", "--data", dump)
        assert result.exit_code == 0, result.stderr
        yield base + "/query"
    finally:
        _stop(server)


VIRTUOSO_INI = """\
[Database]
DatabaseFile = {db}/virtuoso.db
ErrorLogFile = {db}/virtuoso.log
LockFile = {db}/virtuoso.lck
TransactionFile = {db}/virtuoso.trx
xa_persistent_file = {db}/virtuoso.pxa
[TempDatabase]
DatabaseFile = {db}/virtuoso-temp.db
TransactionFile = {db}/virtuoso-temp.trx
[Parameters]
ServerPort = 127.0.0.1:{sql}
DisableUnixSocket = 1
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
DirsAllowed = {db}
[HTTPServer]
ServerPort = 127.0.0.1:{http}
ServerRoot = {db}
ServerThreads = 4
[SPARQL]
ResultSetMaxRows = 100000
MaxQueryExecutionTime = 120
"""


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory, dump, run_kzld_module):
    """A real Virtuoso 7 (Debian's virtuoso-opensource) with its own database folder and
    ports, a user allowed to write, and the dump loaded into GRAPH with `kzld load`
    through /sparql-graph-crud-auth (HTTP Digest)."""
    binary = require_program("virtuoso-t", "Debian package virtuoso-opensource")
    isql = require_program("isql-vt", "Debian package virtuoso-opensource")
    folder = tmp_path_factory.mktemp("virtuoso")
    sql, http = _free_port(), _free_port()
    (folder / "virtuoso.ini").write_text(VIRTUOSO_INI.format(db=folder, sql=sql, http=http))
    log = folder / "stdout.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [binary, "+foreground", "+configfile", str(folder / "virtuoso.ini")],
            cwd=folder,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{http}"
    try:
        _wait_until_answers(base + "/sparql?query=ASK%7B%7D", server, log)
        create = (
            f"DB.DBA.USER_CREATE('{VIRTUOSO_USER}', '{VIRTUOSO_PASSWORD}'); "
            f'GRANT SPARQL_UPDATE TO "{VIRTUOSO_USER}";'
        )
        done = subprocess.run(
            [isql, f"127.0.0.1:{sql}", "dba", "dba", f"exec={create}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        result = run_kzld_module(
            "load",
            "--store",
            base + "/sparql-graph-crud-auth",
            "--graph",
            GRAPH,
            "--data",
            dump,
            env={"KZLD_STORE_USER": VIRTUOSO_USER, "KZLD_STORE_PASSWORD": VIRTUOSO_PASSWORD},
        )
        assert result.exit_code == 0, result.stderr
        assert VIRTUOSO_PASSWORD not in result.stdout + result.stderr
        yield base
    finally:
        _stop(server)


# --------------------------------------------------------------------------- engines


def _value(term) -> tuple | None:
    """A term as compared across engines: its kind, its lexical form, its language."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return ("iri", term.value)
    if isinstance(term, ox.Literal):
        return ("literal", term.value, term.language)
    return ("bnode",)


def _rdflib_value(term) -> tuple | None:
    import rdflib

    if term is None:
        return None
    if isinstance(term, rdflib.URIRef):
        return ("iri", str(term))
    if isinstance(term, rdflib.Literal):
        return ("literal", str(term), term.language)
    return ("bnode",)


def _multiset(canned: queries.CannedQuery, columns, rows, separator=None) -> collections.Counter:
    """Rows as a multiset over the header's columns; list items as sets (split by the
    query's separator, or by the one kzld joins its sorted items with)."""
    separator = (separator or canned.separator).strip()
    at = [list(columns).index(c) for c in canned.columns]
    found = collections.Counter()
    for row in rows:
        key = []
        for column, i in zip(canned.columns, at, strict=True):
            value = row[i]
            if column in canned.lists and value is not None:
                items = frozenset(item.strip() for item in value[1].split(separator)) - {""}
                value = ("list", items)
            key.append(value)
        found[tuple(key)] += 1
    return found


@pytest.fixture(scope="module")
def embedded(dump):
    store = ox.Store()
    store.load(path=str(dump), format=ox.RdfFormat.N_TRIPLES)
    return store


@pytest.fixture(scope="module")
def rdflib_graph(dump):
    import rdflib

    graph = rdflib.Graph()
    graph.parse(str(dump), format="nt")
    return graph


def _bindings(name: str, kind: str, embedded: ox.Store) -> dict | None:
    """No parameters (raw), or the documented examples bound to terms as kzld binds them."""
    canned = CATALOGUE[name]
    examples = {p.name: p.example for p in canned.params}
    if kind == "raw":
        return {}
    if not examples:
        return None
    return queries.bind(canned, queries.LocalEngine(embedded), examples)


def _rdflib_term(term):
    import rdflib

    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))


def _rows_everywhere(name, bound, embedded, rdflib_graph, oxigraph_server, virtuoso):
    canned = CATALOGUE[name]
    text = queries.with_values(canned.text, bound)  # the text kzld sends to an endpoint
    found = {}
    solutions = embedded.query(text)
    columns = [v.value for v in solutions.variables]
    found["pyoxigraph"] = _multiset(canned, columns, [tuple(map(_value, s)) for s in solutions])
    # rdflib users bind with initBindings: rdflib joins a VALUES block that opens the WHERE
    # clause so slowly (successors: 300 s instead of 0.3 s) that no one would use it.
    init = {k: _rdflib_term(v) for k, v in bound.items()}
    answer = rdflib_graph.query(canned.text, initBindings=init)
    columns = [str(v) for v in answer.vars]
    rows = [tuple(_rdflib_value(t) for t in row) for row in answer]
    found["rdflib"] = _multiset(canned, columns, rows)
    for engine, remote in [
        ("oxigraph server", queries.RemoteEngine(oxigraph_server, timeout=120)),
        ("virtuoso", queries.RemoteEngine(virtuoso + "/sparql", timeout=120, graph=GRAPH)),
    ]:
        results = remote.select(text, {})
        rows = [tuple(map(_value, row)) for row in results.rows]
        found[engine] = _multiset(canned, results.columns, rows)
    return found


CASES = [(name, kind) for name in NAMES for kind in ("raw", "examples")]


@pytest.mark.parametrize(("name", "kind"), CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_the_same_rows_on_four_engines(
    name, kind, embedded, rdflib_graph, oxigraph_server, virtuoso
):
    bound = _bindings(name, kind, embedded)
    if bound is None:
        pytest.skip(f"{name} takes no parameters")
    found = _rows_everywhere(name, bound, embedded, rdflib_graph, oxigraph_server, virtuoso)
    reference = found.pop("pyoxigraph")
    assert sum(reference.values()) > 0 or name == "prosecutions", f"{name}: no rows to compare"
    for engine, rows in found.items():
        missing, extra = reference - rows, rows - reference
        assert not missing and not extra, (
            f"{name} ({kind}) on {engine}: missing {list(missing)[:3]}, extra {list(extra)[:3]}"
        )


@pytest.mark.parametrize("name", NAMES)
def test_the_raw_file_gives_the_rows_of_kzld_query_without_options(name, embedded):
    """Defaults live in the query: a raw run in any client is `kzld query NAME`."""
    canned = CATALOGUE[name]
    solutions = embedded.query(canned.text)
    columns = [v.value for v in solutions.variables]
    raw = _multiset(canned, columns, [tuple(map(_value, s)) for s in solutions])
    shown = queries.run_canned(canned, queries.LocalEngine(embedded), {})
    rows = [tuple(map(_value, r)) for r in shown.rows]
    through_kzld = _multiset(canned, shown.columns, rows, queries.LIST_SEPARATOR)
    assert raw == through_kzld
    assert sum(raw.values()) > 0


def test_the_cli_on_virtuoso_prints_the_embedded_rows(virtuoso, dump, run_kzld_module):
    """The README's command: `kzld query NAME --endpoint .../sparql --graph G`."""
    local = run_kzld_module("query", "successors", "--data", dump, "--format", "csv")
    remote = run_kzld_module(
        "query",
        "successors",
        "--endpoint",
        virtuoso + "/sparql",
        "--graph",
        GRAPH,
        "--format",
        "csv",
    )
    assert remote.exit_code == 0, remote.stderr
    # The same lines in the same order: kzld orders the rows itself (Virtuoso 7.2 ignores
    # COALESCE and IF in the ORDER BY of a grouped query, and SPARQL leaves the order of
    # language-tagged labels to the engine).
    assert remote.stdout == local.stdout
    assert len(local.stdout.splitlines()) > 3


def test_without_graph_virtuoso_shows_its_own_system_graphs(virtuoso):
    """Why --graph matters: Virtuoso's default graph is every graph, its own included."""
    engine = queries.RemoteEngine(virtuoso + "/sparql", timeout=60)
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    everything = int(engine.select(count, {}).rows[0][0].value)
    ours = int(
        queries.RemoteEngine(virtuoso + "/sparql", timeout=60, graph=GRAPH)
        .select(count, {})
        .rows[0][0]
        .value
    )
    assert ours > 0 and everything > ours


def test_a_wrong_password_is_refused_and_not_printed(virtuoso, dump, run_kzld_module):
    result = run_kzld_module(
        "load",
        "--store",
        virtuoso + "/sparql-graph-crud-auth",
        "--graph",
        GRAPH + "/other",
        "--data",
        dump,
        env={"KZLD_STORE_USER": VIRTUOSO_USER, "KZLD_STORE_PASSWORD": "not-the-password"},
    )
    assert result.exit_code == 4
    assert "401 Unauthorized" in result.stderr
    assert "were refused" in result.stderr
    assert "not-the-password" not in result.stdout + result.stderr


def test_load_with_netrc_credentials(virtuoso, dump, run_kzld_module, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    netrc = home / ".netrc"
    netrc.write_text(f"machine 127.0.0.1 login {VIRTUOSO_USER} password {VIRTUOSO_PASSWORD}\n")
    netrc.chmod(0o600)
    graph = GRAPH + "/netrc"
    result = run_kzld_module(
        "load",
        "--store",
        virtuoso + "/sparql-graph-crud-auth",
        "--graph",
        graph,
        "--data",
        dump,
        env={"HOME": str(home), "KZLD_STORE_USER": "", "KZLD_STORE_PASSWORD": ""},
    )
    assert result.exit_code == 0, result.stderr
    triples = sum(1 for line in dump.read_text().splitlines() if line.strip())
    assert f"(it holds {triples} triples)" in result.stdout
    assert VIRTUOSO_PASSWORD not in result.stdout + result.stderr
    engine = queries.RemoteEngine(virtuoso + "/sparql", timeout=60, graph=graph)
    count = engine.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", {})
    assert int(count.rows[0][0].value) == triples


@pytest.mark.parametrize("padding", [0, 3000], ids=["get", "post"])
def test_an_endpoint_url_with_default_graph_uri_works_on_virtuoso(virtuoso, dump, padding):
    """The URL a Virtuoso user copies (`/sparql?default-graph-uri=…`), short and long."""
    from urllib.parse import quote

    url = f"{virtuoso}/sparql?default-graph-uri={quote(GRAPH, safe='')}"
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }" + (
        "\n#" + "x" * padding if padding else ""
    )
    rows = queries.RemoteEngine(url, timeout=60).select(query, {}).rows
    triples = sum(1 for line in dump.read_text().splitlines() if line.strip())
    assert int(rows[0][0].value) == triples
