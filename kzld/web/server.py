"""The read-only HTTP server: SPARQL 1.1 Protocol, dereferenceable kzld IRIs, the published
dumps, and the Reconciliation Service API 0.2, on starlette served by uvicorn.

SPARQL runs in worker processes (kzld/web/sparql_worker.py) that are killed at their deadline
or memory cap; the event loop only routes bytes. Imported by `kzld serve` alone: no other
command pays for uvicorn and starlette.

Where each part lives:
- kzld/web/http_basics.py: the limits, refusals, content negotiation, request reading;
- kzld/web/sparql_endpoint.py: /sparql and /sparql/limits;
- kzld/web/linked_data.py: the landing page, the timeline, /ontology, /id/... pages and RDF;
- kzld/web/downloads.py: the published dumps;
- kzld/web/reconcile_routes.py: /reconcile and its preview, view and suggest routes;
- here: Site, which routes a request to one of them, and the HTTP plumbing around it (the
  connection limits, the answer cache, the uvicorn server and its front processes).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import re
import signal
import socket
import tempfile
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote_to_bytes

import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from kzld.loading.graph import KGraph
from kzld.web.downloads import Downloads, Publication, build_publication
from kzld.web.http_basics import (
    HttpError,
    Limits,
    content_type,
    error_text,
    one_param,
    query_params,
    read_body,
    safe_path,
)
from kzld.web.linked_data import LinkedDataPages
from kzld.web.reconcile_routes import ReconciliationService
from kzld.web.site import Index
from kzld.web.sparql_endpoint import SparqlEndpoint
from kzld.web.sparql_worker import STOP_SIGNALS, Pool, die_with_parent

_log = logging.getLogger("kzld.server")
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Kzld-Truncated, Kzld-Rows, Retry-After",
}
_PREFLIGHT = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Content-Type",
    "Access-Control-Max-Age": "86400",
}


# --- the service: requests to responses ------------------------------------------------------


class Site:
    """Everything the server answers: each request goes to the part that answers its path.
    The API (/sparql..., /reconcile...) answers any origin (CORS); the rest is pages and
    files, GET and HEAD only."""

    def __init__(self, graph: KGraph, limits: Limits, publication: Publication):
        self.limits = limits
        self.publication = publication
        index = Index.of(graph)
        self.sparql = SparqlEndpoint(graph.store(), limits)
        self.reconciliation = ReconciliationService(index, limits.batch)
        self.downloads = Downloads(publication)
        self.pages = LinkedDataPages(graph, index, self.downloads)
        self.signals_held = False  # serve_forever holds Ctrl-C back until uvicorn's handlers

    @property
    def pool(self) -> Pool | None:
        """This process's SPARQL workers (None until fork_workers)."""
        return self.sparql.pool

    def fork_workers(self) -> None:
        self.sparql.fork_workers()

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        if self.signals_held:  # uvicorn's handlers are in place: a held Ctrl-C lands there
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        pool = self.sparql.pool
        await pool.start()
        if pool.guard is None:
            _log.warning(
                "kzld: note: this platform has neither seccomp nor Landlock: the lexer alone "
                "keeps SPARQL queries from the network"
            )
        try:
            yield
        finally:
            await pool.close()

    async def handle(self, request: Request) -> Response:
        path = "?"
        try:
            path = safe_path(request.scope.get("raw_path") or b"/")
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
        """/sparql and /reconcile: parameters from the query string and a form body alike."""
        method = request.method
        if method == "OPTIONS":
            return Response(b"", 204, _PREFLIGHT)
        if method not in ("GET", "HEAD", "POST"):
            raise HttpError(
                405, f"{method} is refused: this server is read-only", "use GET or POST"
            )
        params = query_params(request.scope.get("query_string", b""))
        body = None
        if method == "POST":
            body = await read_body(request, self.limits)
            if content_type(request) == "application/x-www-form-urlencoded":
                for key, values in query_params(body).items():
                    params.setdefault(key, []).extend(values)
        if path == "/sparql":
            return await self.sparql.answer(request, params, body)
        if path == "/sparql/limits":
            return self.sparql.limits_page()
        if path == "/reconcile":
            return await self.reconciliation.reconcile(request, params)
        if path == "/reconcile/preview":
            return self.reconciliation.preview(one_param(params, "id"))
        if path == "/reconcile/view":
            return self.reconciliation.view(one_param(params, "id"))
        if path == "/reconcile/suggest/entity":
            return self.reconciliation.suggest(one_param(params, "prefix"))
        raise HttpError(404, f"nothing at {path}")

    async def page(self, request: Request, path: str) -> Response:
        """Pages, dumps and dereferenced IRIs."""
        if request.method not in ("GET", "HEAD"):
            raise HttpError(
                405, f"{request.method} is refused: this server is read-only", hint="use GET"
            )
        accept = request.headers.get("accept")
        if path == "/":
            return self.pages.landing()
        if path == "/timeline.svg":
            return self.pages.timeline_svg()
        if path in ("/ontology", "/ontology.html") or path.startswith("/ontology/"):
            return await self.pages.ontology(request, path, accept)
        if path in ("/dataset", "/dataset.ttl"):
            return await self.downloads.response(request, "dataset.ttl")
        name = path.removeprefix("/dump/") if path.startswith("/dump/") else path[1:]
        if name in self.downloads:
            return await self.downloads.response(request, name)
        response = self.pages.entity_at(path, accept)
        if response is None:
            raise HttpError(404, f"nothing at {path}")
        return response


# --- HTTP plumbing -----------------------------------------------------------------------


def _raw_response(status: int, reason: str, message: str, hint: str | None = None) -> bytes:
    body = error_text(message, hint).encode("utf-8")
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
    """A bound listening socket, the site, and the uvicorn server that serves them: bound
    to host:port when made (port 0 picks a free one), serving once `serve_forever()` or
    `start()` (on a thread) is called."""

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
