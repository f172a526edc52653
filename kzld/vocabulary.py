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
