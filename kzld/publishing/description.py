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
from kzld.vocabulary import DATASET, ID
from kzld.vocabulary import DCAT as _DCAT
from kzld.vocabulary import DCTERMS as _DCT
from kzld.vocabulary import DUMP as DOWNLOAD
from kzld.vocabulary import IANA as _IANA
from kzld.vocabulary import KZ as _KZ
from kzld.vocabulary import PROV as _PROV
from kzld.vocabulary import RDF as _RDF
from kzld.vocabulary import RDFS as _RDFS
from kzld.vocabulary import SCHEMA as _SCHEMA
from kzld.vocabulary import SPDX as _SPDX
from kzld.vocabulary import VOID as _VOID
from kzld.vocabulary import XSD as _XSD

DATA_LICENSE = "https://creativecommons.org/licenses/by/4.0/"
CODE_LICENSE = "https://spdx.org/licenses/MIT"


_DATE = re.compile(r"(-?\d{4,})(?:-(\d\d))?(?:-(\d\d))?")
_TYPE_REF = f"<{_RDF}type>".encode()
_SUBCLASS_REF = f"<{_RDFS}subClassOf>".encode()
_SOURCE_REF = f"<{_KZ}source>".encode()
_ISSUED_REF = f"<{_DCT}issued>".encode()
_KZ_SOURCE_REF = f"<{_KZ}Source>".encode()


@dataclass(frozen=True)
class PublishedFile:
    """One file of a publication: which part of the graph it holds, its size and digest."""

    name: str
    part: str  # "all" | "ontology" | "data" | "" (not a dump)
    format_name: str
    media_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Statistics:
    """What the description counts in the graph; terms as their N-Triples text."""

    triples: int
    subjects: int
    objects: int
    entities: int
    classes: dict[bytes, int]  # entities of each class
    properties: dict[bytes, int]  # triples of each property
    sources: list[bytes]  # sorted
    newest_issued: bytes | None  # the newest dcterms:issued of the sources


def statistics(lines: Sequence[bytes]) -> Statistics:
    """One pass over the sorted canonical N-Triples statements of the graph. Only distinct
    objects need a set: a subject's statements, and its rdf:type ones, are consecutive."""
    objects: set[bytes] = set()
    properties: Counter[bytes] = Counter()
    instances: dict[bytes, list[bytes]] = {}
    subclasses: dict[bytes, set[bytes]] = {}
    cited: set[bytes] = set()
    issued: list[tuple[bytes, bytes]] = []
    subjects = entities = 0
    subject = typed = b""
    for line in lines:
        s, p, o = line.split(b" ", 2)  # o keeps the statement's " ."
        if s != subject:
            subjects += 1
            subject = s
        objects.add(o)
        properties[p] += 1
        if p == _TYPE_REF:
            instances.setdefault(o[:-2], []).append(s)
            if s != typed:
                entities += 1
                typed = s
        elif p == _SUBCLASS_REF:
            subclasses.setdefault(o[:-2], set()).add(s)
        elif p == _SOURCE_REF:
            cited.add(o[:-2])
        elif p == _ISSUED_REF:
            issued.append((s, o[:-2]))
    kinds = {_KZ_SOURCE_REF}
    frontier = list(kinds)
    while frontier:
        for sub in subclasses.get(frontier.pop(), ()):
            if sub not in kinds:
                kinds.add(sub)
                frontier.append(sub)
    # Things typed kz:Source (or a subclass) and everything cited with kz:source.
    found = {s for kind in kinds for s in instances.get(kind, ())} | cited
    sources = sorted(s for s in found if s.startswith(b"<"))
    return Statistics(
        triples=len(lines),
        subjects=subjects,
        objects=len(objects),
        entities=entities,
        classes={c: len(members) for c, members in instances.items()},
        properties=dict(properties),
        sources=sources,
        newest_issued=_newest(issued, set(sources)),
    )


def describe(
    stats: Statistics,
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
    add(ds, _VOID + "uriSpace", ox.Literal(ID))
    issued = _issued_date(stats)
    if issued is not None:
        add(ds, _DCT + "issued", issued)
    for source in stats.sources:
        add(ds, _DCT + "source", _term(source))
    software = DATASET + "#software"
    build = DATASET + "#build"
    add(ds, _PROV + "wasGeneratedBy", iri(build))
    add(build, _RDF + "type", iri(_PROV + "Activity"))
    add(build, _PROV + "used", iri(software))
    add(software, _RDF + "type", iri(_SCHEMA + "SoftwareSourceCode"))
    add(software, _SCHEMA + "name", ox.Literal("kzld"))
    add(software, _SCHEMA + "version", ox.Literal(__version__))
    add(software, _SCHEMA + "license", iri(CODE_LICENSE))

    add(ds, _VOID + "triples", count(stats.triples))
    add(ds, _VOID + "entities", count(stats.entities))
    add(ds, _VOID + "distinctSubjects", count(stats.subjects))
    add(ds, _VOID + "distinctObjects", count(stats.objects))
    add(ds, _VOID + "classes", count(len(stats.classes)))
    add(ds, _VOID + "properties", count(len(stats.properties)))
    for ref in sorted(stats.classes):
        cls = _term(ref)
        node = f"{DATASET}#class-{_local(cls)}"
        add(ds, _VOID + "classPartition", iri(node))
        add(node, _VOID + "class", cls)
        add(node, _VOID + "entities", count(stats.classes[ref]))
    for ref in sorted(stats.properties):
        prop = _term(ref)
        node = f"{DATASET}#property-{_local(prop)}"
        add(ds, _VOID + "propertyPartition", iri(node))
        add(node, _VOID + "property", prop)
        add(node, _VOID + "triples", count(stats.properties[ref]))

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


def _issued_date(stats: Statistics) -> ox.Literal | None:
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
    return _term(stats.newest_issued) if stats.newest_issued else None


def _newest(issued: list[tuple[bytes, bytes]], sources: set[bytes]) -> bytes | None:
    """The newest date literal among the dcterms:issued of these sources."""
    newest: tuple[tuple[int, int, int, int], bytes] | None = None
    for subject, value in issued:
        if subject not in sources or not value.startswith(b'"'):
            continue
        # Digits and hyphens are never escaped: the date reads the same in N-Triples text.
        match = _DATE.match(value.decode(), 1)
        if not match:
            continue
        year, month, day = match.groups()
        # Among equal starts the more precise date wins; the lexical form breaks any tie.
        key = (int(year), int(month or 0), int(day or 0), sum(g is not None for g in (month, day)))
        if newest is None or (key, value) > newest:
            newest = (key, value)
    return newest[1] if newest else None


def _term(text: bytes) -> ox.NamedNode | ox.Literal:
    """The term an N-Triples term's text stands for."""
    statement = b"<urn:x:s> <urn:x:p> " + text + b" ."
    return next(iter(ox.parse(statement, format=ox.RdfFormat.N_TRIPLES))).object


def _local(term: ox.NamedNode) -> str:
    """A readable fragment naming a class or property: its last IRI segment, made safe."""
    tail = re.split(r"[#/]", term.value.rstrip("#/"))[-1]
    slug = re.sub(r"[^A-Za-z0-9_-]", "-", tail) or "x"
    # The namespace varies too (kz:Person vs schema:Person): keep fragments unique.
    return f"{slug}-{hashlib.sha256(term.value.encode()).hexdigest()[:8]}"
