"""Pages for people: entity pages, the landing page, ontology docs, and the static site.

The same renderers serve `kzld serve` (links are server paths) and `kzld site` (links are
relative file names), so a page reads the same with or without a server. Every literal
goes through html.escape.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable
from html import escape
from pathlib import Path

import pyoxigraph as ox

from kzld.errors import OutputError
from kzld.loading.formats import FORMATS
from kzld.loading.graph import GENID, KGraph
from kzld.vocabulary import DCTERMS, KZ, OWL, PROV, RDF, RDFS, SCHEMA, SKOS, XSD
from kzld.vocabulary import ID as ID_BASE
from kzld.vocabulary import ONTOLOGY as ONTOLOGY_IRI
from kzld.web.index import (
    ALT_LABEL,
    LABEL,
    PREFIXES,
    RDF_TYPE,
    Index,
    Link,
    compact,
    entity_path,
    is_entity,
)

EVIDENCE = ox.NamedNode(KZ + "evidence")

_PRECISION = {XSD + "date": "day", XSD + "gYearMonth": "month", XSD + "gYear": "year"}
_HIDDEN = {LABEL, ALT_LABEL, RDF_TYPE, EVIDENCE}


def serialize(triples: Iterable[ox.Triple], fmt: ox.RdfFormat) -> bytes:
    """Triples in one canonical order (named subjects before their citations), with
    kzld's prefixes where the format has them."""
    ordered = sorted(triples, key=lambda t: (t.subject.value.startswith(GENID), str(t)))
    if fmt == ox.RdfFormat.TURTLE:
        used = {p: ns for p, ns in PREFIXES.items() if any(ns in str(t) for t in ordered)}
        return ox.serialize(ordered, format=fmt, prefixes=used)
    return ox.serialize(ordered, format=fmt)


# --- HTML -------------------------------------------------------------------

_STYLE = """
body{font:16px/1.45 system-ui,sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem;
color:#1d1d1f;background:#fff}
a{color:#0b57a4}h1{font-size:1.7rem;margin-bottom:.2rem}.iri{color:#555;font-size:.85rem;
word-break:break-all}table{border-collapse:collapse;width:100%}th,td{text-align:left;
vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid #ddd}th{width:14rem;
font-weight:600}blockquote{margin:.3rem 0 .3rem 1rem;padding-left:.6rem;border-left:3px solid
#8aa}.meta{color:#666;font-size:.85rem}.types{color:#444}ol.sources li{margin-bottom:.6rem}
nav{font-size:.9rem;margin-bottom:1rem}svg{max-width:100%;height:auto}
""".strip()


def page(title: str, body: str, home: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)} · kzld</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f'<nav><a href="{escape(home)}">kzld</a></nav>\n{body}\n</body>\n</html>\n'
    )


def _term_html(index: Index, term: object, link: Link) -> str:
    if isinstance(term, ox.Literal):
        text = f"<span{_lang_attr(term)}>{escape(term.value)}</span>"
        precision = _PRECISION.get(term.datatype.value)
        if precision:
            text += f' <span class="meta">({precision})</span>'
        elif term.language:
            text += f' <span class="meta">@{escape(term.language)}</span>'
        return text
    if isinstance(term, ox.NamedNode):
        href = link(term)
        label = escape(index.label(term))
        if href is not None:
            return f'<a href="{escape(href)}">{label}</a>'
        if term.value.startswith(("http://", "https://")):
            return f'<a href="{escape(term.value)}">{label}</a>'
        return label
    return escape(str(term))


def _lang_attr(literal: ox.Literal) -> str:
    return f' lang="{escape(literal.language)}"' if literal.language else ""


def _nested_html(index: Index, node: ox.NamedNode, link: Link) -> str:
    """A citation or claim written inline, as the blank node it was authored as."""
    rows = []
    for t in index.outgoing.get(node, []):
        if t.predicate == RDF_TYPE:
            continue
        if isinstance(t.object, ox.NamedNode) and t.object.value.startswith(GENID):
            value = _nested_html(index, t.object, link)
        else:
            value = _term_html(index, t.object, link)
        rows.append(f"<li>{escape(term_label(index, t.predicate))}: {value}</li>")
    return "<ul>" + "".join(rows) + "</ul>"


