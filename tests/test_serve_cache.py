"""The server's answer cache: a repeated GET /sparql is answered with the same bytes without
running the query again; what may differ from one run to the next is never kept."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode

import pytest
from conftest import LoopbackServer
from test_serve import MINISTERS_QUERY

from kzld.web.server import AnswerCache


class CountingApp:
    """An ASGI app that answers each request with a new body and counts its calls."""

    def __init__(self, status=200, chunks=1, size=10):
        self.calls = 0
        self.status, self.chunks, self.size = status, chunks, size

    async def __call__(self, scope, receive, send):
        self.calls += 1
        headers = [(b"content-type", b"text/plain"), (b"kzld-rows", b"1")]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        body = str(self.calls).encode().ljust(self.size, b".")
        for i in range(self.chunks):
            more = i < self.chunks - 1
            await send({"type": "http.response.body", "body": body, "more_body": more})


def ask(app, query="SELECT * {}", method="GET", path="/sparql", headers=()):
    """The status, headers and body the app sends for one request."""
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": urlencode({"query": query}).encode(),
        "headers": list(headers),
    }
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = sent[0]
    return start["status"], start["headers"], b"".join(m.get("body", b"") for m in sent[1:])


def test_a_repeated_request_gets_the_same_bytes_without_running_again():
    inner = CountingApp()
    cache = AnswerCache(inner, 1 << 20)
    first = ask(cache, headers=[(b"accept", b"text/csv"), (b"host", b"a")])
    again = ask(cache, headers=[(b"accept", b"text/csv"), (b"host", b"a")])
    assert again == first and inner.calls == 1


@pytest.mark.parametrize(
    "other",
    [
        {"query": "SELECT ?x {}"},
        {"headers": [(b"accept", b"application/sparql-results+json"), (b"host", b"a")]},
        {"headers": [(b"accept", b"text/csv"), (b"host", b"b")]},  # the limits link names it
        {"headers": [(b"accept", b"text/csv"), (b"accept", b"text/tsv"), (b"host", b"a")]},
        {"method": "POST"},
        {"path": "/id/person/x"},
    ],
)
def test_a_request_that_differs_in_what_the_answer_depends_on_runs_again(other):
    inner = CountingApp()
    cache = AnswerCache(inner, 1 << 20)
    ask(cache, headers=[(b"accept", b"text/csv"), (b"host", b"a")])
    ask(cache, **{"headers": [(b"accept", b"text/csv"), (b"host", b"a")], **other})
    assert inner.calls == 2


@pytest.mark.parametrize(
    "query",
    [
        "SELECT (RAND() AS ?r) {}",
        "SELECT (now ( ) AS ?t) {}",
        "SELECT (STRUUID() AS ?u) {}",
        "SELECT (UUID() AS ?u) {}",
        "CONSTRUCT { ?s ?p ?o } WHERE { BIND (BNODE() AS ?s) }",
    ],
)
def test_a_query_whose_value_changes_between_runs_always_runs(query):
    inner = CountingApp()
    cache = AnswerCache(inner, 1 << 20)
    assert ask(cache, query)[2] != ask(cache, query)[2]
    assert inner.calls == 2


@pytest.mark.parametrize("app", [CountingApp(status=503), CountingApp(chunks=3)])
def test_refusals_and_streamed_answers_are_not_kept(app):
    cache = AnswerCache(app, 1 << 20)
    ask(cache)
    ask(cache)
    assert app.calls == 2 and not cache.entries


def test_the_cache_holds_no_more_than_its_capacity_least_recently_used_out():
    inner = CountingApp(size=1000)
    cache = AnswerCache(inner, 16 * 2000)  # room for about twenty answers of 1.5 KB
    for i in range(100):
        ask(cache, f"SELECT * {{}} LIMIT {i}")
    assert cache.size <= cache.capacity and 10 <= len(cache.entries) < 100
    calls = inner.calls
    ask(cache, "SELECT * {} LIMIT 99")  # the newest is kept
    assert inner.calls == calls
    ask(cache, "SELECT * {} LIMIT 0")  # the oldest is gone
    assert inner.calls == calls + 1


def test_an_answer_over_a_sixteenth_of_the_capacity_is_not_kept():
    inner = CountingApp(size=5000)
    cache = AnswerCache(inner, 16 * 4000)
    ask(cache)
    assert not cache.entries


@pytest.mark.slow
def test_the_real_server_answers_a_repeat_from_the_cache_with_the_same_headers(bundled_graph):
    running = LoopbackServer(bundled_graph, cache=8)
    try:
        first = running.sparql(MINISTERS_QUERY, "application/sparql-results+json")
        again = running.sparql(MINISTERS_QUERY, "application/sparql-results+json")
        cache = running.httpd.config.app
        assert isinstance(cache, AnswerCache) and len(cache.entries) == 1
        assert first[0] == again[0] == 200 and first[2] == again[2]
        assert json.loads(again[2])["results"]["bindings"]
        for name in ("Content-Type", "Kzld-Rows", "Vary", "Access-Control-Allow-Origin"):
            assert again[1][name] == first[1][name]
    finally:
        running.stop()


@pytest.mark.slow
def test_cache_zero_serves_without_one(bundled_graph):
    running = LoopbackServer(bundled_graph, cache=0)
    try:
        assert not isinstance(running.httpd.config.app, AnswerCache)
        assert running.sparql(MINISTERS_QUERY)[0] == 200
        assert b"cache: none" in running.get("/sparql/limits")[2]
    finally:
        running.stop()
