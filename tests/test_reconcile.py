"""`kzld reconcile`: candidates from a real Oxigraph server loaded with a Wikidata-shaped
fixture; accepted decisions in the mapping file; endpoint faults end with clear errors."""

from __future__ import annotations

import csv
import datetime
import functools
import io
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import require_program
from test_remote_faults import FakeTime, Reply, serve  # noqa: F401  (the scripted server)

from kzld import errors
from kzld.loading.graph import load_graph
from kzld.loading.resources import bundled
from kzld.querying import endpoints
from kzld.wikidata.reconciliation import Decision, accept, reconcile, review_table

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "wikidata"
SAMPLE = FIXTURES / "kzld"
ID = "https://w3id.org/kzld/id/"


@pytest.fixture(scope="module")
def wikidata_endpoint(tmp_path_factory):
    """A real Oxigraph SPARQL server on 127.0.0.1 holding the Wikidata-shaped fixture."""
    found = require_program("oxigraph", "PyPI 'oxigraph', in the test extras")
    location = tmp_path_factory.mktemp("oxigraph")
    subprocess.run(
        [found, "load", "--location", location, "--file", FIXTURES / "endpoint.ttl"],
        check=True,
        capture_output=True,
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [found, "serve", "--location", location, "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):  # until it listens (or fails): a bounded wait, not a timing test
            if server.poll() is not None:
                pytest.fail("oxigraph serve exited")
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/query"
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture(scope="module")
def sample_graph():
    return load_graph([bundled("ontology"), SAMPLE])


def by_entity(candidates) -> dict[str, list]:
    found: dict[str, list] = {}
    for c in candidates:
        found.setdefault(c.entity.removeprefix(ID), []).append(c)
    return found


def test_proposes_the_right_candidates(sample_graph, wikidata_endpoint):
    found = by_entity(reconcile(sample_graph, wikidata_endpoint))
    bektanov = found["person/murat-bektanov"]
    # the namesake is proposed too, below the one with context; the disambiguation page
    # (not a human) never is
    assert [c.qid for c in bektanov] == ["Q900000101", "Q900000102"]
    assert bektanov[0].score > bektanov[1].score
    assert bektanov[0].context == ("Q3814905",)  # links to the reconciled government
    assert "alias: Мурат Бектанов" in bektanov[0].matched
    # found through a Kazakh label only
    assert [c.qid for c in found["person/ruslan-zhaksylykov"]] == ["Q900000111"]
    assert "label: Руслан Жаксылыков" in found["person/ruslan-zhaksylykov"][0].matched
    # an instance of a subclass of organization, matched on its alias
    assert [c.qid for c in found["organisation/ministry-of-defence"]] == ["Q900000301"]
    # the post, not the human who carries the same label
    assert [c.qid for c in found["post/minister-of-defence"]] == ["Q900000401"]
    assert found["person/askar-mamin"][0].context == ("Q2416315",)
    (nobody,) = found["person/nurlan-yermekbayev"]
    assert (nobody.qid, nobody.note) == ("", "no candidate")
    # reconciled entities and events are not looked up
    assert "person/alikhan-smailov" not in found
    assert not any(key.startswith("event/") for key in found)


def test_types_option_restricts_the_kinds(sample_graph, wikidata_endpoint):
    found = by_entity(reconcile(sample_graph, wikidata_endpoint, ["post"]))
    assert list(found) == ["post/minister-of-defence"]
    with pytest.raises(errors.UsageError, match="unknown type 'event'"):
        reconcile(sample_graph, wikidata_endpoint, ["event"])


def test_cli_writes_the_review_file(kzld, wikidata_endpoint, tmp_path):
    out = tmp_path / "review.tsv"
    result = kzld(
        "reconcile", "--data", bundled("ontology"), "--data", SAMPLE,
        "--endpoint", wikidata_endpoint, "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")), delimiter="\t"))
    pairs = {(r["entity"].removeprefix(ID), r["candidate"]) for r in rows}
    assert ("person/murat-bektanov", "Q900000101") in pairs
    assert ("person/murat-bektanov", "Q900000103") not in pairs
    assert all(r["decision"] == "" for r in rows)


def test_values_with_sparql_syntax_are_bound_as_terms(tmp_path, wikidata_endpoint):
    # A label that would break out of a pasted string must stay one literal.
    (tmp_path / "x.ttl").write_text(
        "<https://w3id.org/kzld/id/person/x> a <https://w3id.org/kzld/ontology#Person> ;\n"
        '  <http://www.w3.org/2000/01/rdf-schema#label> "x\\" } ; DROP ALL ; #"@en .\n',
        encoding="utf-8",
    )
    graph = load_graph([bundled("ontology"), tmp_path / "x.ttl"])
    (only,) = reconcile(graph, wikidata_endpoint)
    assert only.note == "no candidate"


def mapping_text(path: Path) -> ox.Store:
    store = ox.Store()
    store.load(path=str(path), format=ox.RdfFormat.TURTLE)
    return store


