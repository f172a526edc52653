"""SPARQL in worker processes that can be stopped: each query runs in a process forked from
a copy of the loaded store, under a hard deadline and a memory cap; past either the process
is killed (never abandoned) and a fresh one takes its place.

One single-threaded "zygote" process is forked before the server starts any thread; it
holds the store and forks every worker, so a worker is a cheap copy-on-write copy whatever
the size of the data, and no fork ever happens in the threaded server. The server talks to
each worker over its own Unix socket; the zygote tells it how each worker ended.

Lanes: at most ``long_lanes`` queries may run past ``quick`` seconds; the other workers only
ever run a query for ``quick`` seconds. So however many runaway queries arrive, short
queries (an ASK, a lookup) always find a worker within about ``quick`` seconds; a query
that needs longer when every long lane is taken is stopped and told so.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import faulthandler
import functools
import json
import os
import resource
import select
import signal
import socket
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html import escape

import pyoxigraph as ox

from kzld.errors import UsageError
from kzld.loading.sandbox import forbid_outbound_network
from kzld.sparql_text import check_read_only

RESULTS_JSON = "application/sparql-results+json"
RESULTS_XML = "application/sparql-results+xml"
CSV = "text/csv"
TSV = "text/tab-separated-values"
_RESULT_FORMATS = {
    RESULTS_JSON: ox.QueryResultsFormat.JSON,
    RESULTS_XML: ox.QueryResultsFormat.XML,
    CSV: ox.QueryResultsFormat.CSV,
    TSV: ox.QueryResultsFormat.TSV,
}
# What stops a server; held back while it starts (KzldServer.serve_forever).
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
_FRAME = struct.Struct("!cI")  # kind (H header, D data, E end), length
_CHUNK = 1 << 16
_LONG_NICE = 15  # a query past the quick lane gives way to every other query too
_WHOLE = 1 << 18  # answers up to this size are sent with a Content-Length, the rest streamed


class QueryFailed(Exception):
    """A query that got no answer: the HTTP status, a one-line message, a hint."""

    def __init__(self, status: int, message: str, hint: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Answer:
    """The start of an answer: its media type, whether the row cap cut it, and its bytes,
    which keep coming from the worker while the caller sends them on."""

    media: str
    truncated: bool
    rows: int
    head: bytes  # the whole answer when rest is None
    rest: AsyncIterator[bytes] | None


# --- the worker process ---------------------------------------------------------------------


class _Writer:
    """A file for pyoxigraph's serializers that frames what they write; a small answer
    (header, data, end) leaves in one send."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.pending = bytearray()

    def header(self, header: dict) -> None:
        data = json.dumps(header).encode()
        self.pending += _FRAME.pack(b"H", len(data)) + data

    def write(self, data: bytes) -> int:
        for start in range(0, len(data), _CHUNK):
            piece = data[start : start + _CHUNK]
            self.pending += _FRAME.pack(b"D", len(piece))
            self.pending += piece
        if len(self.pending) >= _CHUNK:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.pending:
            self.sock.sendall(self.pending)
            self.pending = bytearray()

    def end(self) -> None:
        self.pending += _FRAME.pack(b"E", 0)
        self.flush()


class _Rows:
    """A file for the TSV serializer that keeps the header and the first ``cap`` rows, and
    stops the evaluation at the row after them: TSV writes one solution a line."""

    class Full(Exception):
        pass

    def __init__(self, cap: int):
        self.cap = cap
        self.parts: list[bytes] = []
        self.lines = 0
        self.truncated = False

    def write(self, data: bytes) -> int:
        data = bytes(data)
        newlines = data.count(b"\n")
        if self.lines + newlines > self.cap:  # line 0 is the header
            keep = self.cap + 1 - self.lines
            end = -1
            for _ in range(keep):
                end = data.index(b"\n", end + 1)
            self.parts.append(data[: end + 1])
            self.lines = self.cap + 1
            self.truncated = True
            raise self.Full()
        self.parts.append(data)
        self.lines += newlines
        return len(data)

    def flush(self) -> None:
        pass


