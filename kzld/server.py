"""The read-only HTTP server: SPARQL 1.1 Protocol, dereferenceable kzld IRIs, and the
Reconciliation Service API 0.2, over one loaded graph."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pyoxigraph as ox

from kzld.formats import FORMATS, NTRIPLES, TURTLE
from kzld.graph import GENID, KGraph
from kzld.site import (
    ALT_LABEL,
    ID_BASE,
    KZ,
    LABEL,
    Index,
    entity_html,
    is_entity,
    landing_html,
    ontology_html,
    page,
    serialize,
)

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RESULTS_JSON = "application/sparql-results+json"
RESULTS_XML = "application/sparql-results+xml"
CSV = "text/csv"
TSV = "text/tab-separated-values"
HTML = "text/html"

# format= names and the media types they stand for.
_FORMAT_NAMES = {
    "json": RESULTS_JSON,
    "xml": RESULTS_XML,
    "csv": CSV,
    "tsv": TSV,
    **{f.name: f.media_type for f in FORMATS},
    "ttl": TURTLE.media_type,
    "nt": NTRIPLES.media_type,
    "html": HTML,
}
# Generic JSON and XML requests get the SPARQL results formats.
_ALIASES = {
    "application/json": RESULTS_JSON,
    "application/xml": RESULTS_XML,
    "text/xml": RESULTS_XML,
}
_SOLUTION_TYPES = [
    RESULTS_JSON,
    RESULTS_XML,
    CSV,
    TSV,
    "application/json",
    "application/xml",
    "text/xml",
]
_BOOLEAN_TYPES = [RESULTS_JSON, RESULTS_XML, "application/json", "application/xml", "text/xml"]
_GRAPH_TYPES = [f.media_type for f in FORMATS]
_ENTITY_TYPES = [HTML, *_GRAPH_TYPES]
_BY_MEDIA_TYPE = {f.media_type: f for f in FORMATS}
_BY_SUFFIX = {f.extension: f.media_type for f in FORMATS} | {".html": HTML}


@dataclass(frozen=True)
class Limits:
    """What one server will do for a client; each limit has a clear refusal."""

    timeout: float = 10.0  # seconds a SPARQL query may run
    max_rows: int = 10_000  # solutions or triples in one answer; more are cut off
    max_body: int = 1 << 20  # bytes in a POST body (413 beyond)
    max_url: int = 16_384  # bytes in the request target (414 beyond)
    connections: int = 16  # requests handled at once (503 beyond)
    queries: int = 2  # SPARQL queries evaluated at once (503 beyond)
    batch: int = 100  # reconciliation queries in one batch


@dataclass
class Response:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class HttpError(Exception):
    """A refusal: status code, one-line message, and a hint."""

    def __init__(self, status: int, message: str, hint: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.hint = hint

    def response(self) -> Response:
        text = f"kzld: error: {self.message}\n" + (f"  hint: {self.hint}\n" if self.hint else "")
        return Response(self.status, "text/plain; charset=utf-8", text.encode("utf-8"))


# --- content negotiation ------------------------------------------------------------------


def negotiate(accept: str | None, offers: list[str]) -> str | None:
    """The offer the Accept header likes best (first offer on ties); None if none is
    acceptable. No header means the first offer."""
    if not accept or not accept.strip():
        return offers[0]
    ranges = []
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media:
            continue
        q = 1.0
        for param in fields[1:]:
            if param.lower().startswith("q="):
                try:
                    q = max(0.0, min(1.0, float(param[2:])))
                except ValueError:
                    q = 0.0
        ranges.append((media, q))
    best, best_q = None, 0.0
    for offer in offers:
        q = _quality(offer, ranges)
        if q > best_q:
            best, best_q = offer, q
    return best


def _quality(offer: str, ranges: list[tuple[str, float]]) -> float:
    main = offer.split("/")[0] + "/*"
    for pattern in (offer, main, "*/*"):  # the most specific range decides
        matches = [q for media, q in ranges if media == pattern]
        if matches:
            return max(matches)
    return 0.0


# --- query safety and execution -----------------------------------------------------------


# pyparsing's packrat cache is shared by every thread: one parse at a time.
_PARSER_LOCK = threading.Lock()


def check_query(text: str) -> None:
    """Refuse updates and SERVICE before anything runs: pyoxigraph would open the remote
    connection itself, out of reach of Python's audit hook."""
    from pyparsing import ParseException
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    try:
        with _PARSER_LOCK:
            tree = parseQuery(text)
    except ParseException as err:
        try:
            with _PARSER_LOCK:
                parseUpdate(text)
        except ParseException:
            raise HttpError(
                400, f"SPARQL syntax error at line {err.lineno}, column {err.col}: {err.msg}"
            ) from None
        raise HttpError(
            400,
            "SPARQL updates are refused: this endpoint is read-only",
            hint="send a SELECT, ASK, CONSTRUCT or DESCRIBE query",
        ) from None
    if _has_service(tree):
        raise HttpError(
            400,
            "SERVICE is refused: this endpoint never queries other endpoints",
            hint="query the remote endpoint directly",
        )


