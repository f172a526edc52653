"""The read-only HTTP server: SPARQL 1.1 Protocol, dereferenceable kzld IRIs, the published
dumps, and the Reconciliation Service API 0.2, on starlette served by uvicorn.

SPARQL runs in worker processes (kzld/web/sparql_worker.py) that are killed at their deadline
or memory cap; the event loop only routes bytes. Imported by `kzld serve` alone: no other
command pays for uvicorn and starlette.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import logging
import os
import re
import signal
import socket
import tempfile
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html import escape
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, unquote_to_bytes

import pyoxigraph as ox
import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from kzld.loading.formats import FORMATS, JSONLD, NTRIPLES, TURTLE
from kzld.loading.graph import GENID, KGraph
from kzld.vocabulary import OWL
from kzld.web.reconcile_api import MAX_QUERIES, BadQuery, Reconciler
from kzld.web.site import (
    ALT_LABEL,
    ID_BASE,
    KZ,
    ONTOLOGY_IRI,
    PREFIXES,
    Index,
    entity_html,
    is_entity,
    landing_html,
    ontology_html,
    page,
    serialize,
)
from kzld.web.sparql_worker import (
    CSV,
    RESULTS_JSON,
    RESULTS_XML,
    STOP_SIGNALS,
    TSV,
    Pool,
    QueryFailed,
    die_with_parent,
)

HTML = "text/html"
_log = logging.getLogger("kzld.server")
OWL_VERSION_IRI = ox.NamedNode(OWL + "versionIRI")

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
_SOLUTION_TYPES = [RESULTS_JSON, RESULTS_XML, CSV, TSV, *_ALIASES]
_BOOLEAN_TYPES = [RESULTS_JSON, RESULTS_XML, *_ALIASES]
_GRAPH_TYPES = [f.media_type for f in FORMATS]
_ENTITY_TYPES = [HTML, *_GRAPH_TYPES]
_BY_MEDIA_TYPE = {f.media_type: f for f in FORMATS}
_BY_SUFFIX = {f.extension: f.media_type for f in FORMATS} | {".html": HTML}
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Kzld-Truncated, Kzld-Rows, Retry-After",
}
_PREFLIGHT = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Content-Type",
    "Access-Control-Max-Age": "86400",
}


@dataclass(frozen=True)
class Limits:
    """What one server will do for its clients; each limit has a clear refusal."""

    timeout: float = 10.0  # seconds a SPARQL query may run (503 beyond)
    quick: float = 1.0  # seconds a query may run while every long lane is taken
    max_rows: int = 10_000  # solutions or triples in one answer; more are cut off
    memory: int = 1024  # MiB one query may allocate (503 beyond)
    fronts: int = 1  # processes that accept connections, each with its own workers
    workers: int = 4  # SPARQL worker processes of each front
    long_queries: int = 2  # queries that may run past `quick` at once
    max_body: int = 1 << 20  # bytes in a POST body (413 beyond)
    max_url: int = 16_384  # bytes in the request target (414 beyond)
    max_header: int = 65_536  # bytes of request line and headers (431 beyond)
    connections: int = 1024  # open connections (503 at once beyond)
    backlog: int = 2048  # connections the kernel queues before accept
    header_timeout: float = 10.0  # seconds for a whole request line and headers (408)
    body_timeout: float = 30.0  # seconds for a whole request body (408)
    keep_alive: float = 5.0  # seconds an idle keep-alive connection stays open
    batch: int = MAX_QUERIES  # reconciliation queries in one request
    cache: int = 64  # MiB of SPARQL answers each front keeps for repeated requests (0: none)


class HttpError(Exception):
    """A refusal: status code, one-line message, and a hint."""

    def __init__(
        self,
        status: int,
        message: str,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.hint = hint
        self.headers = headers or {}

    def response(self) -> Response:
        return Response(
            _error_text(self.message, self.hint),
            self.status,
            self.headers,
            media_type="text/plain; charset=utf-8",
        )


def _error_text(message: str, hint: str | None) -> str:
    return f"kzld: error: {message}\n" + (f"  hint: {hint}\n" if hint else "")


# --- content negotiation ------------------------------------------------------------------


def negotiate(accept: str | None, offers: list[str]) -> str | None:
    """The offer the Accept header likes best (first offer on ties); None if none is
    acceptable. No header means the first offer."""
    if not accept or not accept.strip():
        return offers[0]
    ranges = []
    for part in accept.split(",")[:64]:  # a client sends a handful; more is noise
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


# --- what a build published -----------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """One published file, held open: a later build that swaps the folder changes nothing
    served, and every byte served is the byte whose digest SHA256SUMS gives."""

    name: str
    media: str
    size: int
    sha256: str
    fd: int | None = None
    data: bytes | None = None  # for dumps made in memory

    def read(self, size: int, offset: int) -> bytes:
        if self.data is not None:
            return self.data[offset : offset + size]
        return os.pread(self.fd, size, offset)


class Publication:
    """The files of a `kzld build` output, checked against its SHA256SUMS at start."""

    files: dict[str, Published]
    note: str | None = None  # why these are not a build's files, when they are not

    @classmethod
    def in_memory(cls, contents: dict[str, bytes], note: str) -> Publication:
        made = cls.__new__(cls)
        made.files = {
            name: Published(
                name, _media_of(name), len(data), hashlib.sha256(data).hexdigest(), data=data
            )
            for name, data in contents.items()
        }
        made.note = note
        return made

    def __init__(self, folder: Path):
        from kzld.errors import InputError
        from kzld.publishing.publication import CHECKSUMS, verify

        sums = folder / CHECKSUMS
        if not sums.is_file():
            raise InputError(
                f"{folder}: no {CHECKSUMS}: not the output of `kzld build`",
                hint="give the folder `kzld build --out` wrote",
            )
        problems = verify(folder)
        if problems:
            first = problems[0]
            raise InputError(
                f"{folder}: the publication does not match its checksums: {first}",
                hint="rebuild it with `kzld build`, or check `kzld verify`",
            )
        self.folder = folder
        self.files: dict[str, Published] = {}
        listed = [line.split("  ", 1) for line in sums.read_text("ascii").splitlines() if line]
        for digest, name in [*listed, (None, CHECKSUMS)]:
            path = folder / name
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            size = os.fstat(fd).st_size
            if digest is None:
                digest = hashlib.sha256(os.pread(fd, size, 0)).hexdigest()
            self.files[name] = Published(name, _media_of(name), size, digest, fd)

    def close(self) -> None:
        for published in self.files.values():
            if published.fd is not None:
                with contextlib.suppress(OSError):
                    os.close(published.fd)


def _media_of(name: str) -> str:
    if name.endswith(".jsonld"):
        return JSONLD.media_type
    for fmt in FORMATS:
        if name.endswith(fmt.extension):
            return fmt.media_type
    return "text/plain"


def build_publication(graph: KGraph, out: Path) -> Publication:
    """Publish the served graph into out as `kzld build` would, byte for byte; for data a
    build cannot publish, the whole graph in each format, and a note saying so."""
    from kzld.errors import KzldError
    from kzld.loading.graph import load_graph
    from kzld.loading.resources import bundled
    from kzld.publishing.publication import publish_loaded

    try:
        publish_loaded(graph, load_graph([bundled("ontology")]), out)
    except KzldError as err:
        contents = {f"kzld{f.extension}": serialize(graph.triples, f.oxigraph) for f in FORMATS}
        return Publication.in_memory(
            contents,
            f"the dumps are not a build ({err.message}): only /kzld.ttl, /kzld.nt and "
            "/kzld.jsonld are served",
        )
    return Publication(out)


# --- the service: requests to responses ------------------------------------------------------


class Site:
    """Everything the server answers. Pages that never change are made once."""

    def __init__(self, graph: KGraph, limits: Limits, publication: Publication):
        from kzld.web.timeline import timeline_svg

        self.graph = graph
        self.limits = limits
        self.publication = publication
        self.index = Index.of(graph)
        self.reconciler = Reconciler(self.index)
        self.versions = {
            t.object.value
            for t in graph.triples
            if t.predicate == OWL_VERSION_IRI and t.subject.value == ONTOLOGY_IRI
        }
        self.store = graph.store()
        self.pool: Pool | None = None  # forked in each serving process: fork_workers()
        self.signals_held = False  # serve_forever holds Ctrl-C back until uvicorn's handlers
        svg = timeline_svg(self.index, self.link, standalone=False)
        downloads = [f"/kzld{f.extension}" for f in FORMATS]
        self.landing = landing_html(self.index, self.link, downloads, svg, "/ontology", "/")
        self.ontology_page = ontology_html(self.index, "/")
        self.timeline = timeline_svg(self.index, self.link)

    def fork_workers(self) -> None:
        """The SPARQL workers of this process, forked before it starts any thread: every
        worker is a copy of this process's store."""
        limits = self.limits
        self.pool = Pool(
            self.store,
            workers=limits.workers,
            long_lanes=limits.long_queries,
            timeout=limits.timeout,
            quick=limits.quick,
            memory=limits.memory << 20,
            prefixes=dict(PREFIXES),
        )

    @staticmethod
    def link(node: ox.NamedNode) -> str | None:
        if is_entity(node):
            return "/id/" + quote(node.value[len(ID_BASE) :])
        if node.value.startswith(KZ):
            return "/ontology#" + quote(node.value[len(KZ) :])
        return None

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        if self.signals_held:  # uvicorn's handlers are in place: a held Ctrl-C lands there
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        await self.pool.start()
        if self.pool.guard is None:
            _log.warning(
                "kzld: note: this platform has neither seccomp nor Landlock: the lexer alone "
                "keeps SPARQL queries from the network"
            )
        try:
            yield
        finally:
            await self.pool.close()

    async def handle(self, request: Request) -> Response:
        path = "?"
        try:
            path = _safe_path(request.scope.get("raw_path") or b"/")
            if len(request.scope.get("query_string", b"")) + len(path) > self.limits.max_url:
                raise HttpError(414, "request target too long", hint="send the query by POST")
            if path.startswith(("/sparql", "/reconcile")):
                try:
                    response = await self.api(request, path)
                except HttpError as err:
                    response = err.response()
                response.headers.update(_CORS)
                return response
            return await self.page(request, path)
        except HttpError as err:
            return err.response()
        except ClientDisconnect:
            return Response(b"", 499)
        except Exception as err:  # a bug of ours: one line in the log, one for the client
            _log.error("kzld: error: %s %s: %s: %s", request.method, path, type(err).__name__, err)
            return HttpError(
                500, "internal error", hint="the server log has the details"
            ).response()

    async def api(self, request: Request, path: str) -> Response:
        method = request.method
        if method == "OPTIONS":
            return Response(b"", 204, _PREFLIGHT)
        if method not in ("GET", "HEAD", "POST"):
            raise HttpError(
                405, f"{method} is refused: this server is read-only", "use GET or POST"
            )
        params = _query_params(request.scope.get("query_string", b""))
        body = None
        if method == "POST":
            body = await self.body(request)
            if _content_type(request) == "application/x-www-form-urlencoded":
                for key, values in _query_params(body).items():
                    params.setdefault(key, []).extend(values)
        if path == "/sparql":
            return await self.sparql(request, params, body)
        if path == "/sparql/limits":
            return Response(self.limits_text(), media_type="text/plain; charset=utf-8")
        if path == "/reconcile":
            return await self.reconcile(request, params)
        if path == "/reconcile/preview":
            return self.preview(_one(params, "id"))
        if path == "/reconcile/view":
            wanted = _one(params, "id")
            target = self.link(ox.NamedNode(wanted)) if _is_iri(wanted) else None
            if target is None:
                raise HttpError(404, "no such kzld entity")
            return Response(b"", 303, {"Location": target})
        if path == "/reconcile/suggest/entity":
            return _json({"result": self.reconciler.suggest(_one(params, "prefix"))})
        raise HttpError(404, f"nothing at {path}")

    def limits_text(self) -> str:
        """What a SPARQL client may ask of this server; a cut answer links here."""
        lim = self.limits
        return (
            "kzld SPARQL endpoint limits\n"
            f"rows: an answer holds at most {lim.max_rows} solutions or triples; a cut answer "
            "says so in a Kzld-Truncated header and, in JSON and XML results, a head link to "
            "this page. Page with LIMIT and OFFSET for the rest.\n"
            f"time: a query is stopped after {lim.timeout:g} s ({lim.quick:g} s while "
            f"{lim.long_queries} longer queries already run), and answered 503.\n"
            f"memory: a query may allocate {lim.memory} MiB; past that it is stopped, 503.\n"
            f"requests: query strings up to {lim.max_url} bytes, bodies up to "
            f"{lim.max_body} bytes.\n"
            + (
                f"cache: a GET repeated with the same target, Accept and Host is answered from "
                f"the last answer ({lim.cache} MiB kept; the data does not change while served; "
                "queries calling RAND, NOW, UUID, STRUUID or BNODE always run).\n"
                if lim.cache
                else "cache: none; every request runs its query.\n"
            )
        )

    async def body(self, request: Request) -> bytes:
        """The request body, bounded in size and in time."""
        length = request.headers.get("content-length")
        chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
        if length is None and not chunked:
            raise HttpError(411, "a POST needs a Content-Length")
        if length is not None:
            if not length.isdigit():
                raise HttpError(400, "Content-Length is not a number")
            if int(length) > self.limits.max_body:
                raise HttpError(
                    413,
                    f"request body over {self.limits.max_body} bytes",
                    hint="send a shorter query",
                    headers={"Connection": "close"},
                )
        parts: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.limits.body_timeout):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > self.limits.max_body:
                        raise HttpError(
                            413,
                            f"request body over {self.limits.max_body} bytes",
                            hint="send a shorter query",
                            headers={"Connection": "close"},
                        )
                    parts.append(chunk)
        except TimeoutError:
            raise HttpError(
                408,
                f"the request body took more than {self.limits.body_timeout:g} s to arrive",
                headers={"Connection": "close"},
            ) from None
        return b"".join(parts)

    async def sparql(self, request: Request, params: dict, body: bytes | None) -> Response:
        content_type = _content_type(request)
        if "update" in params or content_type == "application/sparql-update":
            raise HttpError(
                400,
                "SPARQL updates are refused: this endpoint is read-only",
                hint="send a query with query= or an application/sparql-query body",
            )
        if request.method == "POST" and content_type == "application/sparql-query":
            try:
                text = (body or b"").decode("utf-8")
            except UnicodeDecodeError:
                raise HttpError(400, "the query is not UTF-8") from None
        else:
            if len(params.get("query", [])) != 1:
                raise HttpError(
                    400,
                    "give exactly one 'query' parameter",
                    hint="GET /sparql?query=... or POST a form or a query body",
                )
            text = params["query"][0]
        media = _media_offers(params, request.headers.get("accept"))
        answer = await _unless_gone(
            request,
            self.pool.run(text, media, self.limits.max_rows, _base(request) + "/sparql/limits"),
            "the query",
        )
        headers = {"Vary": "Accept", "Kzld-Rows": str(answer.rows)}
        if answer.truncated:
            headers["Kzld-Truncated"] = f"answer cut at {self.limits.max_rows} rows"
        if answer.rest is None:
            return Response(answer.head, 200, headers, media_type=_typed(answer.media))

        async def body() -> AsyncIterator[bytes]:
            yield answer.head
            async for chunk in answer.rest:
                yield chunk

        return StreamingResponse(body(), 200, headers, media_type=_typed(answer.media))

    async def reconcile(self, request: Request, params: dict) -> Response:
        if "queries" not in params:
            base = _base(request)
            return _json(self.reconciler.manifest(base))
        try:
            batch = json.loads(_one(params, "queries"))
        except json.JSONDecodeError as err:
            raise HttpError(
                400, f"'queries' is not JSON: {err.msg} at character {err.pos}"
            ) from None
        except RecursionError:
            raise HttpError(400, "'queries' is nested too deeply") from None
        if not isinstance(batch, dict):
            raise HttpError(
                400,
                "'queries' must be an object of query objects",
                hint='{"q0": {"query": "Murat Bektanov"}}',
            )
        if len(batch) > self.limits.batch:
            raise HttpError(413, f"at most {self.limits.batch} queries per batch")
        try:
            checked = {key: self.reconciler.check(q) for key, q in batch.items()}
        except BadQuery as err:
            raise HttpError(400, err.message, hint=err.hint) from None

        async def score() -> dict:
            # One query at a time on a thread: the loop stays free, and a client that
            # leaves stops the batch at the next query.
            answer = {}
            for key, query in checked.items():
                answer[key] = {"result": await asyncio.to_thread(self.reconciler.reconcile, query)}
            return answer

        return _json(await _unless_gone(request, score(), "the reconciliation"))

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

    async def page(self, request: Request, path: str) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise HttpError(
                405, f"{request.method} is refused: this server is read-only", hint="use GET"
            )
        accept = request.headers.get("accept")
        if path == "/":
            return _html(self.landing)
        if path == "/timeline.svg":
            return Response(self.timeline, media_type="image/svg+xml; charset=utf-8")
        if path in ("/ontology", "/ontology.html") or path.startswith("/ontology/"):
            return await self.ontology(request, path, accept)
        if path in ("/dataset", "/dataset.ttl"):
            return await self.published(request, "dataset.ttl")
        name = path.removeprefix("/dump/") if path.startswith("/dump/") else path[1:]
        if name in self.publication.files:
            return await self.published(request, name)
        if path.startswith("/id/"):
            return self.entity(ID_BASE + path[len("/id/") :], accept)
        if path.startswith("/.well-known/genid/"):
            return self.entity(GENID + path[len("/.well-known/genid/") :], accept)
        raise HttpError(404, f"nothing at {path}")

    async def ontology(self, request: Request, path: str, accept: str | None) -> Response:
        """The ontology (and its version IRIs): documentation, or the published dump."""
        forced = None
        if path.startswith("/ontology/"):
            version = ONTOLOGY_IRI + path[len("/ontology") :]
            for suffix, media in _BY_SUFFIX.items():
                if version.endswith(suffix) and version[: -len(suffix)] in self.versions:
                    version, forced = version[: -len(suffix)], media
            if version not in self.versions:
                known = ", ".join(sorted(self.versions)) or "none"
                raise HttpError(404, f"no such ontology version; this server has {known}")
        elif path == "/ontology.html":
            forced = HTML
        media = forced or negotiate(accept, _ENTITY_TYPES)
        if media is None:
            raise _not_acceptable(_ENTITY_TYPES)
        if media == HTML:
            return _html(self.ontology_page, {"Vary": "Accept"})
        extension = _BY_MEDIA_TYPE[media].extension
        response = await self.published(request, "kzld-ontology" + extension)
        response.headers["Vary"] = "Accept"
        return response

    async def published(self, request: Request, name: str) -> Response:
        """A published file's exact bytes, with its digest as the entity tag."""
        file = self.publication.files.get(name)
        if file is None:
            raise HttpError(404, f"{name} is not in this publication")
        tag = f'"{file.sha256}"'
        headers = {"ETag": tag, "Cache-Control": "no-cache", "Content-Length": str(file.size)}
        if tag in request.headers.get("if-none-match", ""):
            del headers["Content-Length"]
            return Response(b"", 304, headers)

        async def chunks() -> AsyncIterator[bytes]:
            offset = 0
            while offset < file.size:
                size = min(1 << 20, file.size - offset)
                data = await asyncio.to_thread(file.read, size, offset)
                if not data:
                    return
                offset += len(data)
                yield data

        if file.size <= 1 << 20:
            data = (
                file.read(file.size, 0)
                if file.data
                else await asyncio.to_thread(file.read, file.size, 0)
            )
            return Response(data, 200, headers, media_type=_typed(file.media))
        return StreamingResponse(chunks(), 200, headers, media_type=_typed(file.media))

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
            return _html(entity_html(self.index, node, self.link, "/"), headers)
        data = serialize(self.index.description(node), _BY_MEDIA_TYPE[media].oxigraph)
        return Response(data, 200, headers, media_type=_typed(media))


