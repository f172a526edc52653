"""The dataset description (VoID and DCAT) of a publication: counts, partitions, files."""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pyoxigraph as ox

from kzld import __version__
from kzld.errors import UsageError

DATASET = "https://w3id.org/kzld/dataset"
DOWNLOAD = "https://w3id.org/kzld/dump/"
DATA_LICENSE = "https://creativecommons.org/licenses/by/4.0/"
CODE_LICENSE = "https://spdx.org/licenses/MIT"

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_XSD = "http://www.w3.org/2001/XMLSchema#"
_DCT = "http://purl.org/dc/terms/"
_VOID = "http://rdfs.org/ns/void#"
_DCAT = "http://www.w3.org/ns/dcat#"
_SPDX = "http://spdx.org/rdf/terms#"
_PROV = "http://www.w3.org/ns/prov#"
_SCHEMA = "https://schema.org/"
_KZ = "https://w3id.org/kzld/ontology#"
_IANA = "https://www.iana.org/assignments/media-types/"

_DATE = re.compile(r"^(-?\d{4,})(?:-(\d\d))?(?:-(\d\d))?")


@dataclass(frozen=True)
class PublishedFile:
    """One file of a publication: which part of the graph it holds, its size and digest."""

    name: str
    part: str  # "all" | "ontology" | "data" | "" (not a dump)
    format_name: str
    media_type: str
    size: int
    sha256: str


def describe(
    graph: Sequence[ox.Triple],
    ontology_size: int,
    data_size: int,
    files: Sequence[PublishedFile],
) -> list[ox.Triple]:
    """VoID and DCAT triples describing the dataset and each of its dump files."""
    out: list[ox.Triple] = []

    def add(s: str, p: str, o: ox.NamedNode | ox.Literal) -> None:
        out.append(ox.Triple(ox.NamedNode(s), ox.NamedNode(p), o))

    def iri(value: str) -> ox.NamedNode:
        return ox.NamedNode(value)

    def count(n: int) -> ox.Literal:
        return ox.Literal(str(n), datatype=iri(_XSD + "integer"))

    def text(value: str) -> ox.Literal:
        return ox.Literal(value, language="en")

    parts = {"all": DATASET, "ontology": DATASET + "#ontology", "data": DATASET + "#data"}
    for part in parts.values():
        add(part, _RDF + "type", iri(_VOID + "Dataset"))
        add(part, _RDF + "type", iri(_DCAT + "Dataset"))
        add(part, _DCT + "license", iri(DATA_LICENSE))
        add(part, _DCAT + "version", ox.Literal(__version__))
    ds = DATASET
    add(ds, _DCT + "title", text("kzld: Kazakhstan's military leadership reshuffle, 2022-2025"))
    add(
        ds,
        _DCT + "description",
        text(
            "Who held which military and security post in Kazakhstan from 2022 to 2025, "
            "how each tenure began and ended, and the events around them, every claim "
            "traceable to a quoted source."
        ),
    )
    add(
        ds,
        _DCT + "rights",
        text("Data: CC BY 4.0. The kzld software that built this publication: MIT."),
    )
    add(parts["ontology"], _DCT + "title", text("kzld ontology"))
    add(parts["data"], _DCT + "title", text("kzld instance data"))
    add(ds, _VOID + "subset", iri(parts["ontology"]))
    add(ds, _VOID + "subset", iri(parts["data"]))
    add(parts["ontology"], _VOID + "triples", count(ontology_size))
    add(parts["data"], _VOID + "triples", count(data_size))
    add(ds, _VOID + "vocabulary", iri(_KZ))
    add(ds, _VOID + "uriSpace", ox.Literal("https://w3id.org/kzld/id/"))
    issued = issued_date(graph)
    if issued is not None:
        add(ds, _DCT + "issued", issued)
    for source in _sources(graph):
        add(ds, _DCT + "source", source)
    software = DATASET + "#software"
    build = DATASET + "#build"
    add(ds, _PROV + "wasGeneratedBy", iri(build))
    add(build, _RDF + "type", iri(_PROV + "Activity"))
    add(build, _PROV + "used", iri(software))
    add(software, _RDF + "type", iri(_SCHEMA + "SoftwareSourceCode"))
    add(software, _SCHEMA + "name", ox.Literal("kzld"))
    add(software, _SCHEMA + "version", ox.Literal(__version__))
    add(software, _SCHEMA + "license", iri(CODE_LICENSE))

    typed = {(t.subject, t.object) for t in graph if t.predicate.value == _RDF + "type"}
    add(ds, _VOID + "triples", count(len(graph)))
    add(ds, _VOID + "entities", count(len({s for s, _ in typed})))
    add(ds, _VOID + "distinctSubjects", count(len({t.subject for t in graph})))
    add(ds, _VOID + "distinctObjects", count(len({t.object for t in graph})))
    classes = Counter(c for _, c in typed)
    properties = Counter(t.predicate for t in graph)
    add(ds, _VOID + "classes", count(len(classes)))
    add(ds, _VOID + "properties", count(len(properties)))
    for cls in sorted(classes, key=str):
        node = f"{DATASET}#class-{_local(cls)}"
        add(ds, _VOID + "classPartition", iri(node))
        add(node, _VOID + "class", cls)
        add(node, _VOID + "entities", count(classes[cls]))
    for prop in sorted(properties, key=str):
        node = f"{DATASET}#property-{_local(prop)}"
        add(ds, _VOID + "propertyPartition", iri(node))
        add(node, _VOID + "property", prop)
        add(node, _VOID + "triples", count(properties[prop]))

    for f in files:
        if f.part not in parts:
            continue
        dist = f"{DATASET}#distribution-{f.name}"
        checksum = f"{DATASET}#checksum-{f.name}"
        add(parts[f.part], _DCAT + "distribution", iri(dist))
        add(parts[f.part], _VOID + "dataDump", iri(DOWNLOAD + f.name))
        add(dist, _RDF + "type", iri(_DCAT + "Distribution"))
        add(dist, _DCT + "title", ox.Literal(f.name))
        add(dist, _DCAT + "downloadURL", iri(DOWNLOAD + f.name))
        add(dist, _DCAT + "mediaType", iri(_IANA + f.media_type))
        add(dist, _DCT + "license", iri(DATA_LICENSE))
        add(
            dist,
            _DCAT + "byteSize",
            ox.Literal(str(f.size), datatype=iri(_XSD + "nonNegativeInteger")),
        )
        add(dist, _SPDX + "checksum", iri(checksum))
        add(checksum, _RDF + "type", iri(_SPDX + "Checksum"))
        add(checksum, _SPDX + "algorithm", iri(_SPDX + "checksumAlgorithm_sha256"))
        add(
            checksum,
            _SPDX + "checksumValue",
            ox.Literal(f.sha256, datatype=iri(_XSD + "hexBinary")),
        )
    return sorted(set(out), key=str)