def _has_service(node: object) -> bool:
    if getattr(node, "name", None) == "ServiceGraphPattern":
        return True
    if isinstance(node, dict):
        return any(_has_service(v) for v in node.values())
    if isinstance(node, list | tuple):
        return any(_has_service(v) for v in node)
    if hasattr(node, "asList"):  # pyparsing ParseResults
        return any(_has_service(v) for v in node)
    return False


@dataclass
class Outcome:
    """A finished query: solutions, a boolean, or triples, cut at the row limit."""

    variables: list[str] | None = None
    rows: list[tuple] | None = None  # one term (or None) per variable
    boolean: bool | None = None
    triples: list[ox.Triple] | None = None
    truncated: bool = False


class _Expired(Exception):
    pass


def evaluate(store: ox.Store, text: str, limits: Limits, slots: threading.Semaphore) -> Outcome:
    """Run the query in a worker thread; answer 503 at the timeout. pyoxigraph cannot be
    interrupted, so the worker stops at its next row and holds its slot until then."""
    if not slots.acquire(timeout=min(limits.timeout, 2.0)):
        raise HttpError(503, "too many queries at once", hint="retry in a moment")
    deadline = time.monotonic() + limits.timeout
    box: dict[str, object] = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["outcome"] = _collect(store, text, limits.max_rows, deadline)
        except BaseException as err:  # handed to the waiting request thread
            # Without its traceback: pyoxigraph objects in those frames must die here.
            box["error"] = err.with_traceback(None)
        finally:
            slots.release()
            done.set()

    threading.Thread(target=work, name="kzld-query", daemon=True).start()
    if not done.wait(limits.timeout + 0.5) or isinstance(box.get("error"), _Expired):
        raise HttpError(
            503,
            f"the query ran past the {limits.timeout:g} s time limit and was stopped",
            hint="narrow the query or add a LIMIT",
        )
    error = box.get("error")
    if isinstance(error, SyntaxError):
        raise HttpError(400, f"SPARQL syntax error: {error}")
    if isinstance(error, BaseException):
        raise HttpError(500, f"the query failed: {error}")
    return box["outcome"]  # type: ignore[return-value]


def _collect(store: ox.Store, text: str, max_rows: int, deadline: float) -> Outcome:
    """Evaluate and copy the answer out: pyoxigraph's result objects may only be dropped
    on the thread that made them."""
    result = store.query(text)
    if isinstance(result, ox.QueryBoolean):
        return Outcome(boolean=bool(result))
    names = [v.value for v in result.variables] if isinstance(result, ox.QuerySolutions) else []
    items: list = []
    truncated = expired = False
    for item in result:
        if time.monotonic() > deadline:
            expired = True
            break
        if len(items) == max_rows:
            truncated = True
            break
        items.append(tuple(item[n] for n in names) if names else item)
    is_select = isinstance(result, ox.QuerySolutions)
    del result
    if expired:
        raise _Expired()
    if is_select:
        return Outcome(variables=names, rows=items, truncated=truncated)
    return Outcome(triples=items, truncated=truncated)