def entity_html(index: Index, subject: ox.NamedNode, link: Link, home: str) -> str:
    """One entity's page: labels, types, facts, sources and quotes, incoming links."""
    title = index.label(subject)
    parts = [f"<h1>{escape(title)}</h1>", f'<p class="iri">{escape(subject.value)}</p>']
    types = index.types(subject)
    if types:
        names = ", ".join(_term_html(index, t, link) for t in types)
        parts.append(f'<p class="types">{names}</p>')
    alt = index.values(subject, ALT_LABEL)
    if alt:
        items = "".join(f"<li>{_term_html(index, a, link)}</li>" for a in alt)
        parts.append(f'<h2>Also known as</h2>\n<ul class="labels">{items}</ul>')
    kind = subject.value[len(ID_BASE) :].split("/", 1)[0] if is_entity(subject) else ""
    story = {"person": career_html, "post": holders_html, "organisation": posts_html}.get(kind)
    if story is not None:
        told = story(index, subject, link)
        if told:
            parts.append(told)
    rows = []
    for predicate, objects in _grouped(index.outgoing.get(subject, [])):
        if predicate in _HIDDEN:
            continue
        cells = []
        for obj in objects:
            if isinstance(obj, ox.NamedNode) and obj.value.startswith(GENID):
                cells.append(_nested_html(index, obj, link))
            else:
                cells.append(_term_html(index, obj, link))
        head = escape(term_label(index, predicate))
        href = link(predicate)
        if href is not None:
            head = f'<a href="{escape(href)}">{head}</a>'
        rows.append(f"<tr><th>{head}</th><td>{'<br>'.join(cells)}</td></tr>")
    if rows:
        parts.append('<h2>Facts</h2>\n<table class="facts">' + "\n".join(rows) + "</table>")
    citations = index.values(subject, EVIDENCE)
    if citations:
        parts.append("<h2>Sources and quotes</h2>\n" + _sources_html(index, citations, link))
    referrers = _referrers(index, subject)
    if referrers:
        items = "".join(
            f'<li>{_term_html(index, s, link)} <span class="meta">{escape(via)}</span></li>'
            for s, via in referrers
        )
        parts.append(f'<h2>Linked from</h2>\n<ul class="incoming">{items}</ul>')
    return page(title, "\n".join(parts), home)


def _grouped(triples: list[ox.Triple]) -> list[tuple[ox.NamedNode, list]]:
    groups: dict[ox.NamedNode, list] = {}
    for t in triples:
        groups.setdefault(t.predicate, []).append(t.object)
    return list(groups.items())


def _sources_html(index: Index, citations: list, link: Link) -> str:
    items = []
    for citation in citations:
        source = index.values(citation, ox.NamedNode(KZ + "source"))
        head = ", ".join(_term_html(index, s, link) for s in source) or "(no source)"
        body = [head]
        for quote in index.values(citation, ox.NamedNode(KZ + "quote")):
            body.append(f"<blockquote{_lang_attr(quote)}>{escape(quote.value)}</blockquote>")
        supports = index.values(citation, ox.NamedNode(KZ + "supports"))
        if supports:
            names = ", ".join(escape(term_label(index, p)) for p in supports)
            body.append(f'<div class="meta">supports: {names}</div>')
        items.append("<li>" + "\n".join(body) + "</li>")
    return '<ol class="sources">' + "\n".join(items) + "</ol>"


def _referrers(index: Index, subject: ox.NamedNode) -> list[tuple[ox.NamedNode, str]]:
    """Who points here; a citation or claim counts as the thing that carries it."""
    found: dict[tuple[ox.NamedNode, str], None] = {}
    for t in index.incoming.get(subject, []):
        via = term_label(index, t.predicate)
        owners = [(t.subject, via)]
        if t.subject.value.startswith(GENID):
            owners = [
                (u.subject, f"{term_label(index, u.predicate)} → {via}")
                for u in index.incoming.get(t.subject, [])
            ]
        for owner, path in owners:
            if isinstance(owner, ox.NamedNode) and not owner.value.startswith(GENID):
                found.setdefault((owner, path), None)
    return sorted(found, key=lambda pair: (index.label(pair[0]), pair[1], pair[0].value))


