"""Property tests: random graphs in kzld's model round-trip through every dump writer."""

from __future__ import annotations

import datetime
import functools
import json

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_roundtrip import canonical, from_rdflib

KZ = "https://w3id.org/kzld/ontology#"
ID = "https://w3id.org/kzld/id/"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
GENID = "https://w3id.org/kzld/.well-known/genid/"
TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


@functools.cache
def context() -> dict:
    from kzld.loading.graph import load_graph
    from kzld.loading.resources import bundled
    from kzld.publishing.jsonld import build_context

    return build_context(load_graph([bundled("ontology")]).triples)


def kz(name: str) -> ox.NamedNode:
    return ox.NamedNode(KZ + name)


# Any character but lone surrogates (not text; the load path refuses them).
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
languages = st.sampled_from(["en", "ru", "kk", "ar", "he", "en-gb", "kk-cyrl", "zh-hant-tw"])
slugs = st.one_of(
    st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True),
    # Slugs a prefixed name cannot hold: the writers must fall back to full IRIs.
    st.text("abz09-_.~%:/#?@!$&'()*+,;=éЖ", min_size=1, max_size=12),
)


@st.composite
def iris(draw, kind: str) -> ox.NamedNode:
    slug = draw(slugs)
    try:
        node = ox.NamedNode(f"{ID}{kind}/{slug}")
        ox.parse(f"<{node.value}> <{KZ}p> <{node.value}> .", format=ox.RdfFormat.N_TRIPLES)
    except (ValueError, SyntaxError):
        assume(False)
    return node


@st.composite
def dates(draw) -> ox.Literal:
    day = draw(st.dates(min_value=datetime.date(1000, 1, 1)))
    precision = draw(st.sampled_from(["date", "gYearMonth", "gYear"]))
    lexical = {"date": day.isoformat(), "gYearMonth": day.isoformat()[:7], "gYear": str(day.year)}
    return ox.Literal(lexical[precision], datatype=ox.NamedNode(XSD + precision))


@st.composite
def names(draw) -> list[ox.Literal]:
    label = ox.Literal(draw(text), language="en")
    others = draw(st.lists(st.builds(ox.Literal, text, language=languages), max_size=3))
    return [label, *others]


@st.composite
def graphs(draw) -> list[ox.Triple]:
    """Persons, posts and tenures with evidence, as the ontology describes them."""
    triples: list[ox.Triple] = []
    persons = draw(st.lists(iris("person"), min_size=1, max_size=4, unique=True))
    posts = draw(st.lists(iris("post"), min_size=1, max_size=3, unique=True))
    for thing, cls in [(p, "Person") for p in persons] + [(p, "Post") for p in posts]:
        triples.append(ox.Triple(thing, TYPE, kz(cls)))
        label, *others = draw(names())
        triples.append(ox.Triple(thing, ox.NamedNode(RDFS + "label"), label))
        triples += [ox.Triple(thing, ox.NamedNode(SKOS + "altLabel"), o) for o in others]
    for n in range(draw(st.integers(0, 4))):
        tenure = draw(iris("tenure"))
        triples += [
            ox.Triple(tenure, TYPE, kz("Tenure")),
            ox.Triple(tenure, kz("holder"), draw(st.sampled_from(persons))),
            ox.Triple(tenure, kz("post"), draw(st.sampled_from(posts))),
        ]
        for prop in draw(st.lists(st.sampled_from(["start", "end", "heldOn"]), unique=True)):
            triples.append(ox.Triple(tenure, kz(prop), draw(dates())))
        if draw(st.booleans()):
            cause = draw(st.sampled_from(["dismissed", "resigned", "removed"]))
            triples.append(ox.Triple(tenure, kz("endCause"), kz(cause)))
        if draw(st.booleans()):
            flag = draw(st.sampled_from(["true", "false", "1", "0"]))
            triples.append(
                ox.Triple(
                    tenure, kz("acting"), ox.Literal(flag, datatype=ox.NamedNode(XSD + "boolean"))
                )
            )
        evidence = ox.NamedNode(
            f"{GENID}{n:02x}{draw(st.from_regex(r'[0-9a-f]{8}', fullmatch=True))}"
        )
        quote = ox.Literal(draw(text), language=draw(st.sampled_from(["en", "ru"])))
        triples += [
            ox.Triple(tenure, kz("evidence"), evidence),
            # "" gives .../id//slug: an IRI whose compact form would read as a path.
            ox.Triple(evidence, kz("source"), draw(iris(draw(st.sampled_from(["source", ""]))))),
            ox.Triple(evidence, kz("quote"), quote),
            ox.Triple(
                evidence, kz("supports"), kz(draw(st.sampled_from(["start", "end", "post"])))
            ),
        ]
        if draw(st.booleans()):  # a value the data gets wrong: a literal where an IRI goes
            triples.append(ox.Triple(tenure, kz("post"), ox.Literal(draw(text))))
    return sorted(set(triples), key=str)


