"""Serving, side by side: `kzld serve` and `oxigraph serve-read-only` on the same build, on
127.0.0.1, under one bounded load generator; prints one table and the targets of issue 15,
pass or fail (exit 0 only when every target passes).

    python benchmarks/serve.py [--requests 5000] [--concurrency 32] [--slowloris 200]
        [--slowloris-seconds 60] [--heavy-seconds 20] [--data DIR_OR_FILE ...]

The load generator is plain asyncio over raw sockets (HTTP/1.1 keep-alive, one request in
flight per connection): every loop is bounded in count and in time, and every address is
127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # the only address any request here goes to
SIMPLE = (
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
    "SELECT ?name WHERE { <https://w3id.org/kzld/id/person/murat-bektanov> rdfs:label ?name }"
)
ASK = "ASK { <https://w3id.org/kzld/id/person/murat-bektanov> ?p ?o }"
HEAVY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l } ORDER BY ?n"
RUNAWAY = "SELECT * { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l } ORDER BY ?c ?f ?i ?l"


def successors_query() -> str:
    text = (ROOT / "queries" / "successors.rq").read_text(encoding="utf-8")
    # The .rq header's parameters bind nothing here: the query as published.
    return text


# --- the load generator -------------------------------------------------------------------------


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    seconds: float = 0.0

    def add(self, status: int, latency: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.append(latency)

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)

    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closes it."""

    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, target: str, accept: str, timeout: float) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        head = (
            f"GET {target} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\nAccept: {accept}\r\n\r\n"
        ).encode("ascii")
        try:
            async with asyncio.timeout(timeout):
                self.writer.write(head)
                status_line = await self.reader.readuntil(b"\r\n")
                status = int(status_line.split()[1])
                length, chunked, close = None, False, False
                while True:
                    line = await self.reader.readuntil(b"\r\n")
                    if line == b"\r\n":
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    name, value = name.strip().lower(), value.strip().lower()
                    if name == "content-length":
                        length = int(value)
                    elif name == "transfer-encoding" and "chunked" in value:
                        chunked = True
                    elif name == "connection" and value == "close":
                        close = True
                if chunked:
                    while True:
                        size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                        await self.reader.readexactly(size + 2)
                        if size == 0:
                            break
                elif length is not None:
                    await self.reader.readexactly(length)
                else:
                    await self.reader.read()
                    close = True
        except BaseException:
            self.close()
            raise
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def request_once(port: int, path: str, query: str, timeout: float, tally: Tally) -> None:
    """`query` sent on a connection of its own, closed after the answer; its status and
    latency, or an error, counted in `tally`."""
    conn = Connection(port)
    started = time.monotonic()
    try:
        status = await conn.request(
            f"{path}?query={quote(query)}", "application/sparql-results+json", timeout
        )
        tally.add(status, time.monotonic() - started)
    except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError):
        tally.errors += 1
    finally:
        conn.close()


async def load(
    port: int,
    path: str,
    query: str,
    requests: int,
    concurrency: int,
    limit_s: float,
    fresh: bool = False,
) -> Tally:
    """`requests` queries over `concurrency` connections, stopping at `limit_s` seconds.
    `fresh`: each request's text differs (a LIMIT above any row count, a new one each
    time), so no server can answer it from a cache of earlier answers."""
    target = f"{path}?query={quote(query)}"
    tally = Tally()
    left = [requests]
    stop_at = time.monotonic() + limit_s

    async def client() -> None:
        conn = Connection(port)
        try:
            while left[0] > 0 and time.monotonic() < stop_at:
                left[0] -= 1
                started = time.monotonic()
                wanted = target + quote(f" LIMIT {10**9 + left[0]}") if fresh else target
                try:
                    status = await conn.request(
                        wanted, "application/sparql-results+json", max(0.1, stop_at - started)
                    )
                except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError):
                    tally.errors += 1
                    continue
                tally.add(status, time.monotonic() - started)
        finally:
            conn.close()

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    tally.seconds = time.monotonic() - started
    return tally


