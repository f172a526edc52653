"""Wikidata: kzld's statements in the Wikibase model, written as a Wikibase RDF dump or as
QuickStatements v1.

The mapping is read from the ontology's alignment triples (skos:exactMatch/closeMatch to
wd:, kz:statementSubject, kz:statementValue, kz:wikidataValueWhenTrue); nothing here lists
kzld terms by hand except the two bibliographic properties the ontology does not cover
(dcterms:title -> P1476, dcterms:issued -> P577).

Conflict policy: when a kz:Conflict disputes a property, the thing gets one statement per
claimed value, each of normal rank and each citing the evidence of its own claim; none is
preferred, so every one is of best rank and has its truthy triple. kzld never deprecates.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox

from kzld.dates import parse_date
from kzld.errors import UsageError
from kzld.loading.graph import KGraph
from kzld.vocabulary import DCTERMS, KZ, RDF, WD, prefixes

MINTED = "https://w3id.org/kzld/wikidata/"  # statement, reference and value nodes kzld names

PREFIXES = dict(
    prefixes(
        "wd",
        "wdt",
        "p",
        "ps",
        "psv",
        "pq",
        "pqv",
        "pr",
        "prv",
        "wikibase",
        "prov",
        "rdfs",
        "skos",
        "xsd",
        "kz",
    )  # fmt: skip
    + (("wds", MINTED + "statement/"), ("wdref", MINTED + "reference/"), ("wdv", MINTED + "value/"))
)

RDF_TYPE = ox.NamedNode(RDF + "type")
RDFS = PREFIXES["rdfs"]
SKOS = PREFIXES["skos"]
XSD = PREFIXES["xsd"]
WIKIBASE = PREFIXES["wikibase"]
GREGORIAN = ox.NamedNode(WD + "Q1985727")  # Wikibase's calendar model constant

# Wikibase reference properties for the source's bibliographic facts; the URL property
# comes from the ontology (kz:url skos:exactMatch wd:P854).
TITLE_PID = "P1476"
PUBLISHED_PID = "P577"
RETRIEVED_PID = "P813"

_PRECISION = {XSD + "date": 11, XSD + "gYearMonth": 10, XSD + "gYear": 9}
_ENTITY_ID = re.compile(r"^[QP][1-9][0-9]*$")


def _kz(name: str) -> ox.NamedNode:
    return ox.NamedNode(KZ + name)


@dataclass(frozen=True, order=True)
class Time:
    """A Wikibase time value: ISO timestamp and precision (9 year, 10 month, 11 day)."""

    timestamp: str
    precision: int

    @classmethod
    def from_literal(cls, literal: ox.Literal) -> Time | None:
        precision = _PRECISION.get(literal.datatype.value)
        if precision is None:
            return None
        parts = (literal.value.split("-") + ["01", "01"])[:3]
        if not all(p.isdigit() for p in parts):
            return None
        year, month, day = parts
        return cls(f"{year}-{month}-{day[:2]}T00:00:00Z", precision)

    @property
    def literal(self) -> ox.Literal:
        return ox.Literal(self.timestamp, datatype=ox.NamedNode(XSD + "dateTime"))

    def interval(self) -> tuple[str, str]:
        """First and last day this value covers, as YYYY-MM-DD (for precision-aware compare)."""
        day = self.timestamp[:10]
        if self.precision >= 11:
            return day, day
        if self.precision == 10:
            return day[:7] + "-01", day[:7] + "-31"
        return day[:4] + "-01-01", day[:4] + "-12-31"


Value = ox.NamedNode | ox.Literal | Time


@dataclass(frozen=True)
class Reference:
    """One citation source backing a statement, with the quotes kzld holds from it."""

    source: ox.NamedNode
    url: ox.NamedNode | None
    title: ox.Literal | None
    published: Time | None
    quotes: tuple[ox.Literal, ...]


@dataclass(frozen=True)
class Statement:
    """One Wikibase statement derived from a kzld thing (a tenure, or an entity's property)."""

    subject: ox.NamedNode
    pid: str
    value: Value
    qualifiers: tuple[tuple[str, Value], ...]
    references: tuple[Reference, ...]
    origin: ox.NamedNode  # the kzld IRI it came from (the tenure for a P39)


@dataclass
class Entity:
    iri: ox.NamedNode  # wd:Q… when reconciled, otherwise the kzld IRI
    kzld: ox.NamedNode
    classes: list[str] = field(default_factory=list)  # QIDs for P31
    labels: list[ox.Literal] = field(default_factory=list)
    aliases: list[ox.Literal] = field(default_factory=list)


@dataclass
class WikidataModel:
    """The graph as Wikibase items and statements."""

    entities: list[Entity]
    statements: list[Statement]
    alignment: Alignment
    # Item values left out because they are neither a Wikidata item nor an item of this
    # export (kz:dismissed as P1534): one line each, for the caller to report.
    notes: list[str] = field(default_factory=list)

    @property
    def url_pid(self) -> str:
        """The reference-URL property: kz:url's counterpart (P854, Wikibase's usual one)."""
        return self.alignment.properties.get(_kz("url"), "P854")


class TripleIndex:
    """Lookups over a graph's triples by subject and predicate."""

    def __init__(self, triples: Iterable[ox.Triple]):
        self.out: dict[tuple[object, ox.NamedNode], list[object]] = defaultdict(list)
        self.by_predicate: dict[ox.NamedNode, list[ox.Triple]] = defaultdict(list)
        for t in triples:
            self.out[(t.subject, t.predicate)].append(t.object)
            self.by_predicate[t.predicate].append(t)

    def objects(self, subject: object, predicate: ox.NamedNode) -> list:
        return sorted(self.out.get((subject, predicate), []), key=str)

    def one(self, subject: object, predicate: ox.NamedNode):
        found = self.objects(subject, predicate)
        return found[0] if found else None


def wd_id(term: object) -> str | None:
    if isinstance(term, ox.NamedNode) and term.value.startswith(WD):
        local = term.value[len(WD) :]
        return local if _ENTITY_ID.match(local) else None
    return None


@dataclass(frozen=True)
class StatementClass:
    pid: str
    subject: ox.NamedNode
    value: ox.NamedNode
    qualifiers: tuple[tuple[ox.NamedNode, str], ...]


@dataclass
class Alignment:
    """What the ontology says about Wikidata: class -> QID, property -> PID."""

    class_qid: dict[ox.NamedNode, str]
    properties: dict[ox.NamedNode, str]  # direct statement properties
    statement_classes: dict[ox.NamedNode, StatementClass]
    value_when_true: dict[ox.NamedNode, ox.NamedNode]


def read_alignment(index: TripleIndex) -> Alignment:
    """Read the ontology's Wikidata alignment from the loaded graph."""
    exact = ox.NamedNode(SKOS + "exactMatch")
    close = ox.NamedNode(SKOS + "closeMatch")
    subclass_of = ox.NamedNode(RDFS + "subClassOf")
    domain = ox.NamedNode(RDFS + "domain")
    when_true = {t.subject: t.object for t in index.by_predicate[_kz("wikidataValueWhenTrue")]}

    def mapped(term: object, predicate: ox.NamedNode, kind: str) -> str | None:
        ids = [i for i in map(wd_id, index.objects(term, predicate)) if i and i[0] == kind]
        return ids[0] if ids else None

    # A property maps when exactly matched, or closely matched with a value translation
    # (kz:acting -> P5102 Q4676846): a close match alone (kz:charge ~ P1595) differs in
    # value type and is not exported.
    pids: dict[ox.NamedNode, str] = {}
    for t in sorted(index.by_predicate[exact], key=str):
        pid = wd_id(t.object)
        if pid and pid[0] == "P":
            pids.setdefault(t.subject, pid)
    for t in sorted(index.by_predicate[close], key=str):
        pid = wd_id(t.object)
        if pid and pid[0] == "P" and t.subject in when_true:
            pids.setdefault(t.subject, pid)

    statement_classes: dict[ox.NamedNode, StatementClass] = {}
    for t in index.by_predicate[_kz("statementSubject")]:
        cls = t.subject
        pid = mapped(cls, exact, "P") or mapped(cls, close, "P")
        value = index.one(cls, _kz("statementValue"))
        if pid is None or value is None:
            continue
        qualifiers = tuple(
            sorted(
                ((p, q) for p, q in pids.items() if cls in index.objects(p, domain)),
                key=lambda pq: str(pq[0]),
            )
        )
        statement_classes[cls] = StatementClass(pid, t.object, value, qualifiers)
    qualifier_properties = {p for sc in statement_classes.values() for p, _ in sc.qualifiers}
    properties = {p: q for p, q in pids.items() if p not in qualifier_properties}

    classes = {t.subject for t in index.by_predicate[subclass_of]} | {
        t.subject for t in index.by_predicate[exact]
    }
    class_qid: dict[ox.NamedNode, str] = {}
    for cls in classes:
        # The nearest mapped ancestor, breadth first; ties broken by QID for determinism.
        level, seen = [cls], set()
        while level:
            found = sorted(q for c in level if (q := mapped(c, exact, "Q")))
            if found:
                class_qid[cls] = found[0]
                break
            seen.update(level)
            level = sorted(
                {p for c in level for p in index.objects(c, subclass_of)} - seen, key=str
            )
    return Alignment(class_qid, properties, statement_classes, dict(when_true))


def build_model(graph: KGraph) -> WikidataModel:
    """The graph's entities and statements in the Wikibase model."""
    index = TripleIndex(graph.triples)
    alignment = read_alignment(index)
    return _Builder(index, alignment).build()


class _Translator:
    """kzld's terms in Wikidata's: items for kzld things, values for literals, references
    for citations, and the disputes each statement must be split by."""

    def __init__(self, index: TripleIndex, alignment: Alignment):
        self.index = index
        self.alignment = alignment
        self.wikidata_entity = {
            t.subject: t.object for t in index.by_predicate[_kz("wikidataEntity")]
        }
        self.types: dict[object, list[ox.NamedNode]] = defaultdict(list)
        for t in index.by_predicate[RDF_TYPE]:
            self.types[t.subject].append(t.object)
        self.notes: set[str] = set()
        # (thing, property) -> {value: [citations]} for every kz:Conflict
        self.disputes: dict[tuple[object, object], dict[object, list[object]]] = {}
        for t in index.by_predicate[_kz("about")]:
            for prop in index.objects(t.subject, _kz("disputedProperty")):
                claims = self.disputes.setdefault((t.object, prop), defaultdict(list))
                for claim in index.objects(t.subject, _kz("claim")):
                    for value in index.objects(claim, _kz("value")):
                        claims[value].extend(index.objects(claim, _kz("evidence")))

    def iri(self, node: ox.NamedNode) -> ox.NamedNode:
        return self.wikidata_entity.get(node, node)

    def statement_class(self, node: object) -> StatementClass | None:
        for cls in sorted(self.types.get(node, []), key=str):
            if cls in self.alignment.statement_classes:
                return self.alignment.statement_classes[cls]
        return None

    def is_item(self, node: ox.NamedNode) -> bool:
        """A Wikidata item, or a kzld thing this export writes as an item (it has a P31)."""
        if wd_id(node):
            return True
        return any(c in self.alignment.class_qid for c in self.types.get(node, []))

    def value(
        self, term: object, pid_property: ox.NamedNode, origin: object = None
    ) -> Value | None:
        if isinstance(term, ox.Literal):
            if pid_property in self.alignment.value_when_true:
                return (
                    self.alignment.value_when_true[pid_property] if term.value == "true" else None
                )
            return Time.from_literal(term) or term
        if not isinstance(term, ox.NamedNode):
            return None
        linked = self.statement_class(term)
        if linked is not None:  # a qualifier pointing at a statement (kz:replaces): its item
            holder = self.index.one(term, linked.subject)
            return self.iri(holder) if isinstance(holder, ox.NamedNode) else None
        item = self.iri(term)
        if not self.is_item(item) and not self.is_item(term):
            # An ontology term such as kz:dismissed has no item to point at: never write a
            # kzld IRI as a Wikidata value; leave it out and say so.
            pid = self.alignment.properties.get(pid_property) or next(
                (
                    q
                    for sc in self.alignment.statement_classes.values()
                    for p, q in sc.qualifiers
                    if p == pid_property
                ),
                pid_property.value,
            )
            where = origin.value if isinstance(origin, ox.NamedNode) else "?"
            self.notes.add(f"{where}: {pid} value {term.value} is not a Wikidata item; left out")
            return None
        return item

    def references(self, citations: Iterable[object]) -> tuple[Reference, ...]:
        by_source: dict[ox.NamedNode, list[ox.Literal]] = defaultdict(list)
        for citation in citations:
            source = self.index.one(citation, _kz("source"))
            if isinstance(source, ox.NamedNode):
                by_source[source].extend(self.index.objects(citation, _kz("quote")))
        refs = []
        for source in sorted(by_source, key=str):
            issued = self.index.one(source, ox.NamedNode(DCTERMS + "issued"))
            refs.append(
                Reference(
                    source=source,
                    url=self.index.one(source, _kz("url")),
                    title=self.index.one(source, ox.NamedNode(DCTERMS + "title")),
                    published=Time.from_literal(issued) if isinstance(issued, ox.Literal) else None,
                    quotes=tuple(sorted(set(by_source[source]), key=str)),
                )
            )
        return tuple(refs)

    def citations(self, thing: object, keep) -> list[object]:
        """The thing's citations whose set of kz:supports properties passes keep()."""
        return [
            c
            for c in self.index.objects(thing, _kz("evidence"))
            if keep(set(self.index.objects(c, _kz("supports"))))
        ]


class _Builder:
    """The Wikidata model of a graph: an entity for each thing with a Wikidata class, its
    direct statements, and one statement for each statement-like thing (a tenure)."""

    def __init__(self, index: TripleIndex, alignment: Alignment):
        self.index = index
        self.alignment = alignment
        self.terms = _Translator(index, alignment)

    def build(self) -> WikidataModel:
        entities: list[Entity] = []
        statements: list[Statement] = []
        for node in sorted(self.terms.types, key=str):
            if not isinstance(node, ox.NamedNode):
                continue
            qids = sorted(
                {
                    self.alignment.class_qid[c]
                    for c in self.terms.types[node]
                    if c in self.alignment.class_qid
                }
            )
            if qids:
                entities.append(self.entity(node, qids))
                statements.extend(self.direct_statements(node, qids))
            cls = self.terms.statement_class(node)
            if cls is not None:
                statements.extend(self.class_statements(node, cls))
        return WikidataModel(entities, statements, self.alignment, sorted(self.terms.notes))

    def entity(self, node: ox.NamedNode, qids: list[str]) -> Entity:
        return Entity(
            iri=self.terms.iri(node),
            kzld=node,
            classes=qids,
            labels=self.index.objects(node, ox.NamedNode(RDFS + "label")),
            aliases=self.index.objects(node, ox.NamedNode(SKOS + "altLabel")),
        )

    def direct_statements(self, node: ox.NamedNode, qids: list[str]) -> list[Statement]:
        subject = self.terms.iri(node)
        found = [Statement(subject, "P31", ox.NamedNode(WD + q), (), (), node) for q in qids]
        for prop, pid in sorted(self.alignment.properties.items(), key=lambda i: str(i[0])):
            claims = self.terms.disputes.get((node, prop))
            for term in self.index.objects(node, prop):
                value = self.terms.value(term, prop, node)
                if value is None:
                    continue
                if claims is not None:
                    citations = claims.get(term, [])
                else:
                    citations = self.terms.citations(node, lambda s, p=prop: p in s)
                references = self.terms.references(citations)
                found.append(Statement(subject, pid, value, (), references, node))
        return found

    def class_statements(self, node: ox.NamedNode, cls: StatementClass) -> list[Statement]:
        holder = self.index.one(node, cls.subject)
        if not isinstance(holder, ox.NamedNode):
            return []
        disputed = {p for (thing, p) in self.terms.disputes if thing == node}
        # One statement per combination of the values of the value property and of each
        # disputed qualifier; undisputed qualifiers keep all their values.
        split = [cls.value] + sorted((p for p, _ in cls.qualifiers if p in disputed), key=str)
        choices = [self.index.objects(node, p) for p in split]
        # A citation backs the statement unless all it supports is disputed (then only the
        # claims' own evidence is cited, each on its own statement).
        shared = self.terms.citations(node, lambda s: not s or not s <= disputed)
        found = []
        for combo in itertools.product(*choices):
            chosen = dict(zip(split, combo, strict=True))
            main = self.terms.value(chosen[cls.value], cls.value, node)
            if main is None:
                continue
            qualifiers = []
            for prop, pid in cls.qualifiers:
                terms = [chosen[prop]] if prop in chosen else self.index.objects(node, prop)
                for term in terms:
                    value = self.terms.value(term, prop, node)
                    if value is not None:
                        qualifiers.append((pid, value))
            citations = list(shared)
            for prop in split[1:]:
                citations.extend(self.terms.disputes[(node, prop)].get(chosen[prop], []))
            found.append(
                Statement(
                    self.terms.iri(holder),
                    cls.pid,
                    main,
                    tuple(sorted(set(qualifiers), key=_sort_key)),
                    self.terms.references(citations),
                    node,
                )
            )
        return found


def _sort_key(pair: tuple[str, Value]) -> tuple[int, str]:
    pid, value = pair
    return int(pid[1:]), str(value)


# ---------------------------------------------------------------------------------------
# Wikibase RDF


def _n(prefix: str, local: str) -> ox.NamedNode:
    return ox.NamedNode(PREFIXES[prefix] + local)


def _digest(parts: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:32]


def _time_node(time: Time, out: set[ox.Triple]) -> ox.NamedNode:
    node = _n("wdv", _digest([time.timestamp, str(time.precision), "0", GREGORIAN.value]))
    out.add(ox.Triple(node, RDF_TYPE, _n("wikibase", "TimeValue")))
    out.add(ox.Triple(node, _n("wikibase", "timeValue"), time.literal))
    out.add(
        ox.Triple(
            node,
            _n("wikibase", "timePrecision"),
            ox.Literal(str(time.precision), datatype=ox.NamedNode(XSD + "integer")),
        )
    )
    out.add(
        ox.Triple(
            node,
            _n("wikibase", "timeTimezone"),
            ox.Literal("0", datatype=ox.NamedNode(XSD + "integer")),
        )
    )
    out.add(ox.Triple(node, _n("wikibase", "timeCalendarModel"), GREGORIAN))
    return node


def _simple(value: Value) -> ox.NamedNode | ox.Literal:
    return value.literal if isinstance(value, Time) else value


def _add_value(
    node: ox.NamedNode, simple: str, full: str, pid: str, value: Value, out: set[ox.Triple]
) -> None:
    out.add(ox.Triple(node, _n(simple, pid), _simple(value)))
    if isinstance(value, Time):
        out.add(ox.Triple(node, _n(full, pid), _time_node(value, out)))


def _reference_node(ref: Reference, url_pid: str, out: set[ox.Triple]) -> ox.NamedNode:
    pairs: list[tuple[str, Value]] = []
    if ref.url is not None:
        pairs.append((url_pid, ref.url))
    if ref.title is not None:
        pairs.append((TITLE_PID, ref.title))
    if ref.published is not None:
        pairs.append((PUBLISHED_PID, ref.published))
    content = [f"{pid} {v}" for pid, v in pairs] + [f"quote {q}" for q in ref.quotes]
    node = _n("wdref", _digest(content))
    out.add(ox.Triple(node, RDF_TYPE, _n("wikibase", "Reference")))
    for pid, value in pairs:
        _add_value(node, "pr", "prv", pid, value, out)
    for quote in ref.quotes:  # kzld's own annotation: Wikibase has no place for the quote
        out.add(ox.Triple(node, _kz("quote"), quote))
    return node


def wikibase_triples(model: WikidataModel) -> list[ox.Triple]:
    """The model as Wikibase RDF dump triples, sorted."""
    out: set[ox.Triple] = set()
    for entity in model.entities:
        out.add(ox.Triple(entity.iri, RDF_TYPE, _n("wikibase", "Item")))
        for label in entity.labels:
            out.add(ox.Triple(entity.iri, ox.NamedNode(RDFS + "label"), label))
        for alias in entity.aliases:
            out.add(ox.Triple(entity.iri, ox.NamedNode(SKOS + "altLabel"), alias))
    for st in model.statements:
        refs = [_reference_node(r, model.url_pid, out) for r in st.references]
        content = [str(st.subject), st.pid, str(st.value)]
        content += [f"{pid} {v}" for pid, v in st.qualifiers] + [str(r) for r in refs]
        node = _n("wds", _digest(content))
        out.add(ox.Triple(st.subject, _n("p", st.pid), node))
        out.add(ox.Triple(node, RDF_TYPE, _n("wikibase", "Statement")))
        # Every kzld statement is of normal rank (see the conflict policy above), hence best.
        out.add(ox.Triple(node, RDF_TYPE, _n("wikibase", "BestRank")))
        out.add(ox.Triple(node, _n("wikibase", "rank"), _n("wikibase", "NormalRank")))
        out.add(ox.Triple(node, ox.NamedNode(RDFS + "seeAlso"), st.origin))
        _add_value(node, "ps", "psv", st.pid, st.value, out)
        for pid, value in st.qualifiers:
            _add_value(node, "pq", "pqv", pid, value, out)
        for ref in refs:
            out.add(ox.Triple(node, _n("prov", "wasDerivedFrom"), ref))
        out.add(ox.Triple(st.subject, _n("wdt", st.pid), _simple(st.value)))
    return sorted(out, key=str)


def export_wikidata(graph: KGraph, notes: list[str] | None = None) -> bytes:
    """The graph in the Wikibase RDF dump shape, as Turtle; byte-identical across runs.

    What is left out (item values that are no Wikidata item) is appended to notes.
    """
    model = build_model(graph)
    if notes is not None:
        notes.extend(model.notes)
    body = ox.serialize(
        wikibase_triples(model), format=ox.RdfFormat.TURTLE, prefixes=PREFIXES
    ).decode("utf-8")
    # pyoxigraph writes the prefix lines in hash order: write them ourselves, sorted.
    lines = body.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if not line.startswith("@prefix ")), 0)
    header = "".join(f"@prefix {k}: <{v}> .\n" for k, v in sorted(PREFIXES.items()))
    return (header + "\n" + "".join(lines[start:])).encode("utf-8")


