"""The one client for remote SPARQL endpoints: queries and Graph Store Protocol uploads.

Queries go through SPARQLWrapper; every error it or urllib raises is translated here into
one RemoteError subclass, so that a failed request is never read as an empty result.
One request at a time; throttling and server errors are retried a bounded number of times.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from urllib.parse import quote, urlsplit, urlunsplit

from kzld import __version__
from kzld.errors import (
    EndpointBadResponse,
    EndpointForbidden,
    EndpointRejected,
    EndpointServerError,
    EndpointThrottled,
    EndpointTimeout,
    EndpointUnreachable,
    RemoteError,
    UsageError,
)

USER_AGENT = f"kzld/{__version__} (https://w3id.org/kzld; kzld@users.noreply.github.com)"

# Longer queries go by POST: URLs this long are cut by proxies and refused by some servers.
POST_ABOVE = 2000
# Never sleep longer than this on one Retry-After; a longer demand ends the run instead.
MAX_WAIT = 120.0
_SERVER_ERRORS = {500, 502, 503, 504}


def select(
    endpoint: str,
    query: str,
    *,
    timeout: float = 60.0,
    retries: int = 3,
    user_agent: str | None = None,
    sleep: Callable[[float], None] | None = None,
    now: Callable[[], float] | None = None,
) -> dict:
    """Run a SELECT (or ASK) query and return the parsed SPARQL 1.1 JSON results."""
    host = _host(endpoint)
    attempt = 0
    while True:
        try:
            return _select_once(endpoint, query, host, timeout, user_agent or USER_AGENT)
        except _Retryable as fault:
            attempt += 1
            if attempt > retries:
                raise fault.final(endpoint, attempt) from None
            wait = fault.wait(attempt, now or time.time)
            if wait > MAX_WAIT:
                raise fault.final(endpoint, attempt, waited_too_long=wait) from None
            (sleep or time.sleep)(wait)


def graph_store_put(
    store: str,
    ntriples: bytes,
    *,
    graph: str | None = None,
    timeout: float = 60.0,
    user_agent: str | None = None,
) -> None:
    """Replace a graph (the default graph when none is named) through the Graph Store
    Protocol with these N-Triples."""
    _graph_store("PUT", store, ntriples, graph, timeout, user_agent or USER_AGENT)


def graph_store_post(
    store: str,
    ntriples: bytes,
    *,
    graph: str | None = None,
    timeout: float = 60.0,
    user_agent: str | None = None,
) -> None:
    """Add these N-Triples to a graph through the Graph Store Protocol."""
    _graph_store("POST", store, ntriples, graph, timeout, user_agent or USER_AGENT)


def store_url_for(endpoint: str) -> str:
    """The Graph Store Protocol URL beside a query endpoint, by Oxigraph's convention
    (``/query`` -> ``/store``); other stores need it given explicitly."""
    parts = urlsplit(endpoint)
    path = parts.path.rstrip("/")
    head, _, last = path.rpartition("/")
    if last not in {"query", "sparql"}:
        raise UsageError(
            f"cannot derive a Graph Store URL from {endpoint}",
            hint="pass --store URL (Oxigraph: http://HOST:PORT/store)",
        )
    return urlunsplit((parts.scheme, parts.netloc, head + "/store", "", ""))


def _host(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UsageError(f"not an http(s) URL: {url!r}", hint="e.g. http://127.0.0.1:7878/query")
    return parts.hostname


def _select_once(endpoint: str, query: str, host: str, timeout: float, agent: str) -> dict:
    from SPARQLWrapper import JSON, POST, SPARQLWrapper

    from kzld.network import allow_hosts

    client = SPARQLWrapper(endpoint, agent=agent)
    client.setQuery(query)
    client.setReturnFormat(JSON)
    client.setOnlyConneg(True)  # no format=/output= parameters some servers refuse
    client.setTimeout(max(1, round(timeout)))
    if len(query) > POST_ABOVE:
        client.setMethod(POST)
    with allow_hosts(host):
        try:
            response = client.query().response
            content_type = response.headers.get("Content-Type", "")
            body = response.read()
        except Exception as err:  # translated below, whatever layer raised it
            raise _translate(err, endpoint) from None
    return _parse_results(body, content_type, endpoint)


def _parse_results(body: bytes, content_type: str, endpoint: str) -> dict:
    media = content_type.split(";")[0].strip().lower()
    if "json" not in media:
        html = "html" in media or body.lstrip()[:5].lower() in {b"<!doc", b"<html"}
        what = "an HTML page" if html else media
        raise EndpointBadResponse(
            f"{endpoint} answered with {what or 'no content type'}, not SPARQL JSON results",
            hint="the endpoint may be down for maintenance or behind a login page",
        )
    try:
        results = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise EndpointBadResponse(
            f"{endpoint} sent invalid JSON ({err}); the response is truncated or corrupt",
            hint="try again; a server that cut the answer short may have hit its own limit",
        ) from None
    well_formed = isinstance(results, dict) and (
        isinstance(results.get("boolean"), bool)
        or (
            isinstance(results.get("head"), dict)
            and isinstance(results.get("results"), dict)
            and isinstance(results["results"].get("bindings"), list)
        )
    )
    if not well_formed:
        raise EndpointBadResponse(
            f"{endpoint} sent JSON that is not SPARQL 1.1 query results",
            hint="check that the URL is a SPARQL query endpoint",
        )
    return results


class _Retryable(Exception):
    """A fault worth another attempt: throttling or a server error."""

    def __init__(self, status: int, retry_after: str | None):
        self.status = status
        self.retry_after = retry_after

    def wait(self, attempt: int, now: Callable[[], float]) -> float:
        told = _retry_after_seconds(self.retry_after, now)
        return told if told is not None else float(2 ** (attempt - 1))

    def final(self, endpoint: str, attempts: int, waited_too_long: float | None = None):
        if waited_too_long is not None:
            return EndpointThrottled(
                f"{endpoint} asked to wait {waited_too_long:.0f} s (HTTP {self.status})",
                hint=f"kzld waits at most {MAX_WAIT:.0f} s; try again later",
            )
        if self.status == 429:
            return EndpointThrottled(
                f"{endpoint} is throttling requests (HTTP 429 Too Many Requests, "
                f"{attempts} attempts)",
                hint="wait a few minutes before trying again",
            )
        return EndpointServerError(
            f"{endpoint} failed with HTTP {self.status} {_reason(self.status)} "
            f"({attempts} attempts)",
            hint="the endpoint has a problem of its own; try again later",
        )


def _retry_after_seconds(value: str | None, now: Callable[[], float]) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


def _reason(status: int) -> str:
    return http.client.responses.get(status, "")


def _translate(err: BaseException, endpoint: str) -> BaseException:
    """Turn what SPARQLWrapper, urllib or the socket layer raised into a RemoteError."""
    from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

    from kzld.errors import KzldError

    if isinstance(err, KzldError):
        return err
    if isinstance(err, urllib.error.HTTPError):
        retry_after = err.headers.get("Retry-After") if err.headers else None
        return _http_error(err.code, retry_after, endpoint)
    if isinstance(err, SPARQLWrapperException):
        # SPARQLWrapper replaces 400, 401, 404, 414 and 500 by its own exceptions.
        status = {
            "QueryBadFormed": 400,
            "Unauthorized": 401,
            "EndPointNotFound": 404,
            "URITooLong": 414,
            "EndPointInternalError": 500,
        }.get(type(err).__name__, 0)
        return _http_error(status, None, endpoint, _server_says(err))
    if isinstance(err, urllib.error.URLError):
        return _os_error(err.reason, endpoint)
    if isinstance(err, OSError):
        return _os_error(err, endpoint)
    if isinstance(err, http.client.IncompleteRead):
        return EndpointBadResponse(
            f"{endpoint} closed the connection before the response was complete "
            f"({len(err.partial)} bytes received)",
            hint="try again; a server that cut the answer short may have hit its own limit",
        )
    if isinstance(err, http.client.HTTPException):
        return EndpointBadResponse(f"{endpoint} sent a malformed HTTP response ({err!r})")
    return err


def _server_says(err: Exception) -> str:
    """The first line of the body SPARQLWrapper folded into its message (the server's
    own explanation, e.g. where a query's syntax error is)."""
    import ast

    _, found, body = str(err).partition("Response:\n")
    if not found:
        return ""
    try:
        text = ast.literal_eval(body)
    except (ValueError, SyntaxError):
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    first = next((line.strip() for line in str(text).splitlines() if line.strip()), "")
    return first[:200]


def _http_error(
    status: int, retry_after: str | None, endpoint: str, detail: str = ""
) -> BaseException:
    if status == 429 or status in _SERVER_ERRORS:
        return _Retryable(status, retry_after)
    if status == 403:
        return EndpointForbidden(
            f"{endpoint} refused access (HTTP 403 Forbidden)",
            hint="the endpoint may block this client or address; see its usage policy",
        )
    said = f": {detail}" if detail else ""
    return EndpointRejected(
        f"{endpoint} rejected the request (HTTP {status} {_reason(status)}){said}",
        hint="check the endpoint URL and that it speaks SPARQL 1.1",
    )


def _os_error(reason: object, endpoint: str) -> RemoteError:
    host = urlsplit(endpoint).hostname
    if isinstance(reason, TimeoutError | socket.timeout) or str(reason) == "timed out":
        return EndpointTimeout(
            f"{endpoint} did not answer in time",
            hint="raise --timeout, or simplify the query",
        )
    if isinstance(reason, socket.gaierror):
        return EndpointUnreachable(
            f"cannot resolve host name {host!r} of {endpoint}",
            hint="check the URL and your network connection",
        )
    if isinstance(reason, ConnectionRefusedError):
        return EndpointUnreachable(
            f"connection refused by {endpoint}: nothing listens there",
            hint="check the URL and that the endpoint is running",
        )
    return EndpointUnreachable(
        f"cannot reach {endpoint}: {reason}",
        hint="check the URL and your network connection",
    )


def _graph_store(
    method: str, store: str, body: bytes, graph: str | None, timeout: float, agent: str
) -> None:
    from kzld.network import allow_hosts

    host = _host(store)
    target = f"{store}?graph={quote(graph, safe='')}" if graph else f"{store}?default"
    request = urllib.request.Request(
        target,
        data=body,
        method=method,
        headers={"Content-Type": "application/n-triples", "User-Agent": agent},
    )
    with allow_hosts(host):
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
        except Exception as err:
            fault = _translate(err, store)
            if isinstance(fault, _Retryable):  # uploads are not retried: report at once
                fault = fault.final(store, 1)
            raise fault from None
