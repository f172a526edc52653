"""The SPARQL 1.1 Protocol endpoint, /sparql, and the page of its limits, /sparql/limits.

The request is read here (the query from GET, a form or a query body; the answer's media
types from Accept or format=, chosen before the query runs); the query runs in a worker
process of kzld/web/sparql_worker.py's pool, whose answer bytes are sent on as they come.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from kzld.loading.formats import FORMATS, NTRIPLES, TURTLE
from kzld.web.http_basics import (
    HTML,
    HttpError,
    Limits,
    base_url,
    content_type,
    negotiate,
    not_acceptable,
    typed,
    unless_gone,
)
from kzld.web.site import PREFIXES
from kzld.web.sparql_worker import CSV, RESULTS_JSON, RESULTS_XML, TSV, Pool, QueryFailed

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


class SparqlEndpoint:
    """Read-only SPARQL over the served store, in worker processes that can be stopped."""

    def __init__(self, store: ox.Store, limits: Limits):
        self.store = store
        self.limits = limits
        self.pool: Pool | None = None  # forked in each serving process: fork_workers()

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

    async def answer(self, request: Request, params: dict, body: bytes | None) -> Response:
        """The answer to one query (GET or POST /sparql), streamed when it is large."""
        text = _query_text(request, params, body)
        media = _media_offers(params, request.headers.get("accept"))
        max_rows = self.limits.max_rows
        work = self.pool.run(text, media, max_rows, base_url(request) + "/sparql/limits")
        try:
            answer = await unless_gone(request, work)
        except QueryFailed as err:
            headers = {"Retry-After": "1"} if err.status == 503 else {}
            raise HttpError(err.status, err.message, err.hint, headers) from None
        headers = {"Vary": "Accept", "Kzld-Rows": str(answer.rows)}
        if answer.truncated:
            headers["Kzld-Truncated"] = f"answer cut at {max_rows} rows"
        if answer.rest is None:
            return Response(answer.head, 200, headers, media_type=typed(answer.media))

        async def whole() -> AsyncIterator[bytes]:
            yield answer.head
            async for chunk in answer.rest:
                yield chunk

        return StreamingResponse(whole(), 200, headers, media_type=typed(answer.media))

    def limits_page(self) -> Response:
        return Response(self.limits_text(), media_type="text/plain; charset=utf-8")

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


def _query_text(request: Request, params: dict, body: bytes | None) -> str:
    """The query of a request, as the protocol allows it: one query= parameter (GET or a
    form), or a POST body of type application/sparql-query. Updates are refused."""
    kind = content_type(request)
    if "update" in params or kind == "application/sparql-update":
        raise HttpError(
            400,
            "SPARQL updates are refused: this endpoint is read-only",
            hint="send a query with query= or an application/sparql-query body",
        )
    if request.method == "POST" and kind == "application/sparql-query":
        try:
            return (body or b"").decode("utf-8")
        except UnicodeDecodeError:
            raise HttpError(400, "the query is not UTF-8") from None
    if len(params.get("query", [])) != 1:
        raise HttpError(
            400,
            "give exactly one 'query' parameter",
            hint="GET /sparql?query=... or POST a form or a query body",
        )
    return params["query"][0]


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
        raise not_acceptable(_SOLUTION_TYPES + _GRAPH_TYPES)
    return chosen


def _forced_format(params: dict) -> str | None:
    """The media type a format= parameter names, if the request has one."""
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
