"""Data quality beyond SHACL: vocabulary, ontology metadata, verbatim quotes, verified QIDs."""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest

from kzld.loading.graph import KGraph, load_graph
from kzld.loading.resources import bundled

KZ = "https://w3id.org/kzld/ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS = "http://www.w3.org/2004/02/skos/core#"
WD = "http://www.wikidata.org/entity/"
ONTOLOGY = "https://w3id.org/kzld/ontology"
TRUE = ox.Literal("true", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#boolean"))

# Verified in ../shared/reference/wikidata.md; the second row are the class and property
# items the ontology's alignment uses.
VERIFIED_QIDS = set(
    "Q232 Q200881 Q56825894 Q5256775 Q2416315 Q3814905 Q2995409 Q318693 Q159 Q35493 Q1520 "
    "Q486657 Q238931 Q485088 Q486144".split()
) | set("Q5 Q43229 Q4164871 Q1656682 Q176799 Q4676846".split())

# SSSOM's two terms used by data/wikidata-mapping.ttl (the reconciliation decisions).
SSSOM_TERMS = {"https://w3id.org/sssom/MappingSet", "https://w3id.org/sssom/confidence"}


def _standard_vocabularies():
    from rdflib.namespace import DCTERMS, ORG, OWL, PROV, RDF, RDFS, SDO, SKOS, XSD

    return [RDF, RDFS, OWL, XSD, SKOS, DCTERMS, SDO, PROV, ORG]


def is_standard_term(iri: str) -> bool:
    """A term a standard vocabulary defines (closed lists: a misspelt term is not one)."""
    if iri in SSSOM_TERMS:
        return True
    for vocabulary in _standard_vocabularies():
        namespace = str(vocabulary._NS)
        if iri.startswith(namespace):
            return hasattr(vocabulary, iri[len(namespace) :])
    return False


@pytest.fixture(scope="module")
def data() -> KGraph:
    return load_graph([bundled("data")])


@pytest.fixture(scope="module")
def ontology() -> KGraph:
    return load_graph([bundled("ontology")])


def declared_terms(ontology: KGraph) -> set[str]:
    return {
        t.subject.value
        for t in ontology.triples
        if t.predicate.value == RDF_TYPE and isinstance(t.subject, ox.NamedNode)
    }


def test_every_class_and_property_used_in_data_is_declared(data, ontology):
    declared = declared_terms(ontology)
    used = {t.predicate.value for t in data.triples} | {
        t.object.value for t in data.triples if t.predicate.value == RDF_TYPE
    }
    # kz: IRIs used as values too: end causes, supported and disputed properties.
    used |= {
        t.object.value
        for t in data.triples
        if isinstance(t.object, ox.NamedNode) and t.object.value.startswith(KZ)
    }
    undeclared = sorted(u for u in used if u not in declared and not is_standard_term(u))
    assert not undeclared, f"used in data/ but declared nowhere: {undeclared}"


def test_standard_term_check_catches_misspellings():
    assert is_standard_term("http://purl.org/dc/terms/title")
    assert not is_standard_term("http://purl.org/dc/terms/titel")
    assert not is_standard_term(KZ + "holder")


def _values(graph: KGraph, subject: str, predicate: str) -> list[ox.Term]:
    return [
        t.object
        for t in graph.triples
        if t.subject.value == subject and t.predicate.value == predicate
    ]


def test_ontology_header_metadata(ontology):
    dcterms = "http://purl.org/dc/terms/"
    owl = "http://www.w3.org/2002/07/owl#"
    assert ox.NamedNode(owl + "Ontology") in _values(ontology, ONTOLOGY, RDF_TYPE)
    for predicate in ("title", "description", "license", "creator"):
        assert _values(ontology, ONTOLOGY, dcterms + predicate), f"no dcterms:{predicate}"
    [version_iri] = _values(ontology, ONTOLOGY, owl + "versionIRI")
    [version] = _values(ontology, ONTOLOGY, owl + "versionInfo")
    assert version_iri.value == f"{ONTOLOGY}/{version.value}"
    [title] = _values(ontology, ONTOLOGY, dcterms + "title")
    assert title.language == "en"


def kz_terms(ontology: KGraph) -> list[str]:
    owl = "http://www.w3.org/2002/07/owl#"
    kinds = {
        owl + "Class",
        owl + "ObjectProperty",
        owl + "DatatypeProperty",
        owl + "AnnotationProperty",
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#Property",
    }
    return sorted(
        {
            t.subject.value
            for t in ontology.triples
            if t.predicate.value == RDF_TYPE
            and t.object.value in kinds
            and t.subject.value.startswith(KZ)
        }
    )


def test_every_kz_term_has_label_definition_and_wikidata_decision(ontology):
    terms = kz_terms(ontology)
    assert len(terms) > 50
    problems = []
    for term in terms:
        labels = [v for v in _values(ontology, term, RDFS_LABEL) if v.language == "en"]
        definitions = [
            v for v in _values(ontology, term, SKOS + "definition") if v.language == "en"
        ]
        mapped = [
            v
            for p in ("exactMatch", "closeMatch")
            for v in _values(ontology, term, SKOS + p)
            if v.value.startswith(WD)
        ]
        none = TRUE in _values(ontology, term, KZ + "noWikidataCounterpart")
        annotation = ox.NamedNode("http://www.w3.org/2002/07/owl#AnnotationProperty")
        if len(labels) != 1:
            problems.append(f"{term}: {len(labels)} English labels")
        if not definitions:
            problems.append(f"{term}: no English skos:definition")
        # The mapping vocabulary's own annotation properties describe mappings.
        if not mapped and not none and annotation not in _values(ontology, term, RDF_TYPE):
            problems.append(f"{term}: neither a wd: mapping nor kz:noWikidataCounterpart true")
    assert not problems, "\n".join(problems)


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_seed_quotes_occur_verbatim(bundled_graph, seeds_dir: Path):
    seed_class = ox.NamedNode(KZ + "SeedArticle")
    seed_files = {
        t.subject: t.object.value
        for t in bundled_graph.triples
        if t.predicate.value == KZ + "seedFile"
    }
    seeds = {
        t.subject
        for t in bundled_graph.triples
        if t.predicate.value == RDF_TYPE and t.object == seed_class
    }
    assert seeds and set(seed_files) == seeds
    texts = {
        seed: _normalise((seeds_dir / name).read_text(encoding="utf-8"))
        for seed, name in seed_files.items()
    }
    sources = {
        t.subject: t.object for t in bundled_graph.triples if t.predicate.value == KZ + "source"
    }
    checked, missing = 0, []
    for t in bundled_graph.triples:
        if t.predicate.value != KZ + "quote" or sources.get(t.subject) not in seeds:
            continue
        checked += 1
        seed = sources[t.subject]
        if _normalise(t.object.value) not in texts[seed]:
            missing.append(f"{seed_files[seed]}: {t.object.value!r}")
    assert checked > 50
    assert not missing, "quotes not found verbatim in their seed:\n" + "\n".join(missing)


def test_quote_normalisation_touches_only_whitespace():
    assert _normalise(" a \n\t b  ") == "a b"
    assert _normalise("Kazakhstan’s") != _normalise("Kazakhstan's")
    assert _normalise("Tokayev") != _normalise("tokayev")


def _qids(graph: KGraph) -> set[str]:
    found = set()
    for t in graph.triples:
        for term in (t.subject, t.predicate, t.object):
            if isinstance(term, ox.NamedNode) and term.value.startswith(WD):
                found.add(term.value[len(WD) :])
            elif isinstance(term, ox.Literal):
                found.update(re.findall(r"\bQ[1-9][0-9]*\b", term.value))
    return found


def test_only_verified_qids_in_data(data):
    unverified = sorted(_qids(data) - VERIFIED_QIDS)
    assert not unverified, f"QIDs not on the verified list: {unverified}"


def test_only_verified_qids_in_ontology(ontology):
    items = {q for q in _qids(ontology) if q.startswith("Q")}
    assert items <= VERIFIED_QIDS, sorted(items - VERIFIED_QIDS)


def test_qid_check_catches_an_unverified_item(tmp_path):
    path = tmp_path / "x.ttl"
    path.write_text(
        "<https://w3id.org/kzld/id/person/x> <https://w3id.org/kzld/ontology#wikidataEntity>"
        " <http://www.wikidata.org/entity/Q42> .\n",
        encoding="utf-8",
    )
    assert _qids(load_graph([path])) - VERIFIED_QIDS == {"Q42"}