# --- result writers (SPARQL 1.1 Query Results JSON, XML, CSV, TSV) ------------------------


def _json_term(term: object) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    if isinstance(term, ox.Triple):
        return {
            "type": "triple",
            "value": {
                "subject": _json_term(term.subject),
                "predicate": _json_term(term.predicate),
                "object": _json_term(term.object),
            },
        }
    raise TypeError(term)


def write_results(outcome: Outcome, media: str) -> bytes:
    if media == RESULTS_JSON:
        if outcome.boolean is not None:
            doc: dict = {"head": {}, "boolean": outcome.boolean}
        else:
            bindings = [
                {
                    v: _json_term(t)
                    for v, t in zip(outcome.variables, row, strict=True)
                    if t is not None
                }
                for row in outcome.rows
            ]
            doc = {"head": {"vars": outcome.variables}, "results": {"bindings": bindings}}
        return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    if media == RESULTS_XML:
        return _xml_results(outcome).encode("utf-8")
    if media == CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(outcome.variables)
        for row in outcome.rows:
            writer.writerow([_csv_value(t) for t in row])
        return buffer.getvalue().encode("utf-8")
    # TSV: terms in their N-Triples form, which escapes tabs and newlines.
    lines = ["\t".join("?" + v for v in outcome.variables)]
    for row in outcome.rows:
        lines.append("\t".join("" if t is None else str(t) for t in row))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _csv_value(term: object) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    return term.value if hasattr(term, "value") else str(term)


def _xml_results(outcome: Outcome) -> str:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<sparql xmlns="http://www.w3.org/2005/sparql-results#">',
    ]
    if outcome.boolean is not None:
        out += ["<head/>", f"<boolean>{'true' if outcome.boolean else 'false'}</boolean>"]
    else:
        out.append(
            "<head>"
            + "".join(f'<variable name="{escape(v)}"/>' for v in outcome.variables)
            + "</head>"
        )
        out.append("<results>")
        for row in outcome.rows:
            cells = "".join(
                f'<binding name="{escape(v)}">{_xml_term(t)}</binding>'
                for v, t in zip(outcome.variables, row, strict=True)
                if t is not None
            )
            out.append(f"<result>{cells}</result>")
        out.append("</results>")
    out.append("</sparql>")
    return "\n".join(out) + "\n"


def _xml_term(term: object) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f'<literal xml:lang="{escape(term.language)}">{escape(term.value)}</literal>'
        if term.datatype.value != XSD_STRING:
            return (
                f'<literal datatype="{escape(term.datatype.value)}">{escape(term.value)}</literal>'
            )
        return f"<literal>{escape(term.value)}</literal>"
    raise TypeError(term)


# --- reconciliation ---------------------------------------------------------------------