# --- careers and holders ------------------------------------------------------------------

# Labels for the terms of other vocabularies the data uses, where the ontology gives none.
_TERM_LABELS = {
    SCHEMA + "description": "description",
    SCHEMA + "name": "name",
    SCHEMA + "birthDate": "birth date",
    SCHEMA + "url": "web address",
    RDFS + "comment": "comment",
    RDFS + "seeAlso": "see also",
    SKOS + "definition": "definition",
    SKOS + "note": "note",
    SKOS + "exactMatch": "exact match",
    SKOS + "closeMatch": "close match",
    OWL + "sameAs": "same as",
    DCTERMS + "title": "title",
    DCTERMS + "description": "description",
    DCTERMS + "date": "date",
    DCTERMS + "created": "created",
    DCTERMS + "modified": "modified",
    DCTERMS + "publisher": "publisher",
    DCTERMS + "creator": "author",
    DCTERMS + "source": "source",
    DCTERMS + "license": "licence",
    PROV + "wasDerivedFrom": "derived from",
}


def term_label(index: Index, term: ox.NamedNode) -> str:
    """A property or class as people read it: the ontology's label, else a known label,
    else its local name in words (never a CURIE)."""
    if index.values(term, LABEL):
        return index.label(term)
    if term.value in _TERM_LABELS:
        return _TERM_LABELS[term.value]
    local = re.split(r"[/#]", term.value)[-1]
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", local).lower() or term.value


def _date_key(value: object) -> tuple:
    """Sorts dates by the days they cover, whatever their precision; undated last."""
    from kzld.web.timeline import span_of

    span = span_of(value)
    return (0, span.first, span.last) if span else (1, None, None)


def _date_of(index: Index, node: object, *names: str):
    """The node's first date among the properties named, and its sort key."""
    for name in names:
        for value in index.values(node, ox.NamedNode(KZ + name)):
            if _date_key(value)[0] == 0:
                return value, _date_key(value)
    return None, _date_key(None)


def _sources_of(index: Index, node: object, link: Link) -> str:
    """The sources cited for a node, each once, as links."""
    seen: dict[ox.NamedNode, None] = {}
    for citation in index.values(node, EVIDENCE):
        for source in index.values(citation, ox.NamedNode(KZ + "source")):
            seen.setdefault(source, None)
    ordered = sorted(seen, key=lambda s: (index.label(s).casefold(), s.value))
    return "<br>".join(_term_html(index, s, link) for s in ordered) or "—"


def _cell(index: Index, values: list, link: Link) -> str:
    return ", ".join(_term_html(index, v, link) for v in values) or "—"


def _tenure_rows(index: Index, tenures: list, link: Link, first: str) -> list[str]:
    """Table rows for tenures: the person or post, start, end, how it ended, sources."""
    rows = []
    for tenure in tenures:
        start, _ = _date_of(index, tenure, "start")
        end, _ = _date_of(index, tenure, "end")
        held, _ = _date_of(index, tenure, "heldOn")
        as_of, _ = _date_of(index, tenure, "inOfficeAsOf")
        what = index.values(tenure, ox.NamedNode(KZ + first))
        cause = index.values(tenure, ox.NamedNode(KZ + "endCause"))
        if end is not None:
            end_html = _term_html(index, end, link)
        elif as_of is not None:
            end_html = f"in office as of {_term_html(index, as_of, link)}"
        else:
            end_html = "unknown"
        start_html = _term_html(index, start, link) if start is not None else "unknown"
        if start is None and held is not None:
            start_html = f"unknown (in office on {_term_html(index, held, link)})"
        acting = index.values(tenure, ox.NamedNode(KZ + "acting"))
        if any(isinstance(a, ox.Literal) and a.value == "true" for a in acting):
            start_html += ' <span class="meta">(acting)</span>'
        details = link(tenure)
        more = f' <a class="meta" href="{escape(details)}">(tenure)</a>' if details else ""
        rows.append(f"<tr><td>{_cell(index, what, link)}{more}</td>")
        rows[-1] += (
            f"<td>{start_html}</td><td>{end_html}</td><td>{_cell(index, cause, link)}</td>"
            f"<td>{_sources_of(index, tenure, link)}</td></tr>"
        )
    return rows


