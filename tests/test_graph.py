"""The load path keeps one kind of term container and refuses what other tools misread."""

from __future__ import annotations

import gc

import pyoxigraph as ox
import pytest

from kzld.errors import InputError
from kzld.loading.graph import GENID, load_graph


def test_triples_are_triples_with_and_without_blank_nodes(tmp_path):
    (tmp_path / "plain.ttl").write_text('<http://example.org/a> <http://example.org/p> "x" .\n')
    (tmp_path / "blank.ttl").write_text(
        '<http://example.org/b> <http://example.org/p> [ <http://example.org/q> "y" ] .\n'
    )
    graph = load_graph([tmp_path])
    assert {type(t) for t in graph.triples} == {ox.Triple}
    again = load_graph([tmp_path / "plain.ttl"])
    assert again.triples[0] in set(graph.triples)


def test_nul_character_in_a_literal_is_refused_with_its_line(tmp_path):
    data = tmp_path / "nul.ttl"
    data.write_text(
        '<http://example.org/a> <http://example.org/p> "fine" .\n'
        '<http://example.org/a> <http://example.org/q> "cut\\u0000here" .\n'
    )
    with pytest.raises(InputError, match=r"nul\.ttl:2: literal holds a NUL"):
        load_graph([data])


# The fast paths: N-Triples and Turtle are scanned as bytes, and only a file that may hold a
# blank node or a doubtful term has its triples checked one by one.

A = "<http://example.org/a>"
P = "<http://example.org/p>"


def _store_triples(graph):
    return {quad.triple for quad in graph.store()}


def test_blank_node_in_ntriples_is_skolemised(tmp_path):
    data = tmp_path / "blank.nt"
    data.write_text(f'{A} {P} _:b1 .\n_:b1 {P} "x" .\n')
    graph = load_graph([data])
    terms = [term for t in graph.triples for term in (t.subject, t.object)]
    assert not any(isinstance(term, ox.BlankNode) for term in terms)
    assert any(isinstance(term, ox.NamedNode) and term.value.startswith(GENID) for term in terms)
    assert _store_triples(graph) == set(graph.triples)


def test_literals_that_look_like_blank_nodes_or_iris_are_kept_as_written(tmp_path):
    data = tmp_path / "lookalikes.nt"
    text = f'{A} {P} "_:b1 and <file:///etc/passwd> (a [list])" .\n{A} {P} "\\\\u0000" .\n'
    data.write_text(text)
    graph = load_graph([data])
    assert [t.object.value for t in graph.triples] == [
        "_:b1 and <file:///etc/passwd> (a [list])",
        "\\u0000",
    ]
    assert _store_triples(graph) == set(graph.triples)


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        (f"{A} {P} <file:///etc/passwd> .", ":2: ", "IRI <file:///etc/passwd> uses a scheme"),
        # Written escaped, the IRI is not found in the text: the file is still named.
        (f"{A} {P} <\\u0066ile:///etc/passwd> .", ": ", "IRI <file:///etc/passwd> uses a"),
        (f'{A} {P} "cut\\u0000here" .', ":2: ", "literal holds a NUL"),
        (f'{A} {P} "half \\uD800" .', ":2:", "D800"),
    ],
)
def test_doubtful_terms_in_ntriples_are_refused(tmp_path, text, where, words):
    data = tmp_path / "doubtful.nt"
    data.write_text(f'{A} {P} "fine" .\n{text}\n')
    with pytest.raises(InputError) as caught:
        load_graph([data])
    assert caught.value.message.startswith(f"{data}{where}")
    assert words in caught.value.message


def test_prefix_with_a_refused_scheme_is_refused(tmp_path):
    data = tmp_path / "prefix.ttl"
    data.write_text(f"@prefix f: <file:///etc/> .\n\n{A} {P} f:passwd .\n")
    with pytest.raises(InputError, match=r"IRI <file:///etc/passwd> uses a scheme"):
        load_graph([data])


def test_store_holds_the_triples_of_every_file_once(tmp_path):
    (tmp_path / "one.nt").write_text(f'{A} {P} "x" .\n{A} {P} "x" .\n{A} {P} "y"@en .\n')
    (tmp_path / "two.ttl").write_text(
        f'@prefix ex: <http://example.org/> .\n{A} {P} "y"@en .\nex:b ex:p "z" .\n'
    )
    graph = load_graph([tmp_path])
    assert len(graph) == 3
    assert _store_triples(graph) == set(graph.triples)
    assert len(graph.store()) == 3


