"""The namespaces and base IRIs kzld reads and writes, declared once for every stage."""

from __future__ import annotations

# kzld's own IRIs
KZ = "https://w3id.org/kzld/ontology#"
ONTOLOGY = "https://w3id.org/kzld/ontology"  # the ontology document itself
ID = "https://w3id.org/kzld/id/"  # described entities: persons, posts, tenures, sources
GENID = "https://w3id.org/kzld/.well-known/genid/"  # skolemised blank nodes
DATASET = "https://w3id.org/kzld/dataset"
DUMP = "https://w3id.org/kzld/dump/"

# standard vocabularies
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SH = "http://www.w3.org/ns/shacl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCTERMS = "http://purl.org/dc/terms/"
DCAT = "http://www.w3.org/ns/dcat#"
VOID = "http://rdfs.org/ns/void#"
PROV = "http://www.w3.org/ns/prov#"
SPDX = "http://spdx.org/rdf/terms#"
SCHEMA = "https://schema.org/"
IANA = "https://www.iana.org/assignments/media-types/"
WD = "http://www.wikidata.org/entity/"
ORG = "http://www.w3.org/ns/org#"
WDT = "http://www.wikidata.org/prop/direct/"
WIKIBASE = "http://wikiba.se/ontology#"
KSH = "https://w3id.org/kzld/shapes#"  # kzld's SHACL shapes

# Wikidata's RDF dump shape: statements, qualifiers, references and their full values
WIKIDATA_PROP = "http://www.wikidata.org/prop/"

# Every prefix kzld writes, one name a namespace. Each writer picks the names it needs by
# prefixes(), so a prefix means the same namespace in every file kzld writes.
PREFIXES: dict[str, str] = {
    "kz": KZ,
    "ksh": KSH,
    "rdf": RDF,
    "rdfs": RDFS,
    "owl": OWL,
    "xsd": XSD,
    "sh": SH,
    "skos": SKOS,
    "dcterms": DCTERMS,
    "org": ORG,
    "prov": PROV,
    "schema": SCHEMA,
    "wd": WD,
    "wdt": WDT,
    "p": WIKIDATA_PROP,
    "ps": WIKIDATA_PROP + "statement/",
    "psv": WIKIDATA_PROP + "statement/value/",
    "pq": WIKIDATA_PROP + "qualifier/",
    "pqv": WIKIDATA_PROP + "qualifier/value/",
    "pr": WIKIDATA_PROP + "reference/",
    "prv": WIKIDATA_PROP + "reference/value/",
    "wikibase": WIKIBASE,
    "void": VOID,
    "dcat": DCAT,
    "spdx": SPDX,
    "id": ID,
    "genid": GENID,
}


def prefixes(*names: str) -> tuple[tuple[str, str], ...]:
    """(name, namespace) of each named prefix, in the order given."""
    return tuple((name, PREFIXES[name]) for name in names)