def _note(cap: int, what: str) -> str:
    return f"kzld: answer cut at {cap} {what}; page with LIMIT and OFFSET for the rest"


def _linked(body: bytes, media: str, link: str, cap: int) -> bytes:
    """A results document that says in its head it was cut: the formats' own "link" to
    metadata (SPARQL 1.1 JSON and XML results), pointing at the server's limits page; XML
    also carries the sentence as a comment."""
    if media == RESULTS_JSON:
        end = body.index(b"]", body.index(b'"vars":['))
        return body[: end + 1] + b',"link":' + json.dumps([link]).encode() + body[end + 1 :]
    end = body.index(b"</head>")
    note = f"<!-- {_note(cap, 'rows')} -->".encode()
    return body[:end] + f'<link href="{escape(link)}"/>'.encode() + body[end:] + note


def _answer(store: ox.Store, request: dict, sock: socket.socket, prefixes: dict) -> None:
    """Evaluate one query and send its header, its data frames and the end frame."""
    media_for = request["media"]
    cap = request["max_rows"]
    out = _Writer(sock)
    refusal = _refusal(request["query"])
    if refusal is not None:
        out.header(refusal)
        out.flush()
        return
    try:
        result = store.query(request["query"])
    except SyntaxError as err:
        out.header({"status": 400, "message": f"SPARQL syntax error: {err}"})
        out.flush()
        return
    if isinstance(result, ox.QueryBoolean):
        kind = "boolean"
    elif isinstance(result, ox.QuerySolutions):
        kind = "solutions"
    else:
        kind = "graph"
    media = media_for.get(kind)
    if media is None:
        out.header({"status": 406, "kind": kind})
        out.flush()
        return
    if kind == "boolean":
        out.header({"status": 200, "media": media, "truncated": False, "rows": 1})
        result.serialize(out, format=_RESULT_FORMATS[media])
    elif kind == "solutions":
        rows = _Rows(cap)
        with contextlib.suppress(_Rows.Full):
            result.serialize(rows, format=ox.QueryResultsFormat.TSV)
        del result
        tsv = b"".join(rows.parts)
        head = {"status": 200, "media": media, "truncated": rows.truncated}
        out.header(head | {"rows": max(0, rows.lines - 1)})
        if media == TSV:  # CSV and TSV have no room for a note: the header says it
            out.write(tsv)
        else:
            parsed = ox.parse_query_results(tsv, format=ox.QueryResultsFormat.TSV)
            if rows.truncated and media != CSV:
                body = parsed.serialize(format=_RESULT_FORMATS[media])
                out.write(_linked(body, media, request["limits_link"], cap))
            else:
                parsed.serialize(out, format=_RESULT_FORMATS[media])
    else:
        triples: list[ox.Triple] = []
        truncated = False
        for triple in result:
            if len(triples) == cap:
                truncated = True
                break
            triples.append(triple)
        del result
        out.header({"status": 200, "media": media, "truncated": truncated, "rows": len(triples)})
        if truncated and media != "application/ld+json":  # JSON-LD has no comments
            out.write(f"# {_note(cap, 'triples')}\n".encode())
        fmt = _GRAPH_FORMATS[media]
        if fmt == ox.RdfFormat.TURTLE:
            ox.serialize(triples, out, format=fmt, prefixes=prefixes)
        else:
            ox.serialize(triples, out, format=fmt)
    out.end()


def _refusal(text: str) -> dict | None:
    """Updates, SERVICE, LOAD and FROM, refused by the grammar-exact lexer before
    pyoxigraph sees the text: no second parser and no lock, and in the worker, so a long
    query's lexing holds up no other client. Clients send the same queries again and
    again: the verdicts on short ones are remembered."""
    if len(text) <= 4096:
        return _short_refusal(text)
    return _lex(text)


@functools.lru_cache(maxsize=1024)
def _short_refusal(text: str) -> dict | None:
    return _lex(text)