def test_garbage_collector_is_on_after_a_load_that_succeeds_or_fails(tmp_path):
    (tmp_path / "good.nt").write_text(f'{A} {P} "x" .\n')
    (tmp_path / "bad.nt").write_text(f"{A} {P} <file:///x> .\n")
    load_graph([tmp_path / "good.nt"])
    assert gc.isenabled()
    with pytest.raises(InputError):
        load_graph([tmp_path / "bad.nt"])
    assert gc.isenabled()


@pytest.mark.parametrize("prepare_store", [False, True], ids=["on-demand", "background"])
def test_store_of_every_kind_of_file_is_the_graph(tmp_path, prepare_store):
    # Each way a file reaches the store: its bytes before the parse (no blank node can be
    # in them), its bytes after it (a "(" that is no list), its skolemised triples, and
    # JSON-LD's triples; duplicates across files stored once.
    (tmp_path / "a-exact.nt").write_text(f'{A} {P} "x" .\n')
    (tmp_path / "b-maybe.nt").write_text(f'{A} {P} "(not a list)" .\n{A} {P} "x" .\n')
    (tmp_path / "c-blank.ttl").write_text(f'{A} {P} [ {P} "y" ] .\n')
    (tmp_path / "d.jsonld").write_text(
        '{"@id": "http://example.org/a", "http://example.org/p": "z"}\n'
    )
    graph = load_graph([tmp_path], prepare_store=prepare_store)
    assert len(graph) == 5
    assert _store_triples(graph) == set(graph.triples)
    assert len(graph.store()) == 5


def test_a_refused_file_stops_the_background_store(tmp_path):
    import threading

    (tmp_path / "a-good.nt").write_text(f'{A} {P} "x" .\n' * 2000)
    (tmp_path / "b-bad.nt").write_text(f"{A} {P} <file:///x> .\n")
    with pytest.raises(InputError, match=r"b-bad\.nt:1: IRI <file:///x>") as refused:
        load_graph([tmp_path], prepare_store=True)
    # The traceback still holds the load path's frames: its loading thread ends all the same.
    loaders = [t for t in threading.enumerate() if t.name.startswith("kzld-store")]
    for thread in loaders:
        thread.join(timeout=10)
    assert refused.traceback and not [t for t in loaders if t.is_alive()]


@pytest.mark.parametrize("prepare_store", [False, True], ids=["on-demand", "background"])
def test_merged_graph_and_both_its_parts_query_as_their_triples(tmp_path, prepare_store):
    from kzld.loading.graph import merge_graphs

    (tmp_path / "data.nt").write_text(f'{A} {P} "x" .\n{A} {P} "shared" .\n')
    (tmp_path / "extra.ttl").write_text(f'{A} {P} "shared" .\n{A} {P} [ {P} "y" ] .\n')
    data = load_graph([tmp_path / "data.nt"], prepare_store=prepare_store)
    extra = load_graph([tmp_path / "extra.ttl"])
    merged = merge_graphs(data, extra)
    assert len(merged) == 4
    assert merged.origin_of(ox.NamedNode("http://example.org/a")) == tmp_path / "data.nt"
    assert _store_triples(merged) == set(merged.triples)
    # The data graph gave its loading store away, and still answers for its own triples.
    assert _store_triples(data) == set(data.triples) and len(data.store()) == 2
    assert _store_triples(extra) == set(extra.triples)


def test_blank_nodes_that_say_nothing_get_the_same_iri_in_every_load(tmp_path):
    # A node with no triples of its own, under another blank node: its parser label is random,
    # so neither it nor the node pointing at it may be named after that label.
    path = tmp_path / "leaf.ttl"
    path.write_text(
        "@prefix ex: <http://example.org/> .\n"
        "ex:a ex:p [ ex:q _:leaf ] .\n"
        "ex:b ex:p [ ex:r [ ex:s [] ] ] .\n",
        encoding="utf-8",
    )
    first, second = (sorted(map(str, load_graph([path]).triples)) for _ in range(2))
    assert first == second
    assert len(first) == 5
