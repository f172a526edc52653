"""The Python API beyond the README's examples: the rdflib view of a loaded graph."""

from __future__ import annotations

import rdflib

import kzld

KZ = "https://w3id.org/kzld/ontology#"


def test_load_rdflib_is_the_loaded_graph_seen_through_rdflib(tmp_path):
    data = tmp_path / "extra.ttl"
    data.write_text(
        f"<https://w3id.org/kzld/id/person/a> a <{KZ}Person> ;\n"
        f'    <{KZ}note> "01"^^<http://www.w3.org/2001/XMLSchema#integer> .\n',
        encoding="utf-8",
    )
    graph = kzld.load_rdflib([data])
    assert len(graph) == len(kzld.load([data])) == 2
    person = rdflib.URIRef("https://w3id.org/kzld/id/person/a")
    assert (person, rdflib.RDF.type, rdflib.URIRef(KZ + "Person")) in graph
    # The store's canonical form, as in kzld's SPARQL answers; .triples keep the authored.
    assert [str(o) for o in graph.objects(person, rdflib.URIRef(KZ + "note"))] == ["1"]
    assert [
        t.object.value for t in kzld.load([data]).triples if t.predicate.value.endswith("note")
    ] == ["01"]
    rows = graph.query(f"SELECT ?who {{ ?who a <{KZ}Person> }}")
    assert [row.who for row in rows] == [person]


def test_load_rdflib_refuses_what_load_refuses(tmp_path):
    import pytest

    from kzld.errors import InputError

    bad = tmp_path / "bad.ttl"
    bad.write_text("<a> <b> .\n", encoding="utf-8")
    with pytest.raises(InputError, match="bad.ttl"):
        kzld.load_rdflib([bad])