def _lex(text: str) -> dict | None:
    try:
        check_read_only(text, "the query")
    except UsageError as err:
        message = err.message
        if any(f" {word} " in message for word in _UPDATES):
            message = f"SPARQL updates are refused: this endpoint is read-only ({message})"
        return {"status": 400, "message": message, "hint": err.hint}
    return None


_UPDATES = ("INSERT", "DELETE", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH")

_GRAPH_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
}


def _send_header(sock: socket.socket, header: dict) -> None:
    data = json.dumps(header).encode()
    sock.sendall(_FRAME.pack(b"H", len(data)) + data)


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    parts, left = [], size
    while left:
        piece = sock.recv(left)
        if not piece:
            return None
        parts.append(piece)
        left -= len(piece)
    return b"".join(parts)


def _worker_main(sock: socket.socket, store: ox.Store, memory: int, prefixes: dict) -> None:
    """A worker's life: guard the process, then answer queries until the socket closes."""
    die_with_parent()
    # Quiet: an allocation failing at the cap makes Rust print a backtrace; the server
    # says what happened.
    faulthandler.disable()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    # The second guard, under the lexer's: the kernel refuses this process any socket
    # but its Unix one, so not even a lexer bug lets a query reach the network.
    guard = forbid_outbound_network()
    if memory:
        # Room for the query above what the copy of the store already maps.
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = _mapped_bytes() + memory
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    _send_header(sock, {"status": 0, "guard": guard})
    while True:
        head = _recv_exactly(sock, 4)
        if head is None:
            return
        data = _recv_exactly(sock, struct.unpack("!I", head)[0])
        if data is None:
            return
        request = json.loads(data)
        try:
            _answer(store, request, sock, prefixes)
        except MemoryError:
            _send_header(sock, {"status": 507})
            return
        except (BrokenPipeError, ConnectionResetError):
            return
        except Exception as err:  # the query's own failure, told to the client
            _send_header(sock, {"status": 500, "message": f"the query failed: {err}"})
            return


def _mapped_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def die_with_parent() -> None:
    """SIGKILL when the parent dies: no worker outlives its server."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


# --- the zygote --------------------------------------------------------------------------------


def _zygote_main(control: socket.socket, store: ox.Store, memory: int, prefixes: dict) -> None:
    """Fork a worker for each request on the control socket; report each worker's end."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # blocked by serve_forever
    # A worker's end wakes the loop at once: SIGCHLD writes to this pipe.
    wake, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    while True:
        ready, _, _ = select.select([control, wake], [], [])
        if wake in ready:
            os.read(wake, 512)
        _reap(control)
        if control not in ready:
            continue
        message = control.recv(64)
        if not message:
            return  # the server is gone
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                control.close()
                ours.close()
                os.close(wake)
                os.close(wake_write)
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                _worker_main(theirs, store, memory, prefixes)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        theirs.close()
        socket.send_fds(control, [b"W" + struct.pack("!i", pid)], [ours.fileno()])
        ours.close()


def _reap(control: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        code = os.waitstatus_to_exitcode(status)
        with contextlib.suppress(OSError):
            control.send(b"X" + struct.pack("!ii", pid, code))


# --- the pool, in the server's event loop ------------------------------------------------------
#
# Pool admits queries (an idle worker, or 503 after the timeout); _Exchange is one query's
# conversation with its worker under the lane deadlines (_Lanes); _Zygote forks the
# workers and says how each ended; _Worker is one worker process and its socket.


class _Worker:
    def __init__(self, pid: int, sock: socket.socket):
        self.pid = pid
        self.sock = sock
        self.pidfd: int | None = None
        with contextlib.suppress(OSError, AttributeError):
            self.pidfd = os.pidfd_open(pid)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.killed = False
        self.niced = False

    def nice(self) -> None:
        """A long query yields the processor to short ones; its worker is not reused."""
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, self.pid, _LONG_NICE)
            self.niced = True

    def kill(self) -> None:
        if self.killed:
            return
        self.killed = True
        with contextlib.suppress(OSError):
            if self.pidfd is not None:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)
        self.close()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        else:
            self.sock.close()
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None