def _in_date_order(index: Index, nodes, *names: str) -> list:
    return sorted(
        set(nodes), key=lambda n: (_date_of(index, n, *names)[1], index.label(n), n.value)
    )


def career_html(index: Index, person: ox.NamedNode, link: Link) -> str:
    """A person's tenures in date order (start, end, how it ended, sources), then the
    events that name them, in date order."""
    holder, parts = ox.NamedNode(KZ + "holder"), []
    tenures = [t.subject for t in index.incoming.get(person, []) if t.predicate == holder]
    if tenures:
        ordered = _in_date_order(index, tenures, "start", "heldOn", "end")
        head = "<tr><th>post</th><th>from</th><th>to</th><th>how it ended</th><th>sources</th>"
        rows = _tenure_rows(index, ordered, link, "post")
        parts.append(
            '<h2>Career</h2>\n<table class="career">' + head + "</tr>" + "".join(rows) + "</table>"
        )
    roles = {ox.NamedNode(KZ + "person"), ox.NamedNode(KZ + "agent")}
    events = [
        t.subject
        for t in index.incoming.get(person, [])
        if t.predicate in roles and t.subject.value.startswith(ID_BASE + "event/")
    ]
    if events:
        rows = []
        for event in _in_date_order(index, events, "date"):
            # Sources that disagree on the date: every claimed date, earliest first.
            dates = sorted(index.values(event, ox.NamedNode(KZ + "date")), key=_date_key)
            when = " / ".join(_term_html(index, d, link) for d in dates) or "undated"
            kinds = [k for k in index.types(event) if k.value != KZ + "Event"]
            rows.append(
                f"<tr><td>{when}</td>"
                f"<td>{_term_html(index, event, link)}</td><td>{_cell(index, kinds, link)}</td>"
                f"<td>{_sources_of(index, event, link)}</td></tr>"
            )
        head = "<tr><th>date</th><th>event</th><th>kind</th><th>sources</th></tr>"
        parts.append('<h2>Events</h2>\n<table class="events">' + head + "".join(rows) + "</table>")
    return "\n".join(parts)


def holders_html(index: Index, post: ox.NamedNode, link: Link, heading: str = "h2") -> str:
    """A post's holders in succession order, with their dates, how each left, sources."""
    bars = _timeline_rows(index).get(post, [])
    if not bars:
        return ""
    head = "<tr><th>holder</th><th>from</th><th>to</th><th>how it ended</th><th>sources</th>"
    rows = _tenure_rows(index, [b.tenure for b in bars], link, "holder")
    title = "Holders" if heading == "h2" else _term_html(index, post, link)
    return (
        f'<{heading}>{title}</{heading}>\n<table class="holders">{head}</tr>{"".join(rows)}</table>'
    )


def _timeline_rows(index: Index) -> dict:
    """The timeline's tenures by post in succession order, worked out once per index
    (every post and organisation page of a site asks)."""
    from kzld.web.timeline import collect

    if index.rows is None:
        index.rows = collect(index)
    return index.rows


def posts_html(index: Index, organisation: ox.NamedNode, link: Link) -> str:
    """An organisation's posts, each with its holders in order."""
    post_in = ox.NamedNode(KZ + "postIn")
    posts = sorted(
        {t.subject for t in index.incoming.get(organisation, []) if t.predicate == post_in},
        key=lambda p: (index.label(p).casefold(), p.value),
    )
    parts = [holders_html(index, p, link, heading="h3") for p in posts]
    parts = [p for p in parts if p]
    return "<h2>Posts and their holders</h2>\n" + "\n".join(parts) if parts else ""