def test_accept_records_who_when_and_score(kzld, tmp_path):
    mapping = tmp_path / "mapping.ttl"
    shutil.copy(bundled("data") / "wikidata-mapping.ttl", mapping)
    result = kzld(
        "reconcile", "accept", "person/murat-bektanov", "Q900000101", "--by", "A. Reviewer",
        "--score", "75", "--mapping", mapping, "--data", bundled("ontology"), "--data", SAMPLE,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = list(
        mapping_text(mapping).query(
            """PREFIX owl: <http://www.w3.org/2002/07/owl#>
            PREFIX dcterms: <http://purl.org/dc/terms/>
            SELECT ?item ?by ?when ?score WHERE {
              <https://w3id.org/kzld/id/person/murat-bektanov>
                  <https://w3id.org/kzld/ontology#wikidataEntity> ?item .
              ?axiom owl:annotatedSource <https://w3id.org/kzld/id/person/murat-bektanov> ;
                owl:annotatedTarget ?item ; dcterms:creator ?by ; dcterms:date ?when ;
                <https://w3id.org/sssom/confidence> ?score }"""
        )
    )
    assert len(rows) == 1
    assert rows[0]["item"].value == "http://www.wikidata.org/entity/Q900000101"
    assert rows[0]["by"].value == "A. Reviewer"
    assert rows[0]["score"].value == "0.75"
    assert rows[0]["when"].datatype.value.endswith("#dateTime")
    # the header (the mapping set's description) is kept
    assert "kzld to Wikidata mapping set" in mapping.read_text(encoding="utf-8")
    # the merged graph now exports Bektanov under his item
    graph = load_graph([bundled("ontology"), SAMPLE, mapping])
    assert any(
        t.subject == ox.NamedNode("https://w3id.org/kzld/id/person/murat-bektanov")
        for t in graph.triples
    )
    from kzld.wikidata.export import export_wikidata

    assert b"wd:Q900000101 a wikibase:Item" in export_wikidata(graph)


@pytest.mark.parametrize(
    ("entity", "qid", "message"),
    [
        ("person/murat-bektanov", "Q56825894", "already the item of"),
        ("person/alikhan-smailov", "Q900000009", "already has"),
        ("person/nobody", "Q900000009", "is not in the data"),
        ("person/murat-bektanov", "P39", "not a Wikidata item id"),
    ],
)
def test_accept_refuses_bad_decisions_and_writes_nothing(
    tmp_path, sample_graph, entity, qid, message
):
    mapping = tmp_path / "mapping.ttl"
    mapping.write_text("# empty\n", encoding="utf-8")
    when = datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC)
    with pytest.raises(errors.UsageError, match=message):
        accept(sample_graph, mapping, [Decision(ID + entity, qid, "me", when)])
    assert mapping.read_text(encoding="utf-8") == "# empty\n"


def test_review_file_workflow(kzld, tmp_path, sample_graph, wikidata_endpoint):
    review = tmp_path / "review.tsv"
    table = review_table(reconcile(sample_graph, wikidata_endpoint))
    (tmp_path / "empty.tsv").write_text(table, encoding="utf-8")
    lines = table.splitlines()
    marked = [
        line + "accept" if "\tQ900000401\t" in line or "\tQ900000101\t" in line else line
        for line in lines
    ]
    review.write_text("\n".join(marked) + "\n", encoding="utf-8")
    mapping = tmp_path / "mapping.ttl"
    result = kzld(
        "reconcile", "accept", "--review", review, "--by", "B. Reviewer", "--mapping", mapping,
        "--data", bundled("ontology"), "--data", SAMPLE,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    links = {
        (r["s"].value.removeprefix(ID), r["o"].value.rsplit("/", 1)[1])
        for r in mapping_text(mapping).query(
            "SELECT ?s ?o WHERE { ?s <https://w3id.org/kzld/ontology#wikidataEntity> ?o }"
        )
    }
    assert links == {
        ("person/murat-bektanov", "Q900000101"),
        ("post/minister-of-defence", "Q900000401"),
    }
    # a review file with nothing marked is refused
    again = kzld("reconcile", "accept", "--review", tmp_path / "empty.tsv", "--by", "B")
    assert again.exit_code == 2


# --- endpoint faults, end to end through reconcile ----------------------------------------


def test_throttled_then_answered_waits_as_told(serve, sample_graph):  # noqa: F811
    server = serve(Reply(429, {"Retry-After": "3"}, b"slow down"))
    fake = FakeTime()
    ask = functools.partial(endpoints.select, sleep=fake.sleep, now=fake.clock)
    candidates = reconcile(sample_graph, server.url, ["post"], select=ask)
    assert fake.slept == [3.0]
    assert [c.note for c in candidates] == ["no candidate"]
    assert len(server.seen) == 2
    assert server.seen[0].headers["User-Agent"].startswith("kzld/")


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(403, {"Content-Type": "text/plain"}, b"banned"), "403"),
        (Reply(200, {"Content-Type": "text/html"}, b"<html>maintenance</html>"), "HTML page"),
        (
            Reply(200, body=b'{"head": {"vars": []}, "results": {"bin', declared_length=None),
            "truncated",
        ),
    ],
)
def test_faults_are_clear_errors_from_the_command(kzld, serve, reply, message):  # noqa: F811
    server = serve(reply, *[reply] * 5)
    result = kzld(
        "reconcile", "--types", "post", "--data", bundled("ontology"), "--data", SAMPLE,
        "--endpoint", server.url,
    )  # fmt: skip
    assert result.exit_code == 4
    assert message in result.stderr
    assert result.stdout == ""


def test_silent_endpoint_times_out(kzld, serve):  # noqa: F811
    server = serve(Reply(silent=True))
    result = kzld(
        "reconcile", "--types", "post", "--data", bundled("ontology"), "--data", SAMPLE,
        "--endpoint", server.url, "--timeout", "1",
    )  # fmt: skip
    assert result.exit_code == 4
    assert "did not answer in time" in result.stderr


def test_offline_by_default_is_a_clear_message(run_kzld):
    # The test process blocks the network: the default endpoint cannot be reached.
    result = run_kzld(
        "reconcile", "--types", "post", "--data", bundled("ontology"), "--data", SAMPLE
    )
    assert result.exit_code == 4
    assert "query.wikidata.org" in result.stderr
    assert "Traceback" not in result.stderr