class _Zygote:
    """The zygote process, seen from the server: forked at once (before any thread), it
    forks a worker whenever asked, hands back the worker's socket, and reports each
    worker's end, all over one control socket read in the event loop."""

    def __init__(self, store: ox.Store, memory: int, prefixes: dict):
        control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                control.close()
                _zygote_main(theirs, store, memory, prefixes)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        theirs.close()
        self.pid = pid
        self.guard: str | None = None  # what the workers' kernel guard is (None: none)
        self._control = control
        self._listening = False
        self._spawned: asyncio.Queue[_Worker] | None = None  # made in the loop, in listen()
        self._ends: dict[int, int] = {}  # pid -> exit code (or -signal), until asked for
        self._ended: asyncio.Event | None = None

    def listen(self) -> None:
        """Read the zygote's messages in the running loop from now on."""
        self._spawned = asyncio.Queue()
        self._ended = asyncio.Event()
        self._control.setblocking(False)
        asyncio.get_running_loop().add_reader(self._control.fileno(), self._on_message)
        self._listening = True

    # The zygote's messages: a new worker (with its socket) or a worker's end.
    def _on_message(self) -> None:
        try:
            message, fds, _flags, _addr = socket.recv_fds(self._control, 64, 1)
        except BlockingIOError:
            return
        except OSError:
            message, fds = b"", []
        if not message:
            asyncio.get_running_loop().remove_reader(self._control.fileno())
            return
        if message[:1] == b"W":
            (pid,) = struct.unpack("!i", message[1:5])
            self._spawned.put_nowait(_Worker(pid, socket.socket(fileno=fds[0])))
        elif message[:1] == b"X":
            pid, code = struct.unpack("!ii", message[1:9])
            self._ends[pid] = code
            self._ended.set()
            self._ended = asyncio.Event()

    async def spawn(self) -> _Worker:
        """A new worker, once it says it is ready (and how it is guarded)."""
        await asyncio.get_running_loop().sock_sendall(self._control, b"F")
        worker = await asyncio.wait_for(self._spawned.get(), 30)
        worker.sock.setblocking(False)
        worker.reader, worker.writer = await asyncio.open_unix_connection(sock=worker.sock)
        kind, size = _FRAME.unpack(await asyncio.wait_for(worker.reader.readexactly(5), 30))
        ready = json.loads(await worker.reader.readexactly(size))
        self.guard = ready.get("guard")
        return worker

    async def end_of(self, worker: _Worker) -> int | None:
        """How a worker that closed its socket ended (exit code, or -signal)."""
        deadline = time.monotonic() + 1.0
        while worker.pid not in self._ends and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ended.wait(), deadline - time.monotonic())
        return self._ends.pop(worker.pid, None)

    def close(self) -> None:
        """Stop listening and kill the zygote (its workers die with it)."""
        if self._listening:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._control.fileno())
        self._control.close()
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


