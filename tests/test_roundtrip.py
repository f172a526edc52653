"""Every published file re-parses to the graph it was written from, by four parsers (the
JSON-LD also by PyLD, the reference JSON-LD processor's Python port), and loads into
external stores."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pyoxigraph as ox
import pytest

DUMPS = [
    f"{stem}{ext}"
    for stem in ("kzld", "kzld-ontology", "kzld-data")
    for ext in (".ttl", ".nt", ".jsonld")
]
_OX_FORMAT = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".jsonld": ox.RdfFormat.JSON_LD,
}
_RDFLIB_FORMAT = {".ttl": "turtle", ".nt": "nt", ".jsonld": "json-ld"}
_RAPPER_SYNTAX = {".ttl": "turtle", ".nt": "ntriples"}
_LANG = re.compile(r'"@([A-Za-z0-9-]+)$')


def canonical(triples) -> set[str]:
    """Triples as N-Triples lines, language tags lower-cased (RDF 1.1 compares them so)."""
    return {_LANG.sub(lambda m: '"@' + m.group(1).lower(), str(t)) for t in triples}


def by_oxigraph(path: Path) -> set[str]:
    return canonical(ox.parse(path=str(path), format=_OX_FORMAT[path.suffix]))


def by_rdflib(path: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """rdflib's reading, with its literal normalisation off so lexical forms are compared."""
    import rdflib

    monkeypatch.setattr(rdflib, "NORMALIZE_LITERALS", False)
    graph = rdflib.Graph().parse(str(path), format=_RDFLIB_FORMAT[path.suffix])
    return canonical(ox.Triple(*(from_rdflib(term) for term in t)) for t in graph)


def from_rdflib(term):
    import rdflib

    if isinstance(term, rdflib.URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, rdflib.Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise AssertionError(f"a dump holds a blank node: {term!r}")


def by_pyld(path: Path) -> set[str]:
    """PyLD's reading of a JSON-LD dump, with every remote document refused: a dump must
    carry its context inline (a reader offline, or wary of fetching, has nothing else)."""
    import json

    from pyld import jsonld

    def refuse(url: str, options=None):
        raise AssertionError(f"the dump asks for a remote document: {url}")

    document = json.loads(path.read_text(encoding="utf-8"))
    nquads = jsonld.to_rdf(document, {"format": "application/n-quads", "documentLoader": refuse})
    quads = list(ox.parse(nquads.encode("utf-8"), format=ox.RdfFormat.N_QUADS))
    assert all(q.graph_name == ox.DefaultGraph() for q in quads), "a dump holds a named graph"
    return canonical(q.triple for q in quads)


def rapper_or_skip() -> str:
    """rapper's path; CI installs raptor2-utils, so its absence there fails the test."""
    found = shutil.which("rapper")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("rapper is missing in CI: .ci/run must install raptor2-utils")
    pytest.skip("rapper (Debian raptor2-utils) is not installed on this machine")


def by_rapper(path: Path) -> set[str]:
    """raptor's strict reading, written back as N-Triples and read by pyoxigraph."""
    done = subprocess.run(
        [rapper_or_skip(), "-q", "-i", _RAPPER_SYNTAX[path.suffix], "-o", "ntriples", str(path)],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    return canonical(ox.parse(done.stdout, format=ox.RdfFormat.N_TRIPLES))


@pytest.fixture(scope="session")
def published(tmp_path_factory) -> Path:
    """The bundled data published once, through the library function the CLI calls."""
    from kzld.publishing.publication import publish

    out = tmp_path_factory.mktemp("published") / "public"
    publish(None, out)
    return out


@pytest.fixture(scope="session")
def expected(bundled_graph) -> dict[str, set[str]]:
    """What each part must hold: computed from the load path, not from the writers."""
    from kzld.loading.graph import load_graph
    from kzld.loading.resources import bundled

    everything = canonical(bundled_graph.triples)
    ontology = canonical(load_graph([bundled("ontology")]).triples)
    return {"kzld": everything, "kzld-ontology": ontology, "kzld-data": everything - ontology}


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0]


@pytest.mark.parametrize("name", DUMPS)
def test_dump_reparses_with_pyoxigraph(published, expected, name):
    assert by_oxigraph(published / name) == expected[_stem(name)]


@pytest.mark.parametrize("name", DUMPS)
def test_dump_reparses_with_rdflib(published, expected, name, monkeypatch):
    assert by_rdflib(published / name, monkeypatch) == expected[_stem(name)]


@pytest.mark.parametrize("name", [n for n in DUMPS if n.endswith(".jsonld")])
def test_jsonld_dump_reparses_with_pyld(published, expected, name):
    assert by_pyld(published / name) == expected[_stem(name)]


@pytest.mark.parametrize("name", [n for n in DUMPS if not n.endswith(".jsonld")])
def test_dump_reparses_with_rapper(published, expected, name):
    assert by_rapper(published / name) == expected[_stem(name)]


def test_description_reparses_identically_everywhere(published, monkeypatch):
    path = published / "dataset.ttl"
    by_ox = by_oxigraph(path)
    assert by_ox == by_rdflib(path, monkeypatch) == by_rapper(path)
    assert any("http://rdfs.org/ns/void#triples" in line for line in by_ox)


def test_authored_literals_are_kept_as_written(published, bundled_graph):
    """The store canonicalises lexical forms; the dumps must not."""
    authored = {str(t.object) for t in bundled_graph.triples if isinstance(t.object, ox.Literal)}
    for name in ("kzld.ttl", "kzld.nt", "kzld.jsonld"):
        dumped = {
            str(t.object)
            for t in ox.parse(path=str(published / name), format=_OX_FORMAT[Path(name).suffix])
            if isinstance(t.object, ox.Literal)
        }
        assert dumped == authored, name


@pytest.mark.parametrize("name", DUMPS)
def test_dump_loads_into_a_pyoxigraph_store(published, expected, name):
    store = ox.Store()
    store.load(path=str(published / name), format=_OX_FORMAT[Path(name).suffix])
    assert len(store) == len(expected[_stem(name)])
    persons = store.query(
        "ASK { ?p a <https://w3id.org/kzld/ontology#Person> ; "
        "<http://www.w3.org/2000/01/rdf-schema#label> ?l }"
    )
    assert bool(persons) == (_stem(name) != "kzld-ontology")


@pytest.mark.parametrize("name", DUMPS)
def test_dump_loads_into_an_rdflib_dataset(published, expected, name):
    import rdflib

    dataset = rdflib.Dataset()
    graph = dataset.graph(rdflib.URIRef("https://w3id.org/kzld/dataset"))
    graph.parse(str(published / name), format=_RDFLIB_FORMAT[Path(name).suffix])
    assert len(dataset) == len(expected[_stem(name)])
    rows = list(
        dataset.query(
            "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
        )
    )
    assert int(rows[0][0]) == len(expected[_stem(name)])


def test_jsonld_dumps_carry_the_published_context_inline(published):
    import json

    context = json.loads((published / "context.jsonld").read_text("utf-8"))["@context"]
    for name in DUMPS:
        if name.endswith(".jsonld"):
            document = json.loads((published / name).read_text("utf-8"))
            assert document["@context"] == context, name
    # Only prefixes and term definitions: nothing a processor would go and fetch.
    assert isinstance(context, dict) and "@import" not in context
    for key, value in context.items():
        assert isinstance(value, str) or set(value) <= {"@id", "@type"}, key