def landing_html(
    index: Index, link: Link, downloads: list[str], timeline_svg: str, ontology_href: str, home: str
) -> str:
    """The landing page: what the dataset is, where to download it, what it holds."""
    ontology = ox.NamedNode(ONTOLOGY_IRI)
    description = index.values(ontology, ox.NamedNode(DCTERMS + "description"))
    parts = ["<h1>kzld: Kazakhstan's military leadership reshuffle, 2022–2025</h1>"]
    for d in description:
        parts.append(f"<p>{escape(d.value)}</p>")
    entities = index.entities()
    parts.append(
        f"<p>{len(index.graph)} triples describing {len(entities)} entities; "
        f'documentation of the <a href="{escape(ontology_href)}">kzld ontology</a>.</p>'
    )
    if downloads:
        items = "".join(f'<li><a href="{escape(d)}">{escape(d)}</a></li>' for d in downloads)
        parts.append(f'<h2>Downloads</h2>\n<ul class="downloads">{items}</ul>')
    parts.append(
        '<h2>Who held which post when</h2>\n<div class="timeline">' + timeline_svg + "</div>"
    )
    by_kind: dict[str, list[ox.NamedNode]] = {}
    for e in entities:
        kind = e.value[len(ID_BASE) :].split("/", 1)[0]
        by_kind.setdefault(kind, []).append(e)
    for kind, members in sorted(by_kind.items()):
        ordered = sorted(members, key=lambda e: (index.label(e).casefold(), e.value))
        items = "".join(f"<li>{_term_html(index, e, link)}</li>" for e in ordered)
        parts.append(f"<h2>{escape(kind)} ({len(members)})</h2>\n<ul>{items}</ul>")
    return page("kzld", "\n".join(parts), home)


def ontology_html(index: Index, home: str) -> str:
    """Documentation of every kz: class and property: label, definition, domain, range,
    super-terms and mappings."""
    terms = sorted(
        (s for s in index.outgoing if isinstance(s, ox.NamedNode) and s.value.startswith(KZ)),
        key=lambda n: n.value,
    )
    groups = {"Classes": [], "Properties": [], "Other terms": []}
    class_types = {OWL + "Class", RDFS + "Class", RDFS + "Datatype"}
    prop_types = {
        OWL + "ObjectProperty",
        OWL + "DatatypeProperty",
        OWL + "AnnotationProperty",
        RDF + "Property",
    }
    for term in terms:
        kinds = {t.value for t in index.types(term)}
        group = (
            "Classes"
            if kinds & class_types
            else "Properties"
            if kinds & prop_types
            else "Other terms"
        )
        groups[group].append(term)

    def link(node: ox.NamedNode) -> str | None:
        return "#" + node.value[len(KZ) :] if node.value.startswith(KZ) else None

    shown = [
        (SKOS + "definition", "definition"),
        (RDFS + "comment", "comment"),
        (RDFS + "subClassOf", "subclass of"),
        (RDFS + "subPropertyOf", "subproperty of"),
        (RDFS + "domain", "domain"),
        (RDFS + "range", "range"),
        (SKOS + "exactMatch", "exact match"),
        (SKOS + "closeMatch", "close match"),
        (KZ + "noWikidataCounterpart", "no Wikidata counterpart"),
    ]
    ontology = ox.NamedNode(ONTOLOGY_IRI)
    parts = [
        f"<h1>{escape(index.label(ontology))}</h1>",
        f'<p class="iri">{escape(ONTOLOGY_IRI)}</p>',
    ]
    for d in index.values(ontology, ox.NamedNode(DCTERMS + "description")):
        parts.append(f"<p>{escape(d.value)}</p>")
    for title, members in groups.items():
        if not members:
            continue
        toc = ", ".join(
            f'<a href="#{escape(m.value[len(KZ) :])}">{escape(compact(m.value))}</a>'
            for m in members
        )
        parts.append(f"<h2>{title}</h2>\n<p>{toc}</p>")
        for m in members:
            kinds = ", ".join(_term_html(index, t, link) for t in index.types(m))
            rows = [f"<tr><th>type</th><td>{kinds}</td></tr>"]
            for iri, name in shown:
                values = index.values(m, ox.NamedNode(iri))
                if values:
                    cells = "<br>".join(_ontology_value(index, v, link) for v in values)
                    rows.append(f"<tr><th>{name}</th><td>{cells}</td></tr>")
            anchor = escape(m.value[len(KZ) :])
            parts.append(
                f'<section id="{anchor}"><h3>{escape(index.label(m))} '
                f'<span class="meta">{escape(compact(m.value))}</span></h3>\n'
                f"<table>{''.join(rows)}</table></section>"
            )
    return page("ontology", "\n".join(parts), home)