class Pool:
    """Worker processes for SPARQL queries, with a quick and a long lane."""

    def __init__(
        self,
        store: ox.Store,
        *,
        workers: int = 4,
        long_lanes: int = 2,
        timeout: float = 10.0,
        quick: float = 1.0,
        memory: int = 1 << 30,
        prefixes: dict[str, str] | None = None,
    ):
        if not 0 < long_lanes < workers:
            raise ValueError("long lanes must leave at least one worker for quick queries")
        self.size = workers
        self.long_lanes = long_lanes
        self.timeout = timeout
        self.quick = min(quick, timeout)
        self.memory = memory
        self.lanes = _Lanes(long_lanes)
        self._idle: asyncio.Queue[_Worker] | None = None  # made in the loop, in start()
        self._zygote = _Zygote(store, memory, prefixes or {})

    @property
    def zygote(self) -> int:
        """The zygote's process id: every worker is its child."""
        return self._zygote.pid

    @property
    def guard(self) -> str | None:
        """The kernel's guard on the workers (seccomp or Landlock), None where there is none."""
        return self._zygote.guard

    async def start(self) -> None:
        self._idle = asyncio.Queue()
        self._zygote.listen()
        workers = await asyncio.gather(*(self._zygote.spawn() for _ in range(self.size)))
        for worker in workers:
            self._idle.put_nowait(worker)

    async def close(self) -> None:
        if self._idle is not None:
            while not self._idle.empty():
                self._idle.get_nowait().kill()
        self._zygote.close()

    async def run(
        self, query: str, media: dict[str, str | None], max_rows: int, limits_link: str
    ) -> Answer:
        """Run one query; its answer, or QueryFailed saying truthfully what happened.
        limits_link: the IRI a cut answer links to for what the limits are."""
        exchange = _Exchange(self, await self._idle_worker())
        request = json.dumps(
            {"query": query, "media": media, "max_rows": max_rows, "limits_link": limits_link}
        ).encode()
        return await exchange.answer(request)

    async def _idle_worker(self) -> _Worker:
        """Admission: an idle worker, waited for up to the timeout."""
        if not self._idle.empty():
            return self._idle.get_nowait()
        try:
            async with asyncio.timeout(self.timeout):
                return await self._idle.get()
        except TimeoutError:
            raise QueryFailed(
                503,
                f"every query worker stayed busy for {self.timeout:g} s",
                hint="retry in a moment",
            ) from None

    def _give_back(self, worker: _Worker, keep: bool) -> None:
        """A worker whose exchange ended: idle again if its state is known to be clean."""
        if keep and not worker.niced:
            self._idle.put_nowait(worker)
        else:
            self._replace(worker)

    def _replace(self, worker: _Worker) -> None:
        worker.kill()

        async def fresh() -> None:
            self._idle.put_nowait(await self._zygote.spawn())

        asyncio.get_running_loop().create_task(fresh())


class _Lanes:
    """The long lanes: how many queries may run past the quick deadline at once."""

    def __init__(self, count: int):
        self.count = count
        self.taken = 0

    def take(self) -> bool:
        if self.taken < self.count:
            self.taken += 1
            return True
        return False

    def give_back(self) -> None:
        self.taken -= 1