def issued_date(graph: Sequence[ox.Triple]) -> ox.Literal | None:
    """SOURCE_DATE_EPOCH when set, else the newest dcterms:issued of the sources; never the
    wall clock, so that two builds of the same data are byte-identical."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            day = datetime.fromtimestamp(int(epoch), tz=UTC).date().isoformat()
        except (ValueError, OverflowError, OSError):
            raise UsageError(
                f"SOURCE_DATE_EPOCH={epoch!r} is not a time",
                hint="set it to whole seconds since 1970-01-01 UTC, or unset it",
            ) from None
        return ox.Literal(day, datatype=ox.NamedNode(_XSD + "date"))
    sources = set(_sources(graph))
    newest: tuple[tuple[int, int, int, int], ox.Literal] | None = None
    for t in graph:
        if t.predicate.value != _DCT + "issued" or t.subject not in sources:
            continue
        if not isinstance(t.object, ox.Literal):
            continue
        match = _DATE.match(t.object.value)
        if not match:
            continue
        year, month, day = match.groups()
        # Among equal starts the more precise date wins; the lexical form breaks any tie.
        key = (int(year), int(month or 0), int(day or 0), sum(g is not None for g in (month, day)))
        if newest is None or (key, str(t.object)) > (newest[0], str(newest[1])):
            newest = (key, t.object)
    return newest[1] if newest else None


def _sources(graph: Sequence[ox.Triple]) -> list[ox.NamedNode]:
    """Things typed kz:Source (or a subclass) and everything cited with kz:source."""
    subclass: dict[ox.NamedNode, set] = {}
    for t in graph:
        if t.predicate.value == _RDFS + "subClassOf":
            subclass.setdefault(t.object, set()).add(t.subject)
    kinds = {ox.NamedNode(_KZ + "Source")}
    frontier = list(kinds)
    while frontier:
        for sub in subclass.get(frontier.pop(), ()):
            if sub not in kinds:
                kinds.add(sub)
                frontier.append(sub)
    found = {
        t.subject for t in graph if t.predicate.value == _RDF + "type" and t.object in kinds
    } | {t.object for t in graph if t.predicate.value == _KZ + "source"}
    return sorted((s for s in found if isinstance(s, ox.NamedNode)), key=str)


def _local(term: ox.NamedNode) -> str:
    """A readable fragment naming a class or property: its last IRI segment, made safe."""
    tail = re.split(r"[#/]", term.value.rstrip("#/"))[-1]
    slug = re.sub(r"[^A-Za-z0-9_-]", "-", tail) or "x"
    # The namespace varies too (kz:Person vs schema:Person): keep fragments unique.
    return f"{slug}-{hashlib.sha256(term.value.encode()).hexdigest()[:8]}"