# ---------------------------------------------------------------------------------------
# QuickStatements v1


@dataclass
class QuickStatements:
    lines: list[str]
    notes: list[str]  # what could not be expressed, one line each


def _qs_time(time: Time) -> str:
    y, m, d = time.timestamp[:10].split("-")
    if time.precision <= 10:
        d = "00"
    if time.precision <= 9:
        m = "00"
    return f"+{y}-{m}-{d}T00:00:00Z/{time.precision}"


def _qs_string(text: str) -> str | None:
    # QuickStatements v1 has no escape: a quote, TAB, newline or "||" cannot be written.
    if any(bad in text for bad in ('"', "\t", "\n", "\r", "||")):
        return None
    return f'"{text}"'


def qs_value(value: Value) -> str | None:
    """A value in QuickStatements v1 syntax, or None when it cannot be written."""
    if isinstance(value, Time):
        return _qs_time(value)
    if isinstance(value, ox.NamedNode):
        return wd_id(value) or None
    quoted = _qs_string(value.value)
    if quoted is None:
        return None
    if value.language:
        return f"{value.language}:{quoted}"
    return quoted


def quickstatements(graph: KGraph, retrieved: Time | None = None) -> QuickStatements:
    """QuickStatements v1 for the statements of reconciled items, one line per source.

    Only statement classes (tenures: P39) are written. QuickStatements adds qualifiers to
    the existing statement with the same value, so of several tenures of one post only one
    is written (a substantive one before an acting one, then the latest start); the others,
    and tenures whose sources disagree, are reported in the notes.
    """
    model = build_model(graph)
    alignment = model.alignment
    when = retrieved or data_date(graph)
    acting = set(alignment.value_when_true.values())
    start_pids = {
        pid
        for sc in alignment.statement_classes.values()
        for p, pid in sc.qualifiers
        if p == _kz("start")
    }

    def latest_start(st: Statement) -> str:
        return max((v.timestamp for pid, v in st.qualifiers if pid in start_pids), default="")

    def is_acting(st: Statement) -> bool:
        return any(v in acting for _, v in st.qualifiers)

    pids = {sc.pid for sc in alignment.statement_classes.values()}
    per_post: dict[tuple[str, str], dict[str, list[Statement]]] = defaultdict(dict)
    for st in model.statements:
        if st.pid in pids and wd_id(st.subject):
            per_post[(str(st.subject), str(st.value))].setdefault(st.origin.value, []).append(st)
    lines: list[str] = []
    # What the model left out, for the statements QuickStatements would write.
    origins = {origin for by_origin in per_post.values() for origin in by_origin}
    notes: list[str] = [n for n in model.notes if n.split(": ", 1)[0] in origins]
    for key in sorted(per_post):
        by_origin = per_post[key]
        for origin in sorted(by_origin):
            if len(by_origin[origin]) > 1:
                notes.append(f"{origin}: sources disagree; not written, resolve by hand")
        written = sorted((g[0] for g in by_origin.values() if len(g) == 1), key=_origin_key)
        written.sort(key=latest_start, reverse=True)
        written.sort(key=is_acting)  # stable: substantive first, each by latest start
        if not written:
            continue
        for other in sorted(st.origin.value for st in written[1:]):
            notes.append(
                f"{other}: another tenure of the same post ({written[0].origin.value}) is "
                "written; QuickStatements would merge them, add this one by hand"
            )
        lines.extend(qs_lines(written[0], when, notes))
    return QuickStatements(lines, notes)


