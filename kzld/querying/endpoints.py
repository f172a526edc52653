"""The one client for remote SPARQL endpoints: queries and Graph Store Protocol uploads.

Queries go through SPARQLWrapper; its answer is read here a piece at a time, so that each
has an overall deadline and a cap on its size however the server sends it (a byte a
second, a gigabyte). Graph Store uploads, which SPARQLWrapper does not do, go through the
small http.client helper at the end (section "HTTP helper"). Every error is translated
here into one RemoteError subclass, so that a failed request is never read as an empty
result. One request at a time; throttling and transient server errors are retried a
bounded number of times, deterministic ones (4xx, 500) never.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import http.client
import json
import math
import os
import re
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from kzld import __version__
from kzld.errors import (
    EndpointBadResponse,
    EndpointForbidden,
    EndpointRejected,
    EndpointServerError,
    EndpointThrottled,
    EndpointTimeout,
    EndpointUnreachable,
    InputError,
    RemoteError,
    UsageError,
)

USER_AGENT = f"kzld/{__version__} (https://w3id.org/kzld; kzld@users.noreply.github.com)"

# Longer queries go by POST: URLs this long are cut by proxies and refused by some servers.
POST_ABOVE = 2000
# Never sleep longer than this on one Retry-After; a longer demand ends the run instead.
MAX_WAIT = 120.0
# Transient server errors, worth another attempt; 500 and 501 say the same again.
_TRANSIENT = {502, 503, 504}
_REDIRECTS = {301, 302, 303, 307, 308}
MAX_REDIRECTS = 5
# The largest answer read, in MiB: a runaway query or a hostile server cannot fill memory.
MAX_ANSWER_ENV = "KZLD_MAX_ANSWER_MB"
DEFAULT_MAX_ANSWER_MB = 512
# Of an error page, only the start is read and shown.
_ERROR_BODY_BYTES = 64 * 1024
# Credentials for a store, never taken from the command line.
USER_ENV, PASSWORD_ENV = "KZLD_STORE_USER", "KZLD_STORE_PASSWORD"


def max_answer_bytes() -> int:
    """The cap on an answer's size: KZLD_MAX_ANSWER_MB, else 512 MiB."""
    given = os.environ.get(MAX_ANSWER_ENV, "").strip()
    if not given:
        return DEFAULT_MAX_ANSWER_MB * 1024 * 1024
    try:
        megabytes = float(given)
    except ValueError:
        megabytes = -1
    if not megabytes > 0:
        raise UsageError(
            f"{MAX_ANSWER_ENV} must be a positive number of MiB, not {given!r}",
            hint=f"e.g. {MAX_ANSWER_ENV}=2048",
        )
    return int(megabytes * 1024 * 1024)


def select(
    endpoint: str,
    query: str,
    *,
    timeout: float = 60.0,
    retries: int = 3,
    user_agent: str | None = None,
    sleep: Callable[[float], None] | None = None,
    now: Callable[[], float] | None = None,
    graph: str | None = None,
    max_bytes: int | None = None,
) -> dict:
    """Run a SELECT (or ASK) query and return the parsed SPARQL 1.1 JSON results.

    ``graph`` is sent as default-graph-uri; ``timeout`` bounds each attempt as a whole,
    from connecting to the last byte; ``max_bytes`` caps the answer (default:
    max_answer_bytes())."""
    _check_timeout(timeout)
    _host(endpoint)
    limit = max_bytes or max_answer_bytes()
    attempt = 0
    while True:
        try:
            return _select_once(endpoint, query, graph, timeout, user_agent or USER_AGENT, limit)
        except _Retryable as fault:
            attempt += 1
            if attempt > retries:
                raise fault.final(endpoint, attempt) from None
            wait = fault.wait(attempt, now or time.time)
            if wait > MAX_WAIT:
                raise fault.final(endpoint, attempt, waited_too_long=wait) from None
            (sleep or time.sleep)(wait)


