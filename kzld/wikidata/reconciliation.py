"""Reconciliation with Wikidata: candidates for entities without a QID, accepted decisions,
and the comparison of reconciled entities' statements with a Wikidata-compatible endpoint.

Candidates are found by exact label or alias (the endpoint's label index) in English,
Russian and Kazakh, constrained to the Wikidata class the entity's kzld type is aligned to
(or a subclass), and scored 0-100:

- name: 60 when the item's label is the entity's kzld label, 50 when it is one of its
  aliases, 45 when an item alias is the kzld label, 40 alias to alias;
- more names: +5 for each further distinct name that matches, up to +10;
- context: +10 for each item kzld already knows (a reconciled entity) that the candidate
  links to by a truthy statement, up to +30. Citizenship (P27) or jurisdiction properties
  are not used: none is in kzld's verified list, while its reconciled items (Kazakhstan,
  its president, prime minister, government, regions) are.

Only a person accepts a candidate; the decision (who, when, score) goes into the mapping
file under data/, which every load merges.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from kzld.errors import UsageError
from kzld.loading.graph import KGraph, parse_file
from kzld.querying.queries import where_opening
from kzld.vocabulary import DCTERMS, ID, OWL, WIKIBASE, XSD
from kzld.wikidata.export import (
    KZ,
    PREFIXES,
    WD,
    Statement,
    Time,
    TripleIndex,
    Value,
    build_model,
    qs_lines,
    wd_id,
)

DEFAULT_ENDPOINT = "https://query.wikidata.org/sparql"
LANGUAGES = ("en", "ru", "kk")
KINDS = ("person", "organisation", "post")
DEPRECATED = WIKIBASE + "DeprecatedRank"
CHUNK = 50  # items per context request: short enough for a GET, few enough requests

Select = Callable[..., dict]


def _query(name: str) -> str:
    from kzld.loading.resources import bundled

    return (bundled("queries") / "wikidata" / f"{name}.rq").read_text(encoding="utf-8")


def with_table(text: str, names: Sequence[str], rows: Iterable[Sequence[ox.Term]]) -> str:
    """The query with a VALUES table opening its WHERE clause. Terms are written by
    pyoxigraph, which escapes them: a value never changes the query's structure."""
    body = " ".join("(" + " ".join(str(term) for term in row) + ")" for row in rows)
    block = f" VALUES ({' '.join('?' + n for n in names)}) {{ {body} }}"
    opening = where_opening(text)
    return text[: opening + 1] + block + text[opening + 1 :]


def _bindings(answer: dict) -> list[dict[str, str]]:
    return [
        {name: cell["value"] for name, cell in row.items()} for row in answer["results"]["bindings"]
    ]


# ---------------------------------------------------------------------------------------
# Candidates


@dataclass(frozen=True)
class Candidate:
    entity: str
    label: str
    qid: str = ""
    candidate_label: str = ""
    score: int = 0
    matched: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    note: str = ""


@dataclass
class _Found:
    label: str = ""
    names: dict[str, str] = field(default_factory=dict)  # name text -> best kind of match


def kind_of(iri: str) -> str:
    return iri[len(ID) :].split("/")[0] if iri.startswith(ID) else ""


