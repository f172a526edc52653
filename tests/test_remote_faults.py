"""Remote faults: each way an endpoint fails gives its own clear error, never 'no results'."""

from __future__ import annotations

import email.utils
import http.server
import json
import socket
import threading
from dataclasses import dataclass, field

import pytest

from kzld import errors
from kzld.querying import endpoints

OK_BODY = json.dumps({"head": {"vars": ["x"]}, "results": {"bindings": []}}).encode()
JSON = {"Content-Type": "application/sparql-results+json"}


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    body: bytes = OK_BODY
    silent: bool = False  # accept the request, never answer
    declared_length: int | None = None  # a Content-Length larger than the body: truncation
    trickle: bool = False  # send the body one byte a second
    endless: int = 0  # send this many bytes of filler after the body, generated, not held


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Scripted:
    """A local HTTP server answering each request with the next scripted reply."""

    def __init__(self, replies: list[Reply]):
        self.replies = list(replies)
        self.seen: list[Seen] = []
        self.release = threading.Event()
        script = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                script.seen.append(Seen(self.command, self.path, dict(self.headers), body))
                reply = script.replies.pop(0) if script.replies else Reply()
                if reply.silent:
                    script.release.wait(30)
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                size = reply.declared_length or len(reply.body) + reply.endless
                self.send_header("Content-Length", str(size))
                self.end_headers()
                try:
                    if reply.trickle:
                        for byte in reply.body:
                            if script.release.wait(1):
                                return
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                        return
                    self.wfile.write(reply.body)
                    filler, left = b" " * 65536, reply.endless
                    while left > 0 and not script.release.is_set():
                        self.wfile.write(filler[:left])
                        left -= len(filler)
                except OSError:  # the client stopped reading, as it should
                    pass

            do_GET = do_POST = do_PUT = _answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sparql"

    def stop(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve():
    started: list[Scripted] = []

    def start(*replies: Reply) -> Scripted:
        server = Scripted(list(replies))
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


class FakeTime:
    """A clock and a sleep that only record: waits are asserted, never spent."""

    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def select(url: str, fake: FakeTime | None = None, query: str = "SELECT ?x {}", **kw):
    fake = fake or FakeTime()
    return endpoints.select(url, query, sleep=fake.sleep, now=fake.clock, **kw)


def test_a_good_answer_is_parsed(serve):
    server = serve(Reply())
    assert select(server.url) == json.loads(OK_BODY)
    assert server.seen[0].method == "GET"
    assert server.seen[0].headers["User-Agent"].startswith("kzld/")
    assert "kzld@users.noreply.github.com" in server.seen[0].headers["User-Agent"]


def test_silent_endpoint_times_out(serve):
    server = serve(Reply(silent=True))
    with pytest.raises(errors.EndpointTimeout, match="did not answer in time"):
        select(server.url, timeout=1)
    assert len(server.seen) == 1  # a timeout is not retried


def test_refused_connection():
    with socket.socket() as probe:  # a port nothing listens on: bound, never listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        with pytest.raises(errors.EndpointUnreachable, match="connection refused"):
            select(f"http://127.0.0.1:{port}/sparql")


def test_dns_failure_is_a_clear_message(monkeypatch):
    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    with pytest.raises(errors.EndpointUnreachable, match="cannot resolve host name 'kzld.invalid'"):
        select("http://kzld.invalid/sparql")


def test_dns_blocked_by_the_suite_is_still_unreachable():
    # Under the test suite's socket block a lookup fails with an OSError of its own.
    with pytest.raises(errors.EndpointUnreachable, match="kzld.invalid"):
        select("http://kzld.invalid/sparql")


def test_retry_after_in_seconds_is_honoured(serve):
    server = serve(Reply(429, {"Retry-After": "7"}, b"slow down"), Reply())
    fake = FakeTime()
    assert select(server.url, fake) == json.loads(OK_BODY)
    assert fake.slept == [7.0]
    assert len(server.seen) == 2


def test_retry_after_as_http_date_is_honoured(serve):
    fake = FakeTime()
    when = email.utils.formatdate(fake.now + 42, usegmt=True)
    server = serve(Reply(503, {"Retry-After": when}, b"busy"), Reply())
    assert select(server.url, fake) == json.loads(OK_BODY)
    assert fake.slept == [42.0]


def test_repeated_429_is_bounded_then_an_error(serve):
    server = serve(*[Reply(429, {"Retry-After": "1"}, b"") for _ in range(10)])
    fake = FakeTime()
    with pytest.raises(errors.EndpointThrottled, match="429 Too Many Requests, 3 attempts"):
        select(server.url, fake, retries=2)
    assert len(server.seen) == 3
    assert fake.slept == [1.0, 1.0]


def test_an_excessive_retry_after_ends_the_run(serve):
    server = serve(Reply(429, {"Retry-After": "86400"}, b""))
    fake = FakeTime()
    with pytest.raises(errors.EndpointThrottled, match="asked to wait 86400 s"):
        select(server.url, fake)
    assert fake.slept == []


def test_forbidden(serve):
    server = serve(Reply(403, {"Content-Type": "text/html"}, b"<h1>Forbidden</h1>"))
    with pytest.raises(errors.EndpointForbidden, match="403 Forbidden"):
        select(server.url)
    assert len(server.seen) == 1


@pytest.mark.parametrize("status", [502, 503, 504])
def test_transient_server_errors_are_retried_then_reported(serve, status):
    server = serve(*[Reply(status, {"Content-Type": "text/plain"}, b"oops") for _ in range(5)])
    fake = FakeTime()
    with pytest.raises(errors.EndpointServerError, match=f"HTTP {status} .*4 attempts"):
        select(server.url, fake)
    assert len(server.seen) == 4
    assert fake.slept == [1.0, 2.0, 4.0]  # exponential backoff when no Retry-After


@pytest.mark.parametrize("status", [500, 501])
def test_a_deterministic_server_error_is_not_retried_and_shows_the_servers_text(serve, status):
    said = b"Virtuoso 22023 Error SR008: Function needs an integer\n\nSPARQL query:\nSELECT"
    server = serve(*[Reply(status, {"Content-Type": "text/plain"}, said) for _ in range(5)])
    fake = FakeTime()
    with pytest.raises(errors.EndpointServerError) as caught:
        select(server.url, fake)
    assert len(server.seen) == 1
    assert fake.slept == []
    assert f"HTTP {status}" in caught.value.message
    assert "SR008: Function needs an integer / SPARQL query: / SELECT" in caught.value.message


def test_a_server_error_then_success(serve):
    server = serve(Reply(502, {"Content-Type": "text/plain"}, b"bad gateway"), Reply())
    assert select(server.url) == json.loads(OK_BODY)


def test_html_with_200_is_not_an_empty_result(serve):
    page = b"<!DOCTYPE html><html><body>Maintenance</body></html>"
    server = serve(Reply(200, {"Content-Type": "text/html; charset=utf-8"}, page))
    with pytest.raises(errors.EndpointBadResponse, match="an HTML page, not SPARQL JSON"):
        select(server.url)


def test_truncated_json_is_not_an_empty_result(serve):
    server = serve(Reply(body=OK_BODY[: len(OK_BODY) // 2]))
    with pytest.raises(errors.EndpointBadResponse, match="invalid JSON.*truncated"):
        select(server.url)


def test_connection_closed_mid_body(serve):
    server = serve(Reply(body=OK_BODY[:20], declared_length=len(OK_BODY)))
    with pytest.raises(errors.EndpointBadResponse, match="before the response was complete"):
        select(server.url)


def test_json_that_is_not_sparql_results(serve):
    server = serve(Reply(body=b'{"error": "quota"}'))
    with pytest.raises(errors.EndpointBadResponse, match="not SPARQL 1.1 query results"):
        select(server.url)


def test_wrong_content_type(serve):
    server = serve(Reply(headers={"Content-Type": "text/turtle"}, body=b"<a> <b> <c> ."))
    with pytest.raises(errors.EndpointBadResponse, match="text/turtle"):
        select(server.url)


def test_a_long_query_is_sent_by_post(serve):
    server = serve(Reply())
    query = "SELECT ?x {} # " + "padding " * 400
    assert len(query) > endpoints.POST_ABOVE
    select(server.url, query=query)
    seen = server.seen[0]
    assert seen.method == "POST"
    assert "?" not in seen.path  # nothing of the query in the URL
    from urllib.parse import parse_qs

    assert parse_qs(seen.body.decode())["query"] == [query]


def test_messages_are_distinct(serve):
    """Each fault has its own error class and message: none reads like another."""
    cases = [
        Reply(403, {}, b""),
        Reply(200, {"Content-Type": "text/html"}, b"<html></html>"),
        Reply(body=b'{"head": '),
        Reply(404, {}, b""),
    ]
    seen = set()
    for reply in cases:
        server = serve(reply)
        with pytest.raises(errors.RemoteError) as caught:
            select(server.url, retries=0)
        seen.add((type(caught.value), caught.value.message.split(server.url)[-1]))
    assert len(seen) == len(cases)


def test_a_rejected_query_shows_what_the_server_said(serve):
    server = serve(Reply(400, {"Content-Type": "text/plain"}, b"error at 1:8: expected WHERE\n"))
    with pytest.raises(errors.EndpointRejected, match="400 Bad Request.*expected WHERE"):
        select(server.url)
    assert len(server.seen) == 1


def test_a_trickling_answer_stops_at_the_overall_deadline(serve):
    import time

    server = serve(Reply(body=OK_BODY, trickle=True))
    started = time.monotonic()
    with pytest.raises(errors.EndpointTimeout, match=r"did not finish its answer within 2 s"):
        select(server.url, timeout=2)
    assert time.monotonic() - started < 5  # one byte a second would take over a minute
    assert len(server.seen) == 1


def test_a_huge_answer_is_not_read_whole(serve, monkeypatch):
    monkeypatch.setenv(endpoints.MAX_ANSWER_ENV, "1")
    server = serve(Reply(body=b'{"head": {"vars": []}, "results": {"bindings": [', endless=2**30))
    with pytest.raises(errors.EndpointBadResponse, match=r"larger than 1 MiB.*stopped reading"):
        select(server.url)


def test_a_huge_answer_without_a_length_is_cut_at_the_cap(serve, monkeypatch):
    # Content-Length lies low: the cap holds while reading, not only on the header.
    monkeypatch.setenv(endpoints.MAX_ANSWER_ENV, "1")
    body = b" " * (3 * 2**20)
    server = serve(Reply(body=body, declared_length=len(body)))
    with pytest.raises(errors.EndpointBadResponse, match="larger than 1 MiB"):
        select(server.url)


def test_the_cap_must_be_a_positive_number(monkeypatch):
    monkeypatch.setenv(endpoints.MAX_ANSWER_ENV, "lots")
    with pytest.raises(errors.UsageError, match="KZLD_MAX_ANSWER_MB must be a positive"):
        select("http://127.0.0.1:9/sparql")


def test_deeply_nested_json_is_a_bad_answer(serve):
    server = serve(Reply(body=b"[" * 200_000 + b"]" * 200_000))
    with pytest.raises(errors.EndpointBadResponse, match="nested too deeply|not SPARQL 1.1"):
        select(server.url)


@pytest.mark.parametrize(
    "answer",
    [
        {"head": {"vars": ["other"]}, "results": {"bindings": [{"other": {"type": "uri"}}]}},
        {"head": {"vars": [["x"]]}, "results": {"bindings": []}},
        {"head": {"vars": ["x"]}, "results": {"bindings": [{"x": "not a term"}]}},
        {"head": {"vars": ["x"]}, "results": {"bindings": [{"x": {"type": "uri", "value": 1}}]}},
    ],
    ids=["other-variables", "vars-not-names", "binding-not-an-object", "value-not-a-string"],
)
def test_any_shape_of_answer_is_exit_4_without_a_traceback(serve, run_kzld, answer):
    server = serve(Reply(body=json.dumps(answer).encode()))
    result = run_kzld("query", "sources", "--endpoint", server.url, timeout=60)
    assert result.exit_code == errors.REMOTE, result.stderr
    assert result.stderr.startswith("kzld: error: ")
    assert "Traceback" not in result.stderr


def test_a_cross_host_redirect_is_refused_with_its_own_message(serve):
    port = int(serve(Reply()).url.split(":")[2].split("/")[0])
    elsewhere = f"http://localhost:{port}/sparql"
    server = serve(Reply(302, {"Location": elsewhere}, b""))
    with pytest.raises(errors.EndpointRejected) as caught:
        select(server.url)
    assert "redirects to another host" in caught.value.message
    assert "works offline" not in caught.value.message
    assert elsewhere in caught.value.hint


def test_a_same_host_redirect_is_followed(serve):
    target = serve(Reply())
    server = serve(Reply(301, {"Location": target.url}, b""))
    assert select(server.url) == json.loads(OK_BODY)
    assert [s.method for s in target.seen] == ["GET"]


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_long_query_redirected_on_the_same_host_is_posted_again(serve, status):
    from urllib.parse import parse_qs

    target = serve(Reply())
    server = serve(Reply(status, {"Location": target.url}, b""))
    query = "SELECT ?x {} # " + "padding " * 400
    assert select(server.url, query=query) == json.loads(OK_BODY)
    assert [s.method for s in target.seen] == ["POST"]
    assert parse_qs(target.seen[0].body.decode())["query"] == [query]


def test_too_many_redirects_are_refused(serve):
    server = serve(*[Reply(302, {"Location": "/again"}, b"") for _ in range(10)])
    with pytest.raises(errors.EndpointRejected, match="redirected more than"):
        select(server.url)


@pytest.mark.parametrize("long", [False, True], ids=["get", "post"])
def test_an_endpoint_url_with_parameters_keeps_them(serve, long):
    from urllib.parse import parse_qs, urlsplit

    server = serve(Reply())
    query = "SELECT ?x {}" + (" # " + "padding " * 400 if long else "")
    url = server.url + "?default-graph-uri=https%3A%2F%2Fexample.org%2Fg&timeout=5"
    select(url, query=query)
    seen = server.seen[0]
    assert seen.method == ("POST" if long else "GET")
    given = parse_qs(urlsplit(seen.path).query)
    assert given["default-graph-uri"] == ["https://example.org/g"]
    assert given["timeout"] == ["5"]
    sent = parse_qs(seen.body.decode()) if long else given
    assert sent["query"] == [query]


def test_a_graph_is_sent_as_default_graph_uri(serve):
    from urllib.parse import parse_qs, urlsplit

    server = serve(Reply())
    select(server.url, graph="https://example.org/g")
    assert parse_qs(urlsplit(server.seen[0].path).query)["default-graph-uri"] == [
        "https://example.org/g"
    ]


def test_the_servers_html_error_is_shown_as_clean_text(serve):
    page = b"<html><head><title>x</title></head><body><h1>Bad query</h1>\x1b[31m<p>line 3: ?x</p>"
    server = serve(Reply(400, {"Content-Type": "text/html"}, page))
    with pytest.raises(errors.EndpointRejected) as caught:
        select(server.url)
    assert caught.value.message.endswith("(HTTP 400 Bad Request): Bad query / [31m / line 3: ?x")
    assert "\x1b" not in caught.value.message


@pytest.mark.parametrize("value", ["-1", "0", "nan"])
def test_a_bad_load_timeout_is_refused_by_the_option(run_kzld, value):
    result = run_kzld("load", "--endpoint", "http://127.0.0.1:9/query", "--timeout", value)
    assert result.exit_code == errors.USAGE, result.stderr
    assert "timeout" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_environments_http_proxy_is_used(serve, monkeypatch):
    proxy = serve(Reply())
    monkeypatch.setenv("http_proxy", proxy.url.rsplit("/", 1)[0])
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert select("http://sparql.example.org/query") == json.loads(OK_BODY)
    assert proxy.seen[0].path.startswith("http://sparql.example.org/query?query=")