def _parse_rdflib(body: bytes, fmt: str) -> set[str]:
    import rdflib

    graph = rdflib.Graph().parse(data=body, format=fmt)
    return canonical(ox.Triple(*(from_rdflib(term) for term in t)) for t in graph)


WRITERS = ["turtle", "ntriples", "jsonld"]
_OX = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
}
_RDFLIB = {"turtle": "turtle", "ntriples": "nt", "jsonld": "json-ld"}


def _write(fmt: str, triples: list[ox.Triple]) -> bytes:
    from kzld.publishing.jsonld import write_jsonld
    from kzld.publishing.publication import dump_order, ntriples_lines, write_ntriples, write_turtle

    lines = ntriples_lines(triples)
    writers = {
        "turtle": lambda: write_turtle(dump_order(lines)),
        "ntriples": lambda: write_ntriples(lines),
        "jsonld": lambda: write_jsonld(lines, context()),
    }
    return writers[fmt]()


@pytest.mark.parametrize("fmt", WRITERS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(triples=graphs())
def test_random_graphs_round_trip(fmt, triples, monkeypatch_module):
    body = _write(fmt, triples)
    want = canonical(triples)
    assert canonical(ox.parse(body, format=_OX[fmt])) == want
    assert _parse_rdflib(body, _RDFLIB[fmt]) == want
    assert _write(fmt, triples) == body  # and the same bytes every time
    if fmt == "jsonld":
        assert json.loads(body)["@context"] == context()
        # The build reads JSON-LD back with the streaming profile's parser: it must agree.
        assert canonical(ox.parse(body, format=ox.RdfFormat.STREAMING_JSON_LD)) == want


@pytest.fixture(scope="module")
def monkeypatch_module():
    """rdflib normalises literals on parsing by default; the test compares lexical forms."""
    import rdflib

    patch = pytest.MonkeyPatch()
    patch.setattr(rdflib, "NORMALIZE_LITERALS", False)
    yield patch
    patch.undo()


AWKWARD_IRIS = [
    ID + "/" + "/after-two-slashes",  # "kzid://after..." would read as an absolute IRI
    ID + "person/ends-with-a-dot.",
    ID + "person/a:b#c?d=e",
    ID + "person/%C3%A9t%C3%A9",
    ID + "person/Жанна",
    GENID + "0123456789abcdef",
    "urn:kzld:x:y",
    "tag:kzld.example,2024:thing",
    "mailto:someone@example.org",
]


@pytest.mark.parametrize("fmt", WRITERS)
@pytest.mark.parametrize("iri", AWKWARD_IRIS)
def test_awkward_iris_round_trip(fmt, iri, monkeypatch_module):
    node = ox.NamedNode(iri)
    triples = sorted([ox.Triple(node, kz("holder"), node), ox.Triple(node, TYPE, node)], key=str)
    body = _write(fmt, triples)
    assert canonical(ox.parse(body, format=_OX[fmt])) == canonical(triples)
    assert _parse_rdflib(body, _RDFLIB[fmt]) == canonical(triples)