async def _unless_gone(request: Request, work, what: str):
    """The work's result; if the client leaves first, the work is cancelled (a query's
    worker is killed) and nothing more is done for it. Most answers take milliseconds: the
    client is watched only after that, and no task is made for the work itself."""
    me = asyncio.current_task()
    state: dict = {"gone": False, "watcher": None, "done": False}

    async def watch() -> None:
        await _disconnected(request)
        if not state["done"]:
            state["gone"] = True
            me.cancel()

    def start() -> None:
        state["watcher"] = asyncio.ensure_future(watch())

    timer = asyncio.get_running_loop().call_later(0.05, start)
    try:
        result = await work
    except asyncio.CancelledError:
        if state["gone"]:
            me.uncancel()
            raise ClientDisconnect() from None
        raise
    except QueryFailed as err:
        headers = {"Retry-After": "1"} if err.status == 503 else {}
        raise HttpError(err.status, err.message, err.hint, headers) from None
    finally:
        state["done"] = True
        timer.cancel()
        if state["watcher"] is not None:
            state["watcher"].cancel()
    if state["gone"]:  # left as the work ended: the cancel it asked for is withdrawn
        me.uncancel()
        raise ClientDisconnect()
    return result


async def _disconnected(request: Request) -> None:
    """Returns when the client closes its connection (the body has been read by then)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


def _media_offers(params: dict, accept: str | None) -> dict[str, str | None]:
    """The media type for each kind of answer, chosen before the query runs. Clients send
    the same few Accept headers again and again: the choices are remembered."""
    forced = _forced_format(params)
    key = (forced, accept)
    chosen = _CHOSEN.get(key)
    if chosen is None:
        chosen = _choose_media(forced, accept)
        if len(_CHOSEN) >= 512:
            _CHOSEN.clear()
        _CHOSEN[key] = chosen
    return dict(chosen)


_CHOSEN: dict[tuple[str | None, str | None], dict[str, str | None]] = {}


def _choose_media(forced: str | None, accept: str | None) -> dict[str, str | None]:
    chosen = {}
    for kind, offers in (
        ("solutions", _SOLUTION_TYPES),
        ("boolean", _BOOLEAN_TYPES),
        ("graph", _GRAPH_TYPES),
    ):
        media = forced if forced in offers else None if forced else negotiate(accept, offers)
        chosen[kind] = _ALIASES.get(media, media) if media else None
    if not any(chosen.values()):
        raise _not_acceptable(_SOLUTION_TYPES + _GRAPH_TYPES)
    return chosen


def _query_params(raw: bytes) -> dict[str, list[str]]:
    try:
        text = raw.decode("ascii") if isinstance(raw, bytes) else raw
        return parse_qs(text, keep_blank_values=True, errors="strict", max_num_fields=1000)
    except (UnicodeDecodeError, ValueError):
        raise HttpError(400, "the parameters are not well-formed UTF-8 form data") from None


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _base(request: Request) -> str:
    host = request.headers.get("host", "")
    if not re.fullmatch(r"[A-Za-z0-9.\-]+(:\d+)?|\[[0-9A-Fa-f:.]+\](:\d+)?", host):
        server = request.scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    return f"http://{host}"


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
    return Response(body, 200, media_type="application/json; charset=utf-8")


def _html(text: str, headers: dict[str, str] | None = None) -> Response:
    return Response(text.encode("utf-8"), 200, headers, media_type=_typed(HTML))


def _safe_path(raw: bytes) -> str:
    """The decoded path; bytes that are not UTF-8, '..', backslashes and control
    characters are refused outright."""
    try:
        path = unquote(raw.decode("ascii"), errors="strict")
    except UnicodeDecodeError:
        raise HttpError(400, "path refused: not UTF-8", hint="ask for /id/{kind}/{name}") from None
    if (
        not path.startswith("/")
        or "\\" in path
        or any(ord(c) < 32 or ord(c) == 127 for c in path)
        or any(segment in (".", "..") for segment in path.split("/"))
        or "//" in path
    ):
        raise HttpError(400, "path refused", hint="ask for /id/{kind}/{name}")
    return path


# --- HTTP plumbing -----------------------------------------------------------------------


def _raw_response(status: int, reason: str, message: str, hint: str | None = None) -> bytes:
    body = _error_text(message, hint).encode("utf-8")
    return (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\nretry-after: 1\r\nconnection: close\r\n\r\n"
    ).encode("ascii") + body


class _Protocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol with what it leaves out: a deadline for the whole
    request line and headers (uvicorn times out idle keep-alive connections only, so a
    client trickling a header a byte at a time would hold its connection forever), a cap
    on their size, and a cap on open connections answered with one quick 503."""

    limits = Limits()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._refused = False
        self._header_bytes = 0
        self._header_timer: asyncio.TimerHandle | None = None
        if len(self.connections) > self.limits.connections:
            self._refuse(503, "Service Unavailable", "too many connections at once")
            return
        self._arm()

    def _arm(self) -> None:
        self._header_bytes = 0
        self._header_timer = self.loop.call_later(self.limits.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        seconds = f"{self.limits.header_timeout:g}"
        self._refuse(408, "Request Timeout", f"the request headers took more than {seconds} s")

    def _refuse(self, status: int, reason: str, message: str) -> None:
        self._refused = True
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(_raw_response(status, reason, message, "retry in a moment"))
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        idle = self.cycle is None or self.cycle.response_complete
        if idle and self._header_timer is None:
            self._arm()  # the first bytes of a next request on a kept-alive connection
        in_headers = self._header_timer is not None
        super().data_received(data)
        if in_headers and self._header_timer is not None:  # the headers go on past this data
            self._header_bytes += len(data)
            if self._header_bytes > self.limits.max_header:
                self._refuse(431, "Request Header Fields Too Large", "request headers too large")

    def on_headers_complete(self) -> None:
        self._disarm()
        if self._refused:
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self._refused and self.cycle is not None:
            super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def _event_loop() -> str:
    try:
        import uvloop  # noqa: F401  (twice the asyncio loop's request rate)
    except ImportError:
        return "asyncio"
    return "uvloop"


def make_app(site: Site):
    methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
    app = Starlette(
        routes=[Route("/{rest:path}", site.handle, methods=methods)], lifespan=site.lifespan
    )
    return AnswerCache(app, site.limits.cache << 20) if site.limits.cache else app


# Functions whose value changes from one run of the same query to the next (SPARQL 1.1,
# 17.4): a query that calls one is never answered from the cache.
_UNREPEATABLE = re.compile(rb"(?i)\b(rand|now|uuid|struuid|bnode)\s*\(")


class AnswerCache:
    """Answers to GET /sparql kept by the exact request (target, Accept, Host), so that a
    request made again is answered without starlette or a worker. The store never changes
    while serving, so the same request gets the same bytes; only whole 200 answers up to
    the worker's Content-Length size are kept, least recently used first out."""

    def __init__(self, app, capacity: int):
        self.app = app
        self.capacity = capacity
        self.entries: OrderedDict[tuple, tuple[list, bytes, int]] = OrderedDict()
        self.size = 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != "/sparql":
            return await self.app(scope, receive, send)
        # Every Accept and Host header, in order: all the answer depends on but the target.
        told = b"\n".join(v for n, v in scope["headers"] if n == b"accept" or n == b"host")
        key = (scope.get("raw_path") or b"", scope["query_string"], told)
        hit = self.entries.get(key)
        if hit is not None:
            self.entries.move_to_end(key)
            headers, body, _ = hit
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        start: dict = {}

        async def keep(message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif (
                message["type"] == "http.response.body"
                and start.get("status") == 200
                and not message.get("more_body")
                and not start.get("partial")
            ):
                self._keep(key, list(start["headers"]), message.get("body", b""))
            else:
                start["partial"] = True  # a streamed answer: too big to keep
            await send(message)

        await self.app(scope, receive, keep)

    def _keep(self, key: tuple, headers: list, body: bytes) -> None:
        size = len(body) + sum(map(len, key)) + 512
        query = unquote_to_bytes(key[1].replace(b"+", b" "))
        if size > self.capacity // 16 or _UNREPEATABLE.search(query):
            return
        self.entries[key] = (headers, body, size)
        self.size += size
        while self.size > self.capacity:
            self.size -= self.entries.popitem(last=False)[1][2]


class KzldServer:
    """A bound listening socket, the site, and the uvicorn server that serves them."""

    def __init__(
        self,
        graph: KGraph,
        host: str = "127.0.0.1",
        port: int = 8000,
        limits: Limits | None = None,
        quiet: bool = False,
        publication: Path | None = None,
    ):
        self.limits = limits or Limits()
        # Bound first: a taken port fails before any worker is forked.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.create_server((host, port), family=family, backlog=self.limits.backlog)
        self.server_address = self.socket.getsockname()[:2]
        self._scratch = None
        try:
            if publication is None:
                self._scratch = tempfile.TemporaryDirectory(prefix="kzld-serve-")
                published = build_publication(graph, Path(self._scratch.name) / "public")
            else:
                published = Publication(publication)
            self.site = Site(graph, self.limits, published)
        except BaseException:
            self.socket.close()
            if self._scratch is not None:
                self._scratch.cleanup()
            raise
        protocol = type("KzldProtocol", (_Protocol,), {"limits": self.limits})
        self.config = uvicorn.Config(
            make_app(self.site),
            http=protocol,
            loop=_event_loop(),
            lifespan="on",
            backlog=self.limits.backlog,
            timeout_keep_alive=max(1, round(self.limits.keep_alive)),
            timeout_graceful_shutdown=2,
            access_log=not quiet,
            log_level="warning" if quiet else "info",
            server_header=False,
            proxy_headers=False,  # no proxy is trusted: the client address is the peer's
            ws="none",
        )
        self.server = uvicorn.Server(self.config)
        self._thread: threading.Thread | None = None

    def serve_forever(self) -> None:
        """Serve until interrupted, in `limits.fronts` processes that share the listening
        socket, each with its own workers: Python's share of the processors grows with
        them.

        Ctrl-C and SIGTERM are held back from before the first fork until uvicorn has put
        its handlers in place (Site.lifespan): one that came in between could be swallowed
        and leave the server running, with nobody to stop it."""
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        self.site.signals_held = True
        children = []
        try:
            for _ in range(self.limits.fronts - 1):
                pid = os.fork()
                if pid == 0:
                    code = 0
                    try:
                        die_with_parent()
                        self._run()
                    except BaseException:
                        code = 1
                    finally:
                        os._exit(code)
                children.append(pid)
            self._run()
        finally:
            for pid in children:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)
            for pid in children:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
            self.close()

    def _run(self) -> None:
        self._prepare()
        self.server.run(sockets=[self.socket])

    def _prepare(self) -> None:
        self.site.fork_workers()
        # The loaded graph lives as long as the server: the collector need not scan it.
        gc.collect()
        gc.freeze()

    def start(self) -> None:
        """Serve on a background thread (for tests and benchmarks); returns when ready."""
        self._prepare()
        self._thread = threading.Thread(target=self.server.run, args=([self.socket],))
        self._thread.daemon = True
        self._thread.start()
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the server did not start")
            self._thread.join(0.01)

    def shutdown(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self.close()

    def close(self) -> None:
        self.socket.close()
        self.site.publication.close()
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None


def make_server(
    graph: KGraph,
    host: str = "127.0.0.1",
    port: int = 8000,
    limits: Limits | None = None,
    quiet: bool = False,
    publication: Path | None = None,
) -> KzldServer:
    """A server bound to host:port (port 0 picks a free one), not yet serving."""
    return KzldServer(graph, host, port, limits, quiet, publication)
