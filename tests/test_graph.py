"""The load path keeps one kind of term container and refuses what other tools misread."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from kzld.errors import InputError
from kzld.graph import load_graph


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