def reconcile(
    graph: KGraph,
    endpoint: str = DEFAULT_ENDPOINT,
    kinds: Sequence[str] = KINDS,
    *,
    timeout: float = 60.0,
    select: Select | None = None,
) -> list[Candidate]:
    """Scored candidates for every entity of these kinds that has no QID yet."""
    from kzld.querying.endpoints import select as remote_select

    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise UsageError(f"unknown type {unknown[0]!r}", hint="choose from " + ", ".join(KINDS))
    ask = select or remote_select
    model = build_model(graph)
    known = {wd_id(e.iri): e.kzld.value for e in model.entities if wd_id(e.iri)}
    todo = [e for e in model.entities if not wd_id(e.iri) and kind_of(e.kzld.value) in kinds]
    found: dict[str, dict[str, _Found]] = {}
    for entity in todo:
        label = entity.labels[0].value if entity.labels else ""
        names = {label: "label"} if label else {}
        for alias in entity.aliases:
            names.setdefault(alias.value, "alias")
        rows = [
            (ox.Literal(text, language=lang), ox.NamedNode(WD + qid))
            for text in sorted(names)
            for lang in LANGUAGES
            for qid in entity.classes
        ]
        if not rows:
            continue
        query = with_table(_query("candidates"), ("name", "class"), rows)
        answer = ask(endpoint, query, timeout=timeout)
        items = found.setdefault(entity.kzld.value, {})
        for row in _bindings(answer):
            qid = wd_id(ox.NamedNode(row["item"]))
            if not qid:
                continue
            hit = items.setdefault(qid, _Found())
            hit.label = row.get("itemLabel", hit.label)
            kind = ("label" if row["how"] == "label" else "alias") + "~" + names[row["name"]]
            hit.names[row["name"]] = min(hit.names.get(row["name"], kind), kind, key=_NAME.get)
    links = _context(ask, endpoint, sorted({q for items in found.values() for q in items}), timeout)
    result: list[Candidate] = []
    for entity in todo:
        iri = entity.kzld.value
        label = entity.labels[0].value if entity.labels else ""
        items = found.get(iri, {})
        if not items:
            result.append(Candidate(iri, label, note="no candidate"))
        for qid, hit in items.items():
            context = tuple(sorted(links.get(qid, set()) & set(known), key=_qid_number))
            ranked = sorted(hit.names.values(), key=lambda k: -_NAME[k])
            score = _NAME[ranked[0]] + min(5 * (len(ranked) - 1), 10) + min(10 * len(context), 30)
            note = f"already the QID of {known[qid]}" if qid in known else ""
            matched = tuple(
                sorted(f"{kind.split('~')[0]}: {name}" for name, kind in hit.names.items())
            )
            result.append(Candidate(iri, label, qid, hit.label, score, matched, context, note))
    result.sort(key=lambda c: (c.entity, -c.score, _qid_number(c.qid) if c.qid else 0))
    return result


# how the item's name (label/alias) met the entity's name (label/alias) -> points
_NAME = {"label~label": 60, "label~alias": 50, "alias~label": 45, "alias~alias": 40}


def _qid_number(qid: str) -> int:
    return int(qid[1:])


def _context(ask: Select, endpoint: str, qids: list[str], timeout: float) -> dict[str, set[str]]:
    links: dict[str, set[str]] = defaultdict(set)
    for start in range(0, len(qids), CHUNK):
        rows = [(ox.NamedNode(WD + q),) for q in qids[start : start + CHUNK]]
        answer = ask(endpoint, with_table(_query("context"), ("item",), rows), timeout=timeout)
        for row in _bindings(answer):
            item, linked = wd_id(ox.NamedNode(row["item"])), wd_id(ox.NamedNode(row["linked"]))
            if item and linked:
                links[item].add(linked)
    return links


REVIEW_COLUMNS = (
    "entity", "label", "candidate", "candidate_label", "score", "matched", "context", "note",
    "decision",
)  # fmt: skip


