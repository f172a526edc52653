"""What every route of `kzld serve` shares: the server's limits, the refusal (HttpError),
content negotiation, reading a request safely, and the few kinds of response.

Nothing here knows a route: the SPARQL endpoint, the linked-data pages, the downloads and
the reconciliation service (kzld/web/server.py puts them together) all build on it.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from kzld.web.reconcile_api import MAX_QUERIES

HTML = "text/html"


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
            error_text(self.message, self.hint),
            self.status,
            self.headers,
            media_type="text/plain; charset=utf-8",
        )


def error_text(message: str, hint: str | None) -> str:
    """A refusal's body, worded as the command line words its errors."""
    return f"kzld: error: {message}\n" + (f"  hint: {hint}\n" if hint else "")


def not_acceptable(offers: list[str]) -> HttpError:
    return HttpError(
        406,
        "none of the accepted media types can be produced",
        hint="ask for one of " + ", ".join(offers),
    )


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


# --- reading a request ----------------------------------------------------------------------


def safe_path(raw: bytes) -> str:
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


def query_params(raw: bytes) -> dict[str, list[str]]:
    """A query string or a form body, strictly decoded."""
    try:
        text = raw.decode("ascii") if isinstance(raw, bytes) else raw
        return parse_qs(text, keep_blank_values=True, errors="strict", max_num_fields=1000)
    except (UnicodeDecodeError, ValueError):
        raise HttpError(400, "the parameters are not well-formed UTF-8 form data") from None


def one_param(params: dict, name: str) -> str:
    """The first value of a parameter the route cannot do without."""
    values = params.get(name)
    if not values:
        raise HttpError(400, f"missing parameter '{name}'")
    return values[0]


def content_type(request: Request) -> str:
    """The request's media type, without its parameters."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def base_url(request: Request) -> str:
    """http://host[:port] as the client addressed this server; a Host header that is no
    plain host name or address gives way to the address the connection came in on."""
    host = request.headers.get("host", "")
    if not re.fullmatch(r"[A-Za-z0-9.\-]+(:\d+)?|\[[0-9A-Fa-f:.]+\](:\d+)?", host):
        server = request.scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    return f"http://{host}"


def is_iri(text: str) -> bool:
    """Whether a client's text may be made into a NamedNode (an http(s) IRI, no spaces or
    characters IRIs never hold)."""
    return (
        bool(text)
        and text.startswith(("http://", "https://"))
        and not re.search(r"[\s<>\"{}|\\^`]", text)
    )


async def read_body(request: Request, limits: Limits) -> bytes:
    """The request body, bounded in size and in time."""
    length = request.headers.get("content-length")
    chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
    if length is None and not chunked:
        raise HttpError(411, "a POST needs a Content-Length")
    if length is not None:
        if not length.isdigit():
            raise HttpError(400, "Content-Length is not a number")
        if int(length) > limits.max_body:
            raise _body_too_large(limits)
    parts: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(limits.body_timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limits.max_body:
                    raise _body_too_large(limits)
                parts.append(chunk)
    except TimeoutError:
        raise HttpError(
            408,
            f"the request body took more than {limits.body_timeout:g} s to arrive",
            headers={"Connection": "close"},
        ) from None
    return b"".join(parts)


def _body_too_large(limits: Limits) -> HttpError:
    return HttpError(
        413,
        f"request body over {limits.max_body} bytes",
        hint="send a shorter query",
        headers={"Connection": "close"},
    )


async def unless_gone(request: Request, work):
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


# --- responses ----------------------------------------------------------------------------


def typed(media: str) -> str:
    """A text media type with the charset every kzld answer uses."""
    return media + "; charset=utf-8"


def json_response(doc: object) -> Response:
    body = (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    return Response(body, 200, media_type="application/json; charset=utf-8")


def html_response(text: str, headers: dict[str, str] | None = None) -> Response:
    return Response(text.encode("utf-8"), 200, headers, media_type=typed(HTML))