class _Exchange:
    """One query on one worker, from the request to the end frame. Every read is bounded
    by the query's deadline: ``quick`` seconds, or the whole timeout once the query holds
    a long lane. When the exchange ends the worker goes back to the pool, or is killed and
    replaced if its state is unknown (stopped, cancelled, niced, failed mid-answer)."""

    def __init__(self, pool: Pool, worker: _Worker):
        self.pool = pool
        self.worker = worker
        self.started = time.monotonic()  # the deadline counts the query's own time only
        self.long = False  # whether the query holds a long lane

    async def answer(self, request: bytes) -> Answer:
        """Send the request; the answer, whole if it ends within _WHOLE bytes, else its
        start and the rest to come (rest())."""
        owned = True  # until the worker is back in the pool or handed to the rest
        try:
            self.worker.writer.write(struct.pack("!I", len(request)) + request)
            kind, size = await self.frame()
            header = json.loads(await self.read(size))
            status = header["status"]
            if status != 200:
                owned = False
                self.finish(keep=status in (400, 406))
                raise _failure(header, self.pool.memory)
            # What arrives up to _WHOLE bytes: a small answer goes out whole, with its length.
            parts, received = [], 0
            while received < _WHOLE:
                kind, size = await self.frame()
                if kind == b"E":
                    owned = False
                    self.finish(keep=True)
                    return Answer(
                        header["media"], header["truncated"], header["rows"], b"".join(parts), None
                    )
                data = await self.read(size)
                if kind != b"D":  # the worker failed while writing
                    raise _failure(json.loads(data), self.pool.memory)
                parts.append(data)
                received += len(data)
            owned = False
            return Answer(
                header["media"], header["truncated"], header["rows"], b"".join(parts), self.rest()
            )
        except _Stopped as stop:
            owned = False
            self.abandon()
            raise stop.failure from None
        except (asyncio.IncompleteReadError, ConnectionError):
            owned = False
            self.release_lane()
            code = await self.pool._zygote.end_of(self.worker)
            self.pool._replace(self.worker)
            raise _died(code, self.pool.memory) from None
        finally:
            if owned:
                # Cancelled (the client left) or failed here: the worker's state is unknown.
                self.abandon()

    async def rest(self) -> AsyncIterator[bytes]:
        """The answer's data past its start, as the worker sends it."""
        finished = False
        try:
            while True:
                kind, size = await self.frame()
                if kind == b"E":
                    finished = True
                    break
                data = await self.read(size)
                if kind != b"D":  # a failure while writing: the answer cannot be finished
                    break
                yield data
        except (_Stopped, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if finished:
                self.finish(keep=True)
            else:
                # Stopped mid-answer (deadline, client gone): the worker goes, and the
                # response ends short of its length, which a client sees as an error.
                self.abandon()

    async def frame(self) -> tuple[bytes, int]:
        return _FRAME.unpack(await self.read(_FRAME.size))

    async def read(self, size: int) -> bytes:
        """Bytes from the worker, within the query's lane deadline. At the quick deadline
        the query moves to a long lane if one is free (its worker niced), or is stopped."""
        pool = self.pool
        while True:
            limit = self.started + (pool.timeout if self.long else pool.quick)
            left = limit - time.monotonic()
            if left <= 0:
                if not self.long and pool.quick < pool.timeout:
                    if pool.lanes.take():
                        self.long = True
                        self.worker.nice()
                        continue
                    raise _Stopped(_lanes_taken(pool.quick, pool.long_lanes))
                raise _Stopped(_past_deadline(pool.timeout))
            try:
                async with asyncio.timeout(left):
                    return await self.worker.reader.readexactly(size)
            except TimeoutError:
                continue

    def finish(self, keep: bool) -> None:
        """The exchange is over: the lane is free, the worker kept if keep and clean."""
        self.release_lane()
        self.pool._give_back(self.worker, keep)

    def abandon(self) -> None:
        """The exchange is over in an unknown state: the worker is killed and replaced."""
        self.release_lane()
        self.pool._replace(self.worker)

    def release_lane(self) -> None:
        if self.long:
            self.long = False
            self.pool.lanes.give_back()


class _Stopped(Exception):
    def __init__(self, failure: QueryFailed):
        self.failure = failure


def _lanes_taken(quick: float, long_lanes: int) -> QueryFailed:
    return QueryFailed(
        503,
        f"the query needed more than {quick:g} s while all "
        f"{long_lanes} lanes for long queries were taken; it was "
        "stopped (its worker process killed)",
        hint="retry in a moment, or narrow the query",
    )


def _past_deadline(timeout: float) -> QueryFailed:
    return _too_big(f"ran past the {timeout:g} s time limit", "killed")


def _failure(header: dict, memory: int) -> QueryFailed:
    status = header["status"]
    if status == 406:
        return QueryFailed(406, "none of the accepted media types can be produced", header["kind"])
    if status == 507:
        return _memory_failure(memory)
    return QueryFailed(status, header.get("message", "the query failed"), header.get("hint"))


def _memory_failure(memory: int) -> QueryFailed:
    return _too_big(f"needed more than the {memory >> 20} MiB memory allowed to one query", "ended")


def _too_big(what: str, worker: str) -> QueryFailed:
    return QueryFailed(
        503,
        f"the query {what}; it was stopped (its worker process {worker})",
        hint="narrow the query or add a LIMIT",
    )


def _died(code: int | None, memory: int) -> QueryFailed:
    # Rust aborts when an allocation fails: at the memory cap, that is SIGABRT.
    if code == -signal.SIGABRT:
        return _memory_failure(memory)
    how = f"signal {signal.Signals(-code).name}" if code and code < 0 else f"exit code {code}"
    return QueryFailed(500, f"the query's worker process died ({how}); a new one took its place")