def review_table(candidates: Iterable[Candidate]) -> str:
    """The review file: TSV, one candidate a row; a reviewer writes 'accept' in 'decision'."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(REVIEW_COLUMNS)
    for c in candidates:
        writer.writerow(
            [c.entity, c.label, c.qid, c.candidate_label, c.score if c.qid else "",
             "; ".join(c.matched), " ".join(c.context), c.note, ""]
        )  # fmt: skip
    return out.getvalue()


# ---------------------------------------------------------------------------------------
# Accepted decisions

# A new mapping file starts with this line; data/wikidata-mapping.ttl has the full header.
NEW_MAPPING = "# kzld -> Wikidata mapping decisions, written by `kzld reconcile accept`.\n"


@dataclass(frozen=True)
class Decision:
    entity: str
    qid: str
    by: str
    when: datetime.datetime
    score: int | None = None


def entity_iri(text: str) -> str:
    """An entity given as a full IRI or as kind/slug (person/murat-bektanov)."""
    iri = text if text.startswith(("http://", "https://")) else ID + text.strip("/")
    if not re.fullmatch(r"https://w3id\.org/kzld/id/[a-z]+/[a-z0-9-]+", iri):
        raise UsageError(f"not a kzld entity: {text!r}", hint="e.g. person/murat-bektanov")
    return iri


def accept(graph: KGraph, mapping: Path, decisions: Sequence[Decision]) -> str:
    """Check the decisions against the graph and add them to the mapping file; return the
    text added. Nothing is written when one is refused."""
    index = TripleIndex(graph.triples)
    has_qid = {
        t.subject.value: t.object for t in index.by_predicate[ox.NamedNode(KZ + "wikidataEntity")]
    }
    owner = {wd_id(q): s for s, q in has_qid.items()}
    subjects = {t.subject.value for t in graph.triples}
    blocks = []
    for d in decisions:
        if not re.fullmatch(r"Q[1-9][0-9]*", d.qid):
            raise UsageError(f"not a Wikidata item id: {d.qid!r}", hint="e.g. Q56825894")
        if d.entity not in subjects:
            raise UsageError(f"{d.entity} is not in the data", hint="check the IRI or slug")
        if d.entity in has_qid:
            raise UsageError(
                f"{d.entity} already has {has_qid[d.entity].value}",
                hint="remove the old link by hand first if it is wrong",
            )
        if d.qid in owner and owner[d.qid] != d.entity:
            raise UsageError(f"{d.qid} is already the item of {owner[d.qid]}")
        if not d.by.strip():
            raise UsageError("who accepts it? --by NAME must not be empty")
        has_qid[d.entity] = ox.NamedNode(WD + d.qid)
        owner[d.qid] = d.entity
        blocks.append(_decision_text(d))
    added = "".join(blocks)
    old = mapping.read_text(encoding="utf-8") if mapping.exists() else NEW_MAPPING
    _replace_checked(mapping, old.rstrip("\n") + "\n" + added)
    return added


def _decision_text(d: Decision) -> str:
    entity, item = ox.NamedNode(d.entity), ox.NamedNode(WD + d.qid)
    link = ox.NamedNode(KZ + "wikidataEntity")
    when = ox.Literal(
        d.when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        datatype=ox.NamedNode(XSD + "dateTime"),
    )
    lines = [
        f"\n{entity} {link} {item} .",
        f"[] a <{OWL}Axiom> ;",
        f"    <{OWL}annotatedSource> {entity} ;",
        f"    <{OWL}annotatedProperty> {link} ;",
        f"    <{OWL}annotatedTarget> {item} ;",
        f"    <{DCTERMS}creator> {ox.Literal(d.by.strip())} ;",
    ]
    if d.score is not None:
        confidence = ox.Literal(
            f"{d.score / 100:.2f}",
            datatype=ox.NamedNode(XSD + "decimal"),
        )
        lines.append(f"    <https://w3id.org/sssom/confidence> {confidence} ;")
    lines.append(f"    <{DCTERMS}date> {when} .")
    return "\n".join(lines) + "\n"


def _replace_checked(path: Path, text: str) -> None:
    """Write the file through a temporary file that must parse first: never a broken one."""
    import os
    import tempfile

    from kzld.errors import OutputError

    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".kzld-", suffix=".ttl")
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # as any new file (and the build's), not mkstemp's 0600
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        try:
            parse_file(Path(tmp))
        except BaseException:
            os.unlink(tmp)
            raise
        os.replace(tmp, path)
    except OSError as err:
        raise OutputError(f"{path}: {err.strerror or err}", hint="check the folder") from None


def decisions_from_review(text: str, by: str, when: datetime.datetime) -> list[Decision]:
    """The rows of a review file whose 'decision' column says 'accept'."""
    reader = csv.DictReader(io.StringIO(text), delimiter="\t")
    if reader.fieldnames is None or not {"entity", "candidate", "decision"} <= set(
        reader.fieldnames
    ):
        raise UsageError("not a kzld review file", hint="make one with kzld reconcile --out")
    chosen = []
    for row in reader:
        if (row.get("decision") or "").strip().lower() != "accept":
            continue
        score = row.get("score") or ""
        chosen.append(
            Decision(
                entity_iri(row["entity"]),
                row["candidate"].strip(),
                by,
                when,
                int(score) if score.isdigit() else None,
            )
        )
    if not chosen:
        raise UsageError("no row of the review file says 'accept' in its decision column")
    return chosen


# ---------------------------------------------------------------------------------------
# Diff


@dataclass(frozen=True)
class Difference:
    kind: str  # missing | missing-qualifier | conflict | only-wikidata | agree
    item: str
    pid: str
    value: str
    detail: str = ""
    origin: str = ""


@dataclass
class DiffReport:
    differences: list[Difference]
    quickstatements: list[str]
    notes: list[str]


@dataclass
class _Remote:
    statement: str
    rank: str
    value: Value
    qualifiers: dict[str, list[Value]]


def _remote_value(value: str, kind_iri: bool, precision: str | None) -> Value:
    if kind_iri:
        return ox.NamedNode(value)
    if re.fullmatch(r"[+-]?\d{4,}-\d\d-\d\dT00:00:00Z", value):
        return Time(value.lstrip("+"), int(precision) if precision else 11)
    return ox.Literal(value)


def compatible(a: Value, b: Value) -> bool:
    """Equal values; times agree when one's span holds the other's (a year and a day in it)."""
    if isinstance(a, Time) and isinstance(b, Time):
        (a0, a1), (b0, b1) = a.interval(), b.interval()
        return (a0 <= b0 and b1 <= a1) or (b0 <= a0 and a1 <= b1)
    if isinstance(a, ox.Literal) and isinstance(b, ox.Literal):
        return a.value == b.value
    return a == b


def _show(value: Value) -> str:
    if isinstance(value, Time):
        return f"{value.timestamp[:10]}/{value.precision}"
    if isinstance(value, ox.NamedNode):
        return wd_id(value) or value.value
    return value.value


def diff(
    graph: KGraph,
    endpoint: str = DEFAULT_ENDPOINT,
    *,
    retrieved: Time | None = None,
    timeout: float = 60.0,
    select: Select | None = None,
) -> DiffReport:
    """Compare the statements of reconciled items with the endpoint's."""
    from kzld.querying.endpoints import select as remote_select
    from kzld.wikidata.export import data_date

    ask = select or remote_select
    model = build_model(graph)
    ours = [s for s in model.statements if wd_id(s.subject)]
    items = sorted({s.subject.value for s in ours})
    pids = sorted({s.pid for s in ours}, key=lambda p: int(p[1:]))
    remote = _fetch(ask, endpoint, items, pids, timeout)
    writable = {sc.pid for sc in model.alignment.statement_classes.values()}
    when = retrieved or data_date(graph)

    ours.sort(key=lambda s: (s.subject.value, int(s.pid[1:]), str(s.value), str(s.qualifiers)))
    live = {
        key: [r for r in statements if r.rank != DEPRECATED] for key, statements in remote.items()
    }
    # Pair each kzld statement with a Wikidata statement of a compatible value, fewest
    # clashing qualifiers first, so that two tenures of one post find the right partners.
    pairs = sorted(
        (len(_clashes(st, r)), i, r.statement, r)
        for i, st in enumerate(ours)
        for r in live.get((st.subject.value, st.pid), [])
        if _comparable(st.value) and compatible(st.value, r.value)
    )
    partner: dict[int, _Remote] = {}
    used: set[str] = set()
    for _, i, statement, r in pairs:
        if i not in partner and statement not in used:
            partner[i] = r
            used.add(statement)

    differences: list[Difference] = []
    lines: list[str] = []
    notes: list[str] = []
    for i, st in enumerate(ours):
        item, pid, shown, where = wd_id(st.subject), st.pid, _show(st.value), st.origin.value
        theirs = live.get((st.subject.value, pid), [])
        same = [r for r in theirs if compatible(st.value, r.value)] if _comparable(st.value) else []
        if not _comparable(st.value):
            differences.append(
                Difference("not-comparable", item, pid, shown, "the value has no QID", where)
            )
        elif i not in partner and isinstance(st.value, Time) and theirs and not same:
            detail = "Wikidata " + ", ".join(_show(r.value) for r in theirs)
            differences.append(Difference("conflict", item, pid, shown, detail, where))
        elif i not in partner:
            differences.append(Difference("missing", item, pid, shown, "", where))
            if pid in writable and not same:
                lines.extend(qs_lines(st, when, notes))
            elif pid in writable:
                notes.append(f"{where}: Wikidata has another statement with this value")
        else:
            best = partner[i]
            clashes = _clashes(st, best)
            lacking = [
                (q, v) for q, v in st.qualifiers if _comparable(v) and not best.qualifiers.get(q)
            ]
            for q, ours_v, theirs_v in clashes:
                detail = f"{q}: kzld {_show(ours_v)}, Wikidata " + ", ".join(map(_show, theirs_v))
                differences.append(Difference("conflict", item, pid, shown, detail, where))
            for q, v in lacking:
                detail = f"{q} {_show(v)}"
                differences.append(Difference("missing-qualifier", item, pid, shown, detail, where))
            if not clashes and not lacking:
                differences.append(Difference("agree", item, pid, shown, "", where))
            if lacking and not clashes and pid in writable and len(same) == 1:
                partial = Statement(
                    st.subject, pid, st.value, tuple(lacking), st.references, st.origin
                )
                lines.extend(qs_lines(partial, when, notes))
            elif lacking and pid in writable:
                notes.append(
                    f"{where}: qualifiers not added, the statement conflicts or is ambiguous"
                )
    for (subject, pid), statements in sorted(live.items()):
        for r in sorted(statements, key=lambda r: r.statement):
            if r.statement not in used:
                item = wd_id(ox.NamedNode(subject))
                differences.append(
                    Difference("only-wikidata", item, pid, _show(r.value), r.statement)
                )
    return DiffReport(differences, lines, notes)