def _ontology_value(index: Index, value: object, link: Link) -> str:
    if isinstance(value, ox.NamedNode) and value.value.startswith(GENID):
        members = _list_members(index, value)
        if members:
            return " or ".join(_term_html(index, m, link) for m in members)
        return _nested_html(index, value, link)
    if isinstance(value, ox.NamedNode) and not value.value.startswith(KZ):
        return f'<a href="{escape(value.value)}">{escape(compact(value.value))}</a>'
    return _term_html(index, value, link)


def _list_members(index: Index, node: ox.NamedNode) -> list:
    """Members of an owl:unionOf list held by a (skolemised) class expression."""
    rdf = RDF
    lists = index.values(node, ox.NamedNode(OWL + "unionOf"))
    members = []
    cell = lists[0] if lists else None
    while isinstance(cell, ox.NamedNode) and cell.value != rdf + "nil":
        members += index.values(cell, ox.NamedNode(rdf + "first"))
        rest = index.values(cell, ox.NamedNode(rdf + "rest"))
        cell = rest[0] if rest else None
    return members


# --- the static site --------------------------------------------------------


def build_site(graph: KGraph, out: Path, dumps: Path | None = None) -> list[Path]:
    """Write the static site into `out`, linking the dumps `kzld build` wrote into
    `dumps` (default: `out`). Every page is rendered before any is written, and each file
    is replaced atomically. Returns the files written, in order."""
    from kzld.web.timeline import timeline_svg

    index = Index.of(graph)
    files: dict[str, str] = {}
    svg = timeline_svg(index, link=lambda n: _file_link("index.html", n))
    downloads = _downloads(out, dumps or out)
    files["index.html"] = landing_html(
        index,
        lambda n: _file_link("index.html", n),
        downloads,
        timeline_svg(index, link=lambda n: _file_link("index.html", n), standalone=False),
        "ontology.html",
        "index.html",
    )
    files["timeline.svg"] = svg
    files["ontology.html"] = ontology_html(index, "index.html")
    for entity in index.entities():
        path = entity_path(entity.value)
        if path is None:
            continue
        name = f"id/{path}.html"
        home = posixpath.relpath("index.html", posixpath.dirname(name))
        files[name] = entity_html(index, entity, lambda n, here=name: _file_link(here, n), home)
    # Every folder first, so an unwritable --out fails before any page is replaced.
    for folder in sorted({(out / name).parent for name in files}):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputError(
                f"{folder}: cannot write ({err.strerror or err})",
                hint="choose a writable --out folder",
            ) from None
    written = []
    for name in sorted(files):
        target = out / name
        _write_atomically(target, files[name].encode("utf-8"))
        written.append(target)
    return written


def _file_link(here: str, node: ox.NamedNode) -> str | None:
    path = entity_path(node.value)
    if path is not None:
        return posixpath.relpath(f"id/{path}.html", posixpath.dirname(here) or ".")
    if node.value.startswith(KZ):
        return (
            posixpath.relpath("ontology.html", posixpath.dirname(here) or ".")
            + "#"
            + node.value[len(KZ) :]
        )
    return None


def is_publication(folder: Path) -> bool:
    """Whether the folder holds what `kzld build` publishes (its checksums at least)."""
    from kzld.publishing.publication import CHECKSUMS

    return (folder / CHECKSUMS).is_file()


def _downloads(out: Path, dumps: Path) -> list[str]:
    """Links, relative to the site, to the files `kzld build` published in `dumps`."""
    from kzld.publishing.publication import CHECKSUMS, CONTEXT, DESCRIPTION, PARTS

    names = [stem + f.extension for _, stem in PARTS for f in FORMATS]
    names += [CONTEXT, DESCRIPTION, CHECKSUMS]
    base = os.path.relpath(dumps, out) if dumps != out else ""
    return [
        posixpath.join(*Path(base).parts, n) if base else n for n in names if (dumps / n).is_file()
    ]


def _write_atomically(target: Path, data: bytes) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, target)
    except OSError as err:
        raise OutputError(
            f"{target}: cannot write ({err.strerror or err})",
            hint="choose a writable --out folder",
        ) from None