def _origin_key(st: Statement) -> str:
    return st.origin.value


def qs_lines(st: Statement, retrieved: Time, notes: list[str]) -> list[str]:
    where = st.origin.value
    post = qs_value(st.value)
    if post is None:
        notes.append(f"{where}: {st.pid} value {st.value} has no QID; not written")
        return []
    head = [wd_id(st.subject), st.pid, post]
    for pid, value in st.qualifiers:
        written = qs_value(value)
        if written is None:
            notes.append(f"{where}: qualifier {pid} {value} has no QID; left out")
            continue
        head += [pid, written]
    if not st.references:
        notes.append(f"{where}: no source; written without reference")
        return ["\t".join(head)]
    lines = []
    for ref in st.references:
        tail: list[str] = []
        for pid, value in (("S854", ref.url), ("S1476", ref.title), ("S577", ref.published)):
            if value is None:
                continue
            written = (
                qs_value(value) if not isinstance(value, ox.NamedNode) else _qs_string(value.value)
            )
            if written is None:
                notes.append(f"{where}: {pid} of {ref.source.value} cannot be written; left out")
                continue
            tail += [pid, written]
        tail += ["S813", _qs_time(retrieved)]
        lines.append("\t".join(head + tail))
    return lines


def data_date(graph: KGraph) -> Time:
    """The latest dcterms:modified/created date in the graph: the default 'retrieved' date."""
    stamps = {DCTERMS + "modified", DCTERMS + "created"}
    dates = [
        t.object.value
        for t in graph.triples
        if t.predicate.value in stamps
        and isinstance(t.object, ox.Literal)
        and t.object.datatype.value == XSD + "date"
    ]
    if not dates:
        raise UsageError(
            "the data carries no dcterms:modified or dcterms:created date",
            hint="pass --retrieved YYYY-MM-DD",
        )
    return Time(max(dates) + "T00:00:00Z", 11)


def parse_day(text: str) -> Time:
    """A YYYY-MM-DD option value as a day-precision time."""
    return Time(parse_date(text, day_only=True).text + "T00:00:00Z", 11)
