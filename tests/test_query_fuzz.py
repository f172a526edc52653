"""Property tests: a random parameter string never changes a query; it is bound as one
term or refused."""

from __future__ import annotations

import re

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rdflib import Literal
from rdflib.plugins.sparql import prepareQuery

from kzld.errors import UsageError
from kzld.querying import queries

CATALOGUE = queries.catalogue()
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Text that looks like SPARQL is more likely to break a naive binder than random letters.
SPARQLISH = st.text(
    alphabet=st.sampled_from(list("<>{}()\"'\\#.;?$ \n\t^@:-_") + list("aSELCTdrop01é中")),
    max_size=40,
)
ANY_TEXT = st.one_of(SPARQLISH, st.text(max_size=40))


@pytest.fixture(scope="module")
def engine(bundled_graph):
    return queries.LocalEngine(bundled_graph.store(), timeout=60)


@pytest.fixture(scope="module")
def known(engine):
    """Every thing a name parameter may resolve to, by kind."""
    things = {}
    for kind in ("post", "person", "org", "type"):
        lookup = queries.lookup_text("types" if kind == "type" else "names")
        found = engine.select(lookup, {"class": ox.NamedNode(queries._NAMED_KINDS[kind])})
        things[kind] = {row[found.columns.index("thing")] for row in found.rows}
    return things


@SETTINGS
@given(value=ANY_TEXT, kind=st.sampled_from(["post", "person", "org", "type"]))
def test_a_name_resolves_to_a_known_thing_or_is_refused(engine, known, value, kind):
    try:
        term = queries.resolve(engine, kind, value)
    except UsageError:
        return
    assert term in known[kind]


@SETTINGS
@given(value=ANY_TEXT)
def test_a_date_is_a_date_literal_or_refused(value):
    try:
        term = queries.parse_date(value)
    except UsageError:
        return
    assert re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", term.value)
    assert term.datatype.value.startswith(queries.XSD)


def _canonical(node, masked: set[Literal]):
    """rdflib's algebra as nested tuples, sets sorted, the bound literals masked."""
    if isinstance(node, Literal):
        return ("<VALUE>",) if node in masked else ("literal", node.n3())
    if isinstance(node, dict):  # CompValue is a dict with a name
        items = tuple(sorted((str(k), _canonical(v, masked)) for k, v in node.items()))
        return (getattr(node, "name", "dict"), items)
    if isinstance(node, set | frozenset):
        return ("set", tuple(sorted(repr(_canonical(v, masked)) for v in node)))
    if isinstance(node, list | tuple):
        return ("list", tuple(_canonical(v, masked) for v in node))
    return ("term", repr(node))


def _masked_algebra(text: str, masked: set[Literal]):
    return _canonical(prepareQuery(text).algebra, masked)


@settings(max_examples=30, deadline=None)
@given(value=ANY_TEXT, name=st.sampled_from(sorted(CATALOGUE)))
@example(value="", name="sources")  # "" also occurs in the query text itself
@example(value='x" } ; DROP ALL ; #', name="successors")
def test_a_literal_in_the_values_block_never_changes_the_query(value, name):
    text = CATALOGUE[name].text
    variable = "anything"
    sent = queries.with_values(text, {variable: ox.Literal(value)})
    harmless = queries.with_values(text, {variable: ox.Literal("harmless")})
    written = str(ox.Literal(value))
    # The query text is kept whole around one VALUES block holding the term ...
    cut = queries.where_opening(text) + 1
    assert sent == text[:cut] + f" VALUES (?{variable}) {{ ({written}) }}" + text[cut:]
    # ... which parses back to exactly that one term ...
    (triple,) = ox.parse(f"<urn:s> <urn:p> {written} .", format=ox.RdfFormat.N_TRIPLES)
    assert triple.object == ox.Literal(value)
    # ... and the query's algebra is unchanged but for the value.
    ox.Store().query(sent)
    masked = {Literal(value), Literal("harmless")}
    assert _masked_algebra(sent, masked) == _masked_algebra(harmless, masked)


@SETTINGS
@given(value=ANY_TEXT)
def test_a_bound_literal_is_only_a_term(engine, value):
    # A literal where a post belongs matches nothing: it cannot add patterns or rows.
    canned = CATALOGUE["successors"]
    result = engine.select(canned.text, {"post": ox.Literal(value)})
    assert result.rows == []