async def slowloris(port: int, path: str, idle: int, seconds: float, normal: int) -> Tally:
    """`idle` connections that trickle a header a byte every few seconds (reopened when
    the server closes them) for `seconds`, while one client sends `normal` ordinary
    requests spread over the same time, each on a fresh connection."""
    stop_at = time.monotonic() + seconds
    tally = Tally()

    async def trickler(n: int) -> None:
        while time.monotonic() < stop_at:
            try:
                reader, writer = await asyncio.open_connection(HOST, port)
            except OSError:
                await asyncio.sleep(0.5)
                continue
            try:
                writer.write(f"GET {path}?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\n".encode())
                while time.monotonic() < stop_at and not reader.at_eof():
                    writer.write(b"X-a: b\r\n"[n % 7 : n % 7 + 1] or b"x")
                    await writer.drain()
                    await asyncio.sleep(2 + (n % 5) * 0.3)
            except OSError:
                pass
            finally:
                writer.close()

    async def normal_client() -> None:
        gap = seconds / (normal + 1)
        for _ in range(normal):
            await asyncio.sleep(gap)
            await request_once(port, path, ASK, 10, tally)

    started = time.monotonic()
    tricklers = [asyncio.ensure_future(trickler(n)) for n in range(idle)]
    await asyncio.sleep(1.0)  # every trickler connected before the first normal request
    await normal_client()
    for task in tricklers:
        task.cancel()
    await asyncio.gather(*tricklers, return_exceptions=True)
    tally.seconds = time.monotonic() - started
    return tally


async def heavy_round(port: int, path: str, seconds: float) -> tuple[Tally, Tally]:
    """Two worst-case queries kept running (each resent when answered) while an ASK is sent
    every half second; the ASKs' statuses and latencies."""
    stop_at = time.monotonic() + seconds
    heavy, asks = Tally(), Tally()

    async def hog(query: str) -> None:
        while time.monotonic() < stop_at:
            await request_once(port, path, query, max(0.1, stop_at - time.monotonic() + 5), heavy)

    async def asker() -> None:
        await asyncio.sleep(1.0)
        while time.monotonic() < stop_at:
            await request_once(port, path, ASK, 10, asks)
            await asyncio.sleep(0.5)

    hogs = [asyncio.ensure_future(hog(q)) for q in (HEAVY, RUNAWAY)]
    await asker()
    # The hogs' last queries may still run: they are left to the server's deadline.
    for task in hogs:
        task.cancel()
    await asyncio.gather(*hogs, return_exceptions=True)
    return heavy, asks


# --- the servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for(port: int, child: subprocess.Popen, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"serve.py: a server exited early (code {child.returncode})")
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("serve.py: a server did not start in time")