def normalise(text: str) -> str:
    """Case, accents and punctuation removed: 'Zhaqsylyqov,' ~ 'zhaqsylyqov'."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.casefold().replace("ı", "i")
    return " ".join(re.findall(r"\w+", plain))


def similarity(query: str, label: str) -> float:
    """1.0 for the same normalised text; otherwise the better of whole-string and
    word-by-word likeness, so one surname finds a full name spelt another way."""
    if not query or not label:
        return 0.0
    if query == label:
        return 1.0
    whole = SequenceMatcher(None, query, label).ratio()
    words, label_words = query.split(), label.split()
    by_word = sum(
        max(SequenceMatcher(None, w, lw).ratio() for lw in label_words) for w in words
    ) / len(words)
    coverage = min(len(words), len(label_words)) / max(len(words), len(label_words))
    return min(max(whole, by_word * (0.85 + 0.15 * coverage)), 0.99)


@dataclass
class Candidate:
    iri: str
    name: str
    labels: list[str]
    types: list[ox.NamedNode]


class Reconciler:
    """Matches names against every rdfs:label and skos:altLabel of the kzld entities."""

    def __init__(self, index: Index):
        self.index = index
        self.candidates = []
        for entity in index.entities():
            names = index.values(entity, LABEL) + index.values(entity, ALT_LABEL)
            labels = sorted({normalise(n.value) for n in names if isinstance(n, ox.Literal)})
            if labels:
                self.candidates.append(
                    Candidate(entity.value, index.label(entity), labels, index.types(entity))
                )

    def manifest(self, base: str) -> dict:
        person = KZ + "Person"
        return {
            "versions": ["0.1", "0.2"],
            "name": "kzld: Kazakhstan's military leadership, 2022-2025",
            "identifierSpace": ID_BASE,
            "schemaSpace": KZ,
            "defaultTypes": [{"id": person, "name": "person"}],
            "view": {"url": f"{base}/reconcile/view?id={{{{id}}}}"},
            "preview": {
                "url": f"{base}/reconcile/preview?id={{{{id}}}}",
                "width": 400,
                "height": 160,
            },
            "suggest": {
                "entity": {"service_url": f"{base}/reconcile", "service_path": "/suggest/entity"}
            },
        }

    def reconcile(self, query: dict) -> list[dict]:
        text = query.get("query")
        if not isinstance(text, str) or not text.strip():
            raise HttpError(400, "each reconciliation query needs a non-empty 'query' string")
        limit = query.get("limit", 5)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 0 < limit <= 100:
            raise HttpError(400, "'limit' must be a whole number from 1 to 100")
        allowed = self._types(query.get("type"))
        wanted = normalise(text)
        scored = []
        for c in self.candidates:
            if allowed is not None and not allowed.intersection(c.types):
                continue
            score = max(similarity(wanted, label) for label in c.labels)
            if score >= 0.5:
                scored.append((round(score * 100, 1), c))
        scored.sort(key=lambda pair: (-pair[0], pair[1].name, pair[1].iri))
        exact = [s for s, _ in scored if s == 100.0]
        return [
            {
                "id": c.iri,
                "name": c.name,
                "score": score,
                "match": score == 100.0 and len(exact) == 1,
                "type": [{"id": t.value, "name": self.index.label(t)} for t in c.types],
            }
            for score, c in scored[:limit]
        ]

    def _types(self, given: object) -> set[ox.NamedNode] | None:
        if given is None or given == "":
            return None
        names = given if isinstance(given, list) else [given]
        if not all(isinstance(n, str) for n in names):
            raise HttpError(400, "'type' must be a class IRI or a list of them")
        allowed: set[ox.NamedNode] = set()
        for name in names:
            iri = KZ + name[3:] if name.startswith("kz:") else name
            allowed |= self.index.subclasses(ox.NamedNode(iri))
        return allowed

    def suggest(self, prefix: str) -> list[dict]:
        wanted = normalise(prefix)
        if not wanted:
            return []
        hits = [
            c
            for c in self.candidates
            if any(label.startswith(wanted) or f" {wanted}" in f" {label}" for label in c.labels)
        ]
        hits.sort(key=lambda c: (c.name.casefold(), c.iri))
        return [
            {
                "id": c.iri,
                "name": c.name,
                "description": ", ".join(self.index.label(t) for t in c.types),
            }
            for c in hits[:10]
        ]


# --- the service: routes to responses ---------------------------------------------------


class Service:
    """Everything the server answers, as plain functions of the request."""

    def __init__(self, graph: KGraph, limits: Limits):
        self.graph = graph
        self.limits = limits
        self.index = Index.of(graph)
        self.store = graph.store()
        self.reconciler = Reconciler(self.index)
        self.query_slots = threading.BoundedSemaphore(limits.queries)

    @staticmethod
    def link(node: ox.NamedNode) -> str | None:
        if is_entity(node):
            return "/id/" + quote(node.value[len(ID_BASE) :])
        if node.value.startswith(KZ):
            return "/ontology#" + quote(node.value[len(KZ) :])
        return None

    def route(
        self,
        method: str,
        path: str,
        params: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes | None,
        base: str,
    ) -> Response:
        accept = headers.get("accept")
        if path == "/sparql":
            return self.sparql(method, params, headers, body)
        if path == "/reconcile":
            return self.reconcile(params, base)
        if path == "/reconcile/preview":
            return self.preview(_one(params, "id"))
        if path == "/reconcile/view":
            target = (
                self.link(ox.NamedNode(_one(params, "id"))) if _is_iri(_one(params, "id")) else None
            )
            if target is None:
                raise HttpError(404, "no such kzld entity")
            return Response(303, "text/plain; charset=utf-8", b"", {"Location": target})
        if path == "/reconcile/suggest/entity":
            result = self.reconciler.suggest(_one(params, "prefix"))
            return _json({"result": result})
        if method != "GET":
            raise HttpError(405, f"{method} is not allowed here", hint="use GET")
        if path == "/":
            from kzld.timeline import timeline_svg

            svg = timeline_svg(self.index, self.link, standalone=False)
            downloads = [f"/kzld{f.extension}" for f in FORMATS]
            html = landing_html(self.index, self.link, downloads, svg, "/ontology", "/")
            return _html(html)
        if path == "/ontology":
            return _html(ontology_html(self.index, "/"))
        if path == "/timeline.svg":
            from kzld.timeline import timeline_svg

            svg = timeline_svg(self.index, self.link)
            return Response(200, "image/svg+xml; charset=utf-8", svg.encode("utf-8"))
        for fmt in FORMATS:
            if path == f"/kzld{fmt.extension}":
                data = serialize(self.graph.triples, fmt.oxigraph)
                return Response(200, _typed(fmt.media_type), data)
        if path.startswith("/id/"):
            return self.entity(ID_BASE + path[len("/id/") :], accept)
        if path.startswith("/.well-known/genid/"):
            return self.entity(GENID + path[len("/.well-known/genid/") :], accept)
        raise HttpError(404, f"nothing at {path}")

    def sparql(self, method: str, params: dict, headers: dict, body: bytes | None) -> Response:
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if "update" in params or content_type == "application/sparql-update":
            raise HttpError(
                400,
                "SPARQL updates are refused: this endpoint is read-only",
                hint="send a query with query= or an application/sparql-query body",
            )
        if method == "POST" and content_type == "application/sparql-query":
            text = (body or b"").decode("utf-8", errors="strict")
        elif method in ("GET", "POST"):
            if len(params.get("query", [])) != 1:
                raise HttpError(
                    400,
                    "give exactly one 'query' parameter",
                    hint="GET /sparql?query=... or POST a form or a query body",
                )
            text = params["query"][0]
        else:
            raise HttpError(405, f"{method} is not allowed on /sparql", hint="use GET or POST")
        check_query(text)
        outcome = evaluate(self.store, text, self.limits, self.query_slots)
        forced = _forced_format(params)
        if outcome.triples is not None:
            media = forced or negotiate(headers.get("accept"), _GRAPH_TYPES)
            if media not in _GRAPH_TYPES:
                raise _not_acceptable(_GRAPH_TYPES)
            data = serialize(outcome.triples, _BY_MEDIA_TYPE[media].oxigraph)
        else:
            offers = _BOOLEAN_TYPES if outcome.boolean is not None else _SOLUTION_TYPES
            media = forced or negotiate(headers.get("accept"), offers)
            media = _ALIASES.get(media, media)
            if media not in offers:
                raise _not_acceptable(offers)
            data = write_results(outcome, media)
        extra = {"Vary": "Accept"}
        if outcome.truncated:
            extra["Kzld-Truncated"] = f"answer cut at {self.limits.max_rows} rows"
        return Response(200, _typed(media), data, extra)

    def entity(self, iri: str, accept: str | None) -> Response:
        forced = None
        for suffix, media in _BY_SUFFIX.items():
            if iri.endswith(suffix):
                iri, forced = iri[: -len(suffix)], media
                break
        node = ox.NamedNode(iri) if _is_iri(iri) else None
        if node is None or node not in self.index.outgoing:
            raise HttpError(404, f"no such kzld entity: {iri}")
        media = forced or negotiate(accept, _ENTITY_TYPES)
        if media is None:
            raise _not_acceptable(_ENTITY_TYPES)
        headers = {"Vary": "Accept"}
        if media == HTML:
            return Response(
                200,
                _typed(HTML),
                entity_html(self.index, node, self.link, "/").encode("utf-8"),
                headers,
            )
        data = serialize(self.index.description(node), _BY_MEDIA_TYPE[media].oxigraph)
        return Response(200, _typed(media), data, headers)

    def reconcile(self, params: dict, base: str) -> Response:
        if "queries" not in params:
            return _json(self.reconciler.manifest(base))
        try:
            batch = json.loads(_one(params, "queries"))
        except json.JSONDecodeError as err:
            raise HttpError(
                400, f"'queries' is not JSON: {err.msg} at character {err.pos}"
            ) from None
        if not isinstance(batch, dict) or not all(isinstance(q, dict) for q in batch.values()):
            raise HttpError(
                400,
                "'queries' must be an object of query objects",
                hint='{"q0": {"query": "Murat Bektanov"}}',
            )
        if len(batch) > self.limits.batch:
            raise HttpError(413, f"at most {self.limits.batch} queries per batch")
        answer = {key: {"result": self.reconciler.reconcile(q)} for key, q in batch.items()}
        return _json(answer)

    def preview(self, iri: str) -> Response:
        node = ox.NamedNode(iri) if _is_iri(iri) else None
        if node is None or not is_entity(node) or node not in self.index.outgoing:
            raise HttpError(404, "no such kzld entity")
        names = [v.value for v in self.index.values(node, ALT_LABEL)]
        kinds = ", ".join(self.index.label(t) for t in self.index.types(node))
        body = (
            f"<h1>{escape(self.index.label(node))}</h1><p>{escape(kinds)}</p>"
            + (f"<p>also: {escape('; '.join(names))}</p>" if names else "")
            + f'<p><a href="{escape(self.link(node) or "")}">{escape(iri)}</a></p>'
        )
        return _html(page(self.index.label(node), body, "/"))


def _one(params: dict, name: str) -> str:
    values = params.get(name)
    if not values:
        raise HttpError(400, f"missing parameter '{name}'")
    return values[0]


def _is_iri(text: str) -> bool:
    return (
        bool(text)
        and text.startswith(("http://", "https://"))
        and not re.search(r"[\s<>\"{}|\\^`]", text)
    )


def _forced_format(params: dict) -> str | None:
    if "format" not in params:
        return None
    name = params["format"][0].strip().lower()
    media = _FORMAT_NAMES.get(name) or (name if "/" in name else None)
    if media is None:
        raise HttpError(
            400,
            f"unknown format {name!r}",
            hint="choose one of " + ", ".join(sorted(_FORMAT_NAMES)),
        )
    return _ALIASES.get(media, media)


def _not_acceptable(offers: list[str]) -> HttpError:
    return HttpError(
        406,
        "none of the accepted media types can be produced",
        hint="ask for one of " + ", ".join(offers),
    )


def _typed(media: str) -> str:
    return media + "; charset=utf-8"


def _json(doc: object) -> Response:
    body = (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    return Response(
        200, "application/json; charset=utf-8", body, {"Access-Control-Allow-Origin": "*"}
    )


def _html(text: str) -> Response:
    return Response(200, _typed(HTML), text.encode("utf-8"))


# --- HTTP plumbing -----------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    server_version = "kzld"
    timeout = 30  # a client that stops sending loses its connection, not a thread forever
    server: KzldServer

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def do_HEAD(self) -> None:
        self._answer("GET", head=True)

    def do_PUT(self) -> None:
        self._refuse_method()

    do_DELETE = do_PATCH = do_PUT

    def _refuse_method(self) -> None:
        self._send(
            HttpError(
                405, f"{self.command} is refused: this server is read-only", hint="use GET or POST"
            ).response()
        )

    def _answer(self, method: str, head: bool = False) -> None:
        try:
            response = self._respond(method)
        except HttpError as err:
            response = err.response()
        self._send(response, head)

    def _respond(self, method: str) -> Response:
        if len(self.path) > self.server.limits.max_url:
            raise HttpError(414, "request target too long", hint="send the query by POST")
        target = urlsplit(self.path)
        path = _safe_path(target.path)
        params = parse_qs(target.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = None
        if method == "POST":
            body = self._body()
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type == "application/x-www-form-urlencoded":
                text = body.decode("utf-8", errors="replace")
                for key, values in parse_qs(text, keep_blank_values=True).items():
                    params.setdefault(key, []).extend(values)
        return self.server.service.route(method, path, params, headers, body, self._base())

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            raise HttpError(411, "a POST needs a Content-Length")
        try:
            size = int(length)
        except ValueError:
            raise HttpError(400, "Content-Length is not a number") from None
        if size < 0:
            raise HttpError(400, "Content-Length is negative")
        if size > self.server.limits.max_body:
            self.close_connection = True
            raise HttpError(
                413,
                f"request body over {self.server.limits.max_body} bytes",
                hint="send a shorter query",
            )
        return self.rfile.read(size)

    def _base(self) -> str:
        host = self.headers.get("Host", "")
        if not re.fullmatch(r"[A-Za-z0-9.\-]+(:\d+)?|\[[0-9A-Fa-f:.]+\](:\d+)?", host):
            address, port = self.server.server_address[:2]
            host = f"{address}:{port}"
        return f"http://{host}"

    def _send(self, response: Response, head: bool = False) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        if not self.server.quiet:
            super().log_message(format, *args)


def _safe_path(raw: str) -> str:
    """The decoded path; '..', backslashes and control characters are refused outright."""
    path = unquote(raw, errors="strict")
    if (
        not path.startswith("/")
        or "\\" in path
        or any(ord(c) < 32 or ord(c) == 127 for c in path)
        or any(segment in (".", "..") for segment in path.split("/"))
        or "//" in path
    ):
        raise HttpError(400, "path refused", hint="ask for /id/{kind}/{name}")
    return path


class KzldServer(ThreadingHTTPServer):
    """A threading server with a bounded number of requests in flight."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], service: Service, quiet: bool = False):
        self.service = service
        self.limits = service.limits
        self.quiet = quiet
        self.slots = threading.BoundedSemaphore(service.limits.connections)
        super().__init__(address, Handler)

    def process_request(self, request, client_address) -> None:
        if not self.slots.acquire(blocking=False):
            body = b"kzld: error: too many requests at once\n  hint: retry in a moment\n"
            try:
                request.sendall(
                    b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain; "
                    b"charset=utf-8\r\nRetry-After: 1\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def make_server(
    graph: KGraph,
    host: str = "127.0.0.1",
    port: int = 8000,
    limits: Limits | None = None,
    quiet: bool = False,
) -> KzldServer:
    """A server bound to host:port (port 0 picks a free one), not yet serving."""
    service = Service(graph, limits or Limits())
    return KzldServer((host, port), service, quiet=quiet)