def _comparable(value: Value) -> bool:
    """Whether Wikidata can hold this value: not a kzld IRI (an unreconciled entity)."""
    return not isinstance(value, ox.NamedNode) or wd_id(value) is not None


def _clashes(st: Statement, remote: _Remote) -> list[tuple[str, Value, list[Value]]]:
    found = []
    for pid, value in st.qualifiers:
        theirs = remote.qualifiers.get(pid, [])
        if _comparable(value) and theirs and not any(compatible(value, t) for t in theirs):
            found.append((pid, value, theirs))
    return found


def _fetch(
    ask: Select, endpoint: str, items: list[str], pids: list[str], timeout: float
) -> dict[tuple[str, str], list[_Remote]]:
    found: dict[tuple[str, str], dict[str, _Remote]] = defaultdict(dict)
    step = max(1, CHUNK // max(1, len(pids)))
    for start in range(0, len(items), step):
        rows = [
            (ox.NamedNode(item), ox.NamedNode(PREFIXES["p"] + pid),
             ox.NamedNode(PREFIXES["ps"] + pid), ox.NamedNode(PREFIXES["psv"] + pid))
            for item in items[start : start + step]
            for pid in pids
        ]  # fmt: skip
        query = with_table(_query("statements"), ("item", "claim", "ps", "psv"), rows)
        answer = ask(endpoint, query, timeout=timeout)
        for row in answer["results"]["bindings"]:
            pid = row["claim"]["value"][len(PREFIXES["p"]) :]
            key = (row["item"]["value"], pid)
            statement = row["statement"]["value"]
            remote = found[key].get(statement)
            if remote is None:
                value = row["value"]
                remote = _Remote(
                    statement,
                    row["rank"]["value"],
                    _remote_value(value["value"], value["type"] == "uri", _get(row, "precision")),
                    {},
                )
                found[key][statement] = remote
            if "qualifier" in row:
                qpid = row["qualifier"]["value"].rsplit("/", 1)[1]
                qv = row["qvalue"]
                value = _remote_value(qv["value"], qv["type"] == "uri", _get(row, "qprecision"))
                values = remote.qualifiers.setdefault(qpid, [])
                if value not in values:
                    values.append(value)
    return {key: list(statements.values()) for key, statements in found.items()}


def _get(row: dict, name: str) -> str | None:
    return row[name]["value"] if name in row else None


def diff_table(report: DiffReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(("kind", "item", "property", "value", "detail", "kzld"))
    for d in report.differences:
        writer.writerow((d.kind, d.item, d.pid, d.value, d.detail, d.origin))
    return out.getvalue()