def start_kzld(public: Path, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "kzld", "serve", "--publication", str(public)]
    child = subprocess.Popen(
        [*command, "--port", str(port), "-q"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(port, child)
    return child


def oxigraph_program() -> str:
    found = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    if not Path(found).exists():
        raise SystemExit("serve.py: no `oxigraph` program: pip install oxigraph")
    return found


def start_oxigraph(public: Path, store: Path, port: int) -> subprocess.Popen:
    program = oxigraph_program()
    subprocess.run(
        [program, "load", "--location", str(store), "--file", str(public / "kzld.nt")],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    child = subprocess.Popen(
        [program, "serve-read-only", "--location", str(store), "--bind", f"{HOST}:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(port, child)
    return child


def build(out: Path, data: list[str]) -> Path:
    public = out / "public"
    extra = [arg for path in data for arg in ("--data", path)]
    subprocess.run(
        [sys.executable, "-m", "kzld", "build", "--out", str(public), *extra],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return public


# --- the run --------------------------------------------------------------------------------------


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds == seconds else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--slowloris", type=int, default=200, help="trickling connections")
    parser.add_argument("--slowloris-seconds", type=float, default=60)
    parser.add_argument("--normal", type=int, default=60, help="requests during slowloris")
    parser.add_argument("--heavy-seconds", type=float, default=20)
    parser.add_argument("--limit", type=float, default=120, help="seconds for one load round")
    parser.add_argument("--rounds", type=int, default=3, help="turns of each load round")
    parser.add_argument("--data", action="append", default=[], help="data for the build")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="kzld-serve-bench-") as scratch:
        public = build(Path(scratch), args.data)
        kzld_port, oxi_port = free_port(), free_port()
        servers = [start_kzld(public, kzld_port)]
        try:
            servers.append(start_oxigraph(public, Path(scratch) / "store", oxi_port))
            sides = {"kzld": (kzld_port, "/sparql"), "oxigraph": (oxi_port, "/query")}
            results: dict[str, dict[str, object]] = {name: {} for name in sides}

            def run(coroutine):
                return asyncio.run(coroutine)

            for port, path in sides.values():
                # A short warm-up: caches, lazily made pages, TCP slow start.
                run(load(port, path, SIMPLE, 200, 8, 10))
            # The servers take turns, round after round: a drift in a shared machine's
            # speed touches both alike. Each figure is the median of the rounds.
            for kind, query, count in (
                ("simple", SIMPLE, args.requests),
                ("successors", successors_query(), max(100, args.requests // 10)),
            ):
                for fresh in (False, True):
                    label = f"{kind}, each new" if fresh else kind
                    for name in sides:
                        results[name][label] = []
                    for _ in range(args.rounds):
                        for name, (port, path) in sides.items():
                            tally = run(
                                load(port, path, query, count, args.concurrency, args.limit, fresh)
                            )
                            results[name][label].append(tally)
            for name, (port, path) in sides.items():
                results[name]["slowloris"] = run(
                    slowloris(port, path, args.slowloris, args.slowloris_seconds, args.normal)
                )
            for name, (port, path) in sides.items():
                results[name]["heavy"] = run(heavy_round(port, path, args.heavy_seconds))
                time.sleep(2)  # the hogs' last queries end at the server's deadline
        finally:
            for child in servers:
                child.terminate()
            for child in servers:
                try:
                    child.wait(15)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()

    return report(results, args)


def median_of(rounds: list[Tally]) -> Tally:
    """The median round's rate; the latencies and statuses of every round together."""
    ordered = sorted(rounds, key=Tally.rate)
    middle = ordered[len(ordered) // 2]
    merged = Tally(seconds=middle.seconds, errors=sum(t.errors for t in rounds))
    for t in rounds:
        for status, n in t.statuses.items():
            merged.statuses[status] = merged.statuses.get(status, 0) + n
    merged.latencies = [x for t in rounds for x in t.latencies]
    merged.rate = middle.rate  # type: ignore[method-assign]
    return merged


def report(results: dict, args: argparse.Namespace) -> int:
    kinds = ("simple", "simple, each new", "successors", "successors, each new")
    for side in results.values():
        for kind in kinds:
            side[kind] = median_of(side[kind])
    rows = []
    for kind in kinds:
        for name in ("kzld", "oxigraph"):
            t: Tally = results[name][kind]
            query, _, how = kind.partition(", ")
            label = f"{query} x{args.concurrency}" + (f", {how}" if how else "")
            rows.append(
                f"| {label} | {name} | {t.rate():.0f} | "
                f"{fmt_ms(t.percentile(50))} | {fmt_ms(t.percentile(99))} | "
                f"{fmt_ms(max(t.latencies, default=float('nan')))} | {t.ok} | "
                f"{sum(n for s, n in t.statuses.items() if s != 200) + t.errors} |"
            )
    for name in ("kzld", "oxigraph"):
        t = results[name]["slowloris"]
        rows.append(
            f"| slowloris {args.slowloris} conns, {args.slowloris_seconds:g} s | {name} | - | "
            f"{fmt_ms(t.percentile(50))} | {fmt_ms(t.percentile(99))} | "
            f"{fmt_ms(max(t.latencies, default=float('nan')))} | {t.ok}/{args.normal} | "
            f"{args.normal - t.ok} |"
        )
    for name in ("kzld", "oxigraph"):
        heavy, asks = results[name]["heavy"]
        rows.append(
            f"| ASK during 2 heavy, {args.heavy_seconds:g} s | {name} | - | "
            f"{fmt_ms(asks.percentile(50))} | {fmt_ms(asks.percentile(99))} | "
            f"{fmt_ms(max(asks.latencies, default=float('nan')))} | {asks.ok} | "
            f"{sum(n for s, n in asks.statuses.items() if s != 200) + asks.errors} |"
        )
    print("| round | server | req/s | p50 | p99 | slowest | answered 200 | other |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))

    k, o = results["kzld"], results["oxigraph"]
    _, k_asks = k["heavy"]
    targets = [
        (
            "simple SELECT: kzld >= 50% of Oxigraph's req/s",
            k["simple"].rate() >= 0.5 * o["simple"].rate(),
            f"{k['simple'].rate():.0f} vs {o['simple'].rate():.0f} req/s",
        ),
        (
            "successors: kzld >= Oxigraph's req/s",
            k["successors"].rate() >= o["successors"].rate(),
            f"{k['successors'].rate():.0f} vs {o['successors'].rate():.0f} req/s",
        ),
        (
            "simple SELECT: kzld p99 <= 100 ms",
            k["simple"].percentile(99) <= 0.100,
            fmt_ms(k["simple"].percentile(99)),
        ),
        (
            f"slowloris: {args.normal}/{args.normal} normal requests answered",
            k["slowloris"].ok == args.normal,
            f"{k['slowloris'].ok}/{args.normal}",
        ),
        (
            "heavy round: no 503 for an ASK (and each under 1 s)",
            bool(k_asks.latencies)
            and k_asks.statuses.get(503, 0) == 0
            and k_asks.errors == 0
            and max(k_asks.latencies) < 1.0,
            f"{k_asks.ok} ASKs answered, {k_asks.statuses.get(503, 0)} 503, slowest "
            f"{fmt_ms(max(k_asks.latencies, default=float('nan')))}",
        ),
    ]
    print()
    for name, passed, figure in targets:
        print(f"{'PASS' if passed else 'FAIL'}  {name}: {figure}")
    return 0 if all(passed for _, passed, _ in targets) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