@dataclass(frozen=True)
class Credentials:
    """A user and password for a store; the password never appears in a repr or message."""

    user: str
    password: str = ""
    origin: str = ""  # where they came from, for messages: the environment or ~/.netrc

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, origin={self.origin!r})"


def credentials_for(url: str) -> Credentials | None:
    """The credentials for this URL's host: KZLD_STORE_USER and KZLD_STORE_PASSWORD, else
    the host's (or the default) entry in ~/.netrc, else none."""
    import netrc
    from pathlib import Path

    user, password = os.environ.get(USER_ENV, ""), os.environ.get(PASSWORD_ENV, "")
    if user or password:
        if not (user and password):
            raise UsageError(
                f"{USER_ENV} and {PASSWORD_ENV} go together: one of them is empty",
                hint="set both, or neither to use ~/.netrc",
            )
        return Credentials(user, password, f"{USER_ENV}/{PASSWORD_ENV}")
    path = Path(os.path.expanduser("~")) / ".netrc"
    if not path.is_file():
        return None
    try:
        found = netrc.netrc(str(path)).authenticators(_host(url))
    except netrc.NetrcParseError as err:  # its message names the line, never a password
        raise InputError(
            f"not a valid .netrc: {err.msg}", path=str(path), line=err.lineno
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read it: {err}", path=str(path)) from None
    if not found:
        return None
    login, _, password = found
    return Credentials(login or "", password or "", str(path))


def load_into_store(
    store: str,
    ntriples: bytes,
    triples: int,
    *,
    graph: str | None = None,
    append: bool = False,
    timeout: float = 300.0,
    credentials: Credentials | None = None,
    user_agent: str | None = None,
) -> int:
    """Replace (or, with append, add to) a graph through the Graph Store Protocol, then
    read the graph back and count its triples: a store that answered "fine" without
    storing them (a login page, a proxy) is an error, not "loaded". Returns the count."""
    _check_timeout(timeout)
    _host(store)
    target = _graph_url(store, graph)
    headers = {"Content-Type": "application/n-triples", "User-Agent": user_agent or USER_AGENT}
    answer = _exchange(
        "POST" if append else "PUT",
        target,
        body=ntriples,
        headers=headers,
        timeout=timeout,
        max_bytes=_ERROR_BODY_BYTES,
        credentials=credentials,
        origin=store,
    )
    if answer.status not in {200, 201, 202, 204}:
        fault = _http_error(answer.status, None, store, answer.text(), credentials)
        raise fault.final(store, 1) if isinstance(fault, _Retryable) else fault
    found = count_graph(
        store, graph, timeout=timeout, credentials=credentials, user_agent=user_agent
    )
    what = f"graph <{graph}>" if graph else "the default graph"
    if found < triples if append else found != triples:
        raise EndpointBadResponse(
            f"{store} accepted the upload (HTTP {answer.status}) but {what} holds {found} "
            f"triples, not {'at least ' if append else ''}{triples}",
            hint="check that --store is the store's Graph Store Protocol URL",
        )
    return found


def count_graph(
    store: str,
    graph: str | None,
    *,
    timeout: float = 300.0,
    credentials: Credentials | None = None,
    user_agent: str | None = None,
) -> int:
    """The number of triples in a graph, read back through the Graph Store Protocol."""
    import pyoxigraph as ox

    answer = _exchange(
        "GET",
        _graph_url(store, graph),
        headers={
            "Accept": "application/n-triples, text/turtle;q=0.9, application/rdf+xml;q=0.5",
            "User-Agent": user_agent or USER_AGENT,
        },
        timeout=timeout,
        max_bytes=max_answer_bytes(),
        credentials=credentials,
        origin=store,
    )
    if answer.status == 404 and graph:  # an absent graph is an empty one
        return 0
    if answer.status != 200:
        fault = _http_error(answer.status, None, store, answer.text(), credentials)
        raise fault.final(store, 1) if isinstance(fault, _Retryable) else fault
    rdf_format = ox.RdfFormat.from_media_type(answer.media) if answer.media else None
    if rdf_format is None:
        raise EndpointBadResponse(
            f"{store} answered a read of the graph with {answer.what()}, not RDF",
            hint="the store may be behind a login page, or --store is not a Graph Store URL",
        )
    try:
        return sum(1 for _ in ox.parse(answer.body, format=rdf_format))
    except (SyntaxError, ValueError) as err:
        raise EndpointBadResponse(
            f"{store} sent {answer.media} that does not parse: {err}"
        ) from None


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


def _graph_url(store: str, graph: str | None) -> str:
    joiner = "&" if urlsplit(store).query else "?"
    return store + joiner + (urlencode({"graph": graph}) if graph else "default")


def _check_timeout(timeout: float) -> None:
    if not timeout > 0:  # also refuses NaN
        raise UsageError(f"the timeout must be a positive number of seconds, not {timeout}")


def _host(url: str) -> str:
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 -- raises on a port that is not a number
    except ValueError:
        raise UsageError(f"not a valid port in {url!r}") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UsageError(f"not an http(s) URL: {url!r}", hint="e.g. http://127.0.0.1:7878/query")
    return parts.hostname


def _select_once(
    endpoint: str, query: str, graph: str | None, timeout: float, agent: str, limit: int
) -> dict:
    """One attempt through SPARQLWrapper, its answer read against the deadline and the cap."""
    from SPARQLWrapper import GET, JSON, POST, URLENCODED, SPARQLWrapper
    from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

    from kzld.errors import KzldError
    from kzld.loading.network import allow_hosts

    deadline = time.monotonic() + timeout
    parts = urlsplit(endpoint)
    if len(query) > POST_ABOVE:
        # The endpoint URL keeps its own parameters; the query goes in the body.
        sparql = SPARQLWrapper(endpoint, agent=agent)
        sparql.setMethod(POST)
        sparql.setRequestMethod(URLENCODED)
    else:
        # SPARQLWrapper appends "?query=...": the URL's own parameters go in as parameters.
        sparql = SPARQLWrapper(urlunsplit(parts._replace(query="")), agent=agent)
        sparql.setMethod(GET)
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            sparql.addParameter(name, value)
    if graph:
        sparql.addParameter("default-graph-uri", graph)
    sparql.setReturnFormat(JSON)
    sparql.setOnlyConneg(True)  # no format=json&output=json&results=json beside Accept
    sparql.setTimeout(math.ceil(timeout))  # it takes whole seconds; the deadline is kzld's
    sparql.setQuery(query)
    proxy = _proxy_for(parts)
    with _opener_for(endpoint), allow_hosts(_host(endpoint), *(proxy[:1] if proxy else ())):
        try:
            response = sparql.query().response
            try:
                # urllib does not hand out the socket: each read waits at most the
                # timeout given to SPARQLWrapper, the deadline is checked between pieces.
                body = _read(response, None, deadline, timeout, limit, True, endpoint)
                media = (response.headers.get("Content-Type") or "").split(";")[0]
            finally:
                response.close()
        except KzldError:
            raise
        except SPARQLWrapperException as err:
            raise _refused(err, endpoint) from None
        except urllib.error.HTTPError as err:
            raise _http_refusal(err, endpoint) from None
        except urllib.error.URLError as err:
            reason = err.reason
            raise _translate(
                reason if isinstance(reason, BaseException) else OSError(str(reason)), endpoint
            ) from None
        except Exception as err:  # translated below, whatever layer raised it
            raise _translate(err, endpoint) from None
    return _parse_results(body, media.strip().lower(), endpoint)


def _refused(err: BaseException, endpoint: str) -> BaseException:
    """The RemoteError for one of SPARQLWrapper's exception classes, each one status."""
    import ast

    from SPARQLWrapper import SPARQLExceptions as sx

    statuses = {
        sx.QueryBadFormed: 400,
        sx.Unauthorized: 401,
        sx.EndPointNotFound: 404,
        sx.URITooLong: 414,
        sx.EndPointInternalError: 500,
    }
    status = next((code for cls, code in statuses.items() if isinstance(err, cls)), 400)
    # SPARQLWrapper keeps the answer's body only as the repr of its bytes in the message.
    said = str(err).partition("\n\nResponse:\n")[2]
    try:
        body = ast.literal_eval(said) if said else b""
    except (SyntaxError, ValueError):
        body = said.encode()
    return _http_error(status, None, endpoint, server_text(body[:_ERROR_BODY_BYTES]))


def _http_refusal(err: urllib.error.HTTPError, endpoint: str) -> BaseException:
    """The RemoteError (or retry) for a status SPARQLWrapper passes on as urllib's HTTPError,
    which keeps the headers: Retry-After."""
    if err.code in _REDIRECTS and err.headers and err.headers.get("Location"):
        # urllib gave up following them
        return EndpointRejected(f"{endpoint} redirected more than {MAX_REDIRECTS} times")
    try:
        body = err.read(_ERROR_BODY_BYTES)
    except Exception:  # an error page cut short is still an error; its text is a bonus
        body = b""
    content_type = (err.headers.get("Content-Type") or "") if err.headers else ""
    retry_after = err.headers.get("Retry-After") if err.headers else None
    return _http_error(err.code, retry_after, endpoint, server_text(body, content_type))


@contextlib.contextmanager
def _opener_for(endpoint: str) -> Iterator[None]:
    """urllib's opener for the length of one query: redirects on the same host only.

    SPARQLWrapper opens URLs with urllib.request.urlopen, which uses the installed opener;
    it has no hook of its own for redirects, so this one is installed and put back after.
    The opener is the process's: remote queries from several threads take turns."""
    with _OPENER_TURN:
        previous = getattr(urllib.request, "_opener", None)
        urllib.request.install_opener(urllib.request.build_opener(_SameHostRedirects(endpoint)))
        try:
            yield
        finally:
            urllib.request.install_opener(previous)


_OPENER_TURN = threading.Lock()


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect on the same host (never from https to http); refuse any other."""

    max_redirections = MAX_REDIRECTS

    def __init__(self, origin: str):
        self.origin = origin

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        here, moved = urlsplit(req.full_url), urlsplit(newurl)
        if moved.hostname != here.hostname or (here.scheme == "https" and moved.scheme != "https"):
            fp.close()  # urllib closes it only when it follows the redirect
            raise EndpointRejected(
                f"{self.origin} redirects to another host ({moved.hostname}) or from https "
                "to http; kzld follows redirects on the same host only",
                hint=f"if that is the right place, use its URL: {newurl}",
            )
        if req.get_method() == "POST" and code != 303:
            # urllib would send a POST on as a GET (301, 302) or not at all (307, 308),
            # and a long query is in the body: it goes on as the same POST.
            fp.close()
            return urllib.request.Request(newurl, req.data, req.headers, method="POST")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _parse_results(body: bytes, media: str, endpoint: str) -> dict:
    if "json" not in media:
        html = "html" in media or body.lstrip()[:5].lower() in {b"<!doc", b"<html"}
        what = "an HTML page" if html else media
        raise EndpointBadResponse(
            f"{endpoint} answered with {what or 'no content type'}, not SPARQL JSON results",
            hint="the endpoint may be down for maintenance or behind a login page",
        )
    try:
        results = json.loads(body)
    except (UnicodeDecodeError, ValueError) as err:
        raise EndpointBadResponse(
            f"{endpoint} sent invalid JSON ({err}); the response is truncated or corrupt",
            hint="try again; a server that cut the answer short may have hit its own limit",
        ) from None
    except RecursionError:
        raise EndpointBadResponse(
            f"{endpoint} sent JSON nested too deeply to be SPARQL results"
        ) from None
    well_formed = isinstance(results, dict) and (
        isinstance(results.get("boolean"), bool)
        or (
            isinstance(results.get("head"), dict)
            and isinstance(results["head"].get("vars", []), list)
            and all(isinstance(v, str) for v in results["head"].get("vars", []))
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


# --------------------------------------------------------------------- HTTP helper
# For what SPARQLWrapper does not do: Graph Store Protocol PUT/POST/GET with Basic or
# Digest credentials, same-host redirects, one deadline for the whole exchange and the
# size cap. Its entry point is _exchange; _read and _translate serve queries as well.


@dataclass
class _Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def media(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def what(self) -> str:
        if "html" in self.media or self.body.lstrip()[:5].lower() in {b"<!doc", b"<html"}:
            return "an HTML page"
        return self.media or "no content type"

    def text(self) -> str:
        return server_text(self.body, self.headers.get("Content-Type") or "")


def server_text(body: bytes, content_type: str = "", lines: int = 3, width: int = 300) -> str:
    """The start of a server's own error message, on one line: tags of an HTML page
    dropped, control characters removed (no terminal escapes reach the user)."""
    import html

    charset = re.search(r"charset=([\w.-]+)", content_type, re.I)
    try:
        text = body.decode(charset.group(1) if charset else "utf-8", "replace")
    except LookupError:
        text = body.decode("utf-8", "replace")
    if "html" in content_type.lower() or text.lstrip()[:1] == "<":
        text = re.sub(r"(?is)<(script|style|head)\b.*?</\1\s*>", "\n", text)
        text = html.unescape(re.sub(r"(?s)<[^>]*>", "\n", text))
    kept = []
    for line in text.splitlines():
        line = re.sub(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]", " ", line)
        line = " ".join(line.split())
        if line:
            kept.append(line)
        if len(kept) == lines:
            break
    joined = " / ".join(kept)
    return joined if len(joined) <= width else joined[: width - 1] + "…"


def _exchange(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str],
    timeout: float,
    max_bytes: int,
    credentials: Credentials | None = None,
    origin: str,
) -> _Answer:
    """One request with its redirects and its authentication, all within one deadline."""
    deadline = time.monotonic() + timeout
    authorization: str | None = None
    hops = 0
    while True:
        sent = dict(headers)
        if authorization:
            sent["Authorization"] = authorization
        answer = _once(method, url, body, sent, deadline, timeout, max_bytes, origin)
        location = answer.headers.get("Location")
        if answer.status in _REDIRECTS and location:
            hops += 1
            target = urljoin(url, location.strip())
            moved = urlsplit(target)
            if moved.hostname != urlsplit(url).hostname or (
                urlsplit(url).scheme == "https" and moved.scheme != "https"
            ):
                raise EndpointRejected(
                    f"{origin} redirects to another host ({moved.hostname}) or from https "
                    "to http; kzld follows redirects on the same host only",
                    hint=f"if that is the right place, use its URL: {target}",
                )
            if hops > MAX_REDIRECTS:
                raise EndpointRejected(f"{origin} redirected more than {MAX_REDIRECTS} times")
            if answer.status == 303:
                method, body = "GET", None
            url = target
            continue
        if answer.status == 401 and credentials and authorization is None:
            challenges = answer.headers.get_all("WWW-Authenticate") or []
            authorization = _authorization(challenges, credentials, method, url, body)
            if authorization:
                continue
        return answer


def _once(
    method: str,
    url: str,
    body: bytes | None,
    headers: dict[str, str],
    deadline: float,
    timeout: float,
    max_bytes: int,
    origin: str,
) -> _Answer:
    from kzld.errors import KzldError
    from kzld.loading.network import allow_hosts

    parts = urlsplit(url)
    host = _host(url)
    left = deadline - time.monotonic()
    if left <= 0:
        raise _late(origin, timeout)
    proxy = _proxy_for(parts)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            proxy[0] if proxy else host,
            proxy[1] if proxy else port,
            timeout=left,
            context=ssl.create_default_context(),
        )
        if proxy:
            connection.set_tunnel(host, port)
    elif proxy:
        connection = http.client.HTTPConnection(*proxy, timeout=left)
        target = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))
    else:
        connection = http.client.HTTPConnection(host, port, timeout=left)
    with allow_hosts(host, *(proxy[:1] if proxy else ())):
        try:
            try:
                connection.request(method, target, body=body, headers=headers)
            except (BrokenPipeError, ConnectionResetError):
                # The server answered (often 401) and closed before the whole body was
                # sent: its answer may still be there to read.
                if connection.sock is None:
                    raise
            sock = connection.sock
            response = connection.getresponse()
            status = response.status
            if status in _REDIRECTS:
                return _Answer(status, response.headers, b"")
            success = 200 <= status < 300
            limit = max_bytes if success else _ERROR_BODY_BYTES
            data = _read(response, sock, deadline, timeout, limit, success, origin)
            return _Answer(status, response.headers, data)
        except KzldError:
            raise
        except Exception as err:  # translated below, whatever layer raised it
            raise _translate(err, origin) from None
        finally:
            connection.close()


def _read(response, sock, deadline, timeout, limit, strict, origin) -> bytes:
    """The body, read a piece at a time against the deadline and the size cap."""
    declared = response.getheader("Content-Length", "")
    expected = int(declared) if declared.strip().isdigit() else None
    if strict and expected is not None and expected > limit:
        raise _too_large(origin, limit)
    chunks: list[bytes] = []
    total = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _late(origin, timeout, total)
        if sock is not None:
            sock.settimeout(left)
        try:
            chunk = response.read1(64 * 1024)
        except TimeoutError:
            raise _late(origin, timeout, total) from None
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            if strict:
                raise _too_large(origin, limit)
            chunks.append(chunk[: len(chunk) - (total - limit)])
            break
        chunks.append(chunk)
    if strict and expected is not None and total < expected:
        raise EndpointBadResponse(
            f"{origin} closed the connection before the response was complete "
            f"({total} of {expected} bytes received)",
            hint="try again; a server that cut the answer short may have hit its own limit",
        )
    return b"".join(chunks)


def _late(origin: str, timeout: float, received: int | None = None) -> RemoteError:
    if received:
        return EndpointTimeout(
            f"{origin} did not finish its answer within {timeout:g} s ({received} bytes received)",
            hint="raise --timeout, or narrow the query",
        )
    return EndpointTimeout(
        f"{origin} did not answer in time ({timeout:g} s)",
        hint="raise --timeout, or simplify the query",
    )


def _too_large(origin: str, limit: int) -> RemoteError:
    return EndpointBadResponse(
        f"{origin} sent an answer larger than {limit / 1048576:g} MiB; kzld stopped reading",
        hint=f"narrow the query (LIMIT), or raise the cap: {MAX_ANSWER_ENV}=MIB",
    )


def _proxy_for(parts) -> tuple[str, int] | None:
    """The proxy the environment names for this URL (http_proxy, https_proxy, no_proxy)."""
    proxies = urllib.request.getproxies_environment()
    url = proxies.get(parts.scheme)
    if not url or urllib.request.proxy_bypass_environment(parts.hostname or "", proxies):
        return None
    where = urlsplit(url if "://" in url else "http://" + url)
    if not where.hostname:
        return None
    return where.hostname, where.port or 80


def _authorization(
    challenges: list[str], credentials: Credentials, method: str, url: str, body: bytes | None
) -> str | None:
    """The Authorization header answering a Basic or Digest challenge (stdlib's Digest)."""
    for challenge in challenges:
        scheme, _, rest = challenge.strip().partition(" ")
        if scheme.lower() == "digest":
            manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
            manager.add_password(None, url, credentials.user, credentials.password)
            handler = urllib.request.HTTPDigestAuthHandler(manager)
            fields = urllib.request.parse_keqv_list(urllib.request.parse_http_list(rest))
            request = urllib.request.Request(url, data=body, method=method)
            value = handler.get_authorization(request, fields)
            if value:
                return "Digest " + value
    for challenge in challenges:
        if challenge.strip().lower().startswith("basic"):
            pair = f"{credentials.user}:{credentials.password}".encode()
            return "Basic " + base64.b64encode(pair).decode("ascii")
    return None


class _Retryable(Exception):
    """A fault worth another attempt: throttling or a transient server error."""

    def __init__(self, status: int, retry_after: str | None, detail: str = ""):
        self.status = status
        self.retry_after = retry_after
        self.detail = detail

    def wait(self, attempt: int, now: Callable[[], float]) -> float:
        told = _retry_after_seconds(self.retry_after, now)
        return told if told is not None else float(2 ** (attempt - 1))

    def final(self, endpoint: str, attempts: int, waited_too_long: float | None = None):
        said = f": {self.detail}" if self.detail else ""
        if waited_too_long is not None:
            return EndpointThrottled(
                f"{endpoint} asked to wait {waited_too_long:.0f} s (HTTP {self.status}){said}",
                hint=f"kzld waits at most {MAX_WAIT:.0f} s; try again later",
            )
        if self.status == 429:
            return EndpointThrottled(
                f"{endpoint} is throttling requests (HTTP 429 Too Many Requests, "
                f"{attempts} attempts){said}",
                hint="wait a few minutes before trying again",
            )
        return EndpointServerError(
            f"{endpoint} failed with HTTP {self.status} {_reason(self.status)} "
            f"({attempts} attempts){said}",
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
    """Turn what http.client, ssl or the socket layer raised into a RemoteError."""
    if isinstance(err, TimeoutError):
        return EndpointTimeout(
            f"{endpoint} did not answer in time",
            hint="raise --timeout, or simplify the query",
        )
    if isinstance(err, http.client.IncompleteRead):
        return EndpointBadResponse(
            f"{endpoint} closed the connection before the response was complete "
            f"({len(err.partial)} bytes received)",
            hint="try again; a server that cut the answer short may have hit its own limit",
        )
    if isinstance(err, http.client.RemoteDisconnected):
        return EndpointBadResponse(f"{endpoint} closed the connection without answering")
    if isinstance(err, OSError):
        return _os_error(err, endpoint)
    if isinstance(err, http.client.HTTPException | ValueError):
        return EndpointBadResponse(
            f"{endpoint} sent a malformed HTTP response ({type(err).__name__})"
        )
    return err


def _http_error(
    status: int,
    retry_after: str | None,
    endpoint: str,
    detail: str = "",
    credentials: Credentials | None = None,
) -> BaseException:
    if status == 429 or status in _TRANSIENT:
        return _Retryable(status, retry_after, detail)
    said = f": {detail}" if detail else ""
    if status == 401:
        return EndpointForbidden(
            f"{endpoint} asks for credentials (HTTP 401 Unauthorized)"
            + (f"; those from {credentials.origin} were refused" if credentials else "")
            + said,
            hint=f"set {USER_ENV} and {PASSWORD_ENV}, or add the host to ~/.netrc",
        )
    if status == 403:
        return EndpointForbidden(
            f"{endpoint} refused access (HTTP 403 Forbidden){said}",
            hint="the endpoint may block this client or address; see its usage policy",
        )
    if status >= 500:
        return EndpointServerError(
            f"{endpoint} failed with HTTP {status} {_reason(status)}{said}",
            hint="not retried: the same request would fail the same way",
        )
    return EndpointRejected(
        f"{endpoint} rejected the request (HTTP {status} {_reason(status)}){said}",
        hint="check the endpoint URL and that it speaks SPARQL 1.1",
    )


def _os_error(reason: OSError, endpoint: str) -> RemoteError:
    host = urlsplit(endpoint).hostname
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
        f"cannot reach {endpoint}: {reason.strerror or reason}",
        hint="check the URL and your network connection",
    )
