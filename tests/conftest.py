"""Shared fixtures: the network block, CLI runners, the bundled graph, the shared folder, a
server on loopback."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
NETBLOCK = Path(__file__).resolve().parent / "_netblock"

# Block the network for this process exactly as for the subprocesses we start.
sys.path.insert(0, str(NETBLOCK))
import sitecustomize as _netblock  # noqa: E402

sys.path.remove(str(NETBLOCK))
assert socket.getaddrinfo is _netblock.getaddrinfo


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def subprocess_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a child process: network blocked, no colour, deterministic."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(NETBLOCK), str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    env.setdefault("NO_COLOR", "1")
    env["COLUMNS"] = "200"
    if extra:
        env.update(extra)
    return env


@pytest.fixture
def run_kzld():
    """Run `python -m kzld ARGS` in a child process with the network blocked."""

    def run(
        *args: str,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        input: str | None = None,
        timeout: float = 300,
    ) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "kzld", *map(str, args)],
            cwd=cwd or ROOT,
            env=subprocess_env(env),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def kzld(capsys):
    """Run the kzld command line in this process; faster than a child process."""
    from kzld.cli import run

    def invoke(*args: str) -> Result:
        code = run([str(a) for a in args])
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return invoke


@pytest.fixture(scope="session")
def bundled_graph():
    """The bundled ontology and data, loaded once through kzld's load path."""
    from kzld.loading.graph import load_graph
    from kzld.loading.resources import default_data_paths

    return load_graph(default_data_paths())


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    seeds = SHARED / "seeds"
    if not seeds.is_dir():
        pytest.skip("../shared/seeds is absent: the source articles are not on this machine")
    return seeds


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    ref = SHARED / "reference"
    if not ref.is_dir():
        pytest.skip("../shared/reference is absent on this machine")
    return ref


def require_program(name: str, package: str) -> str:
    """Path of a program the tests need: the venv's own bin first, then PATH.

    Missing locally, the test skips with a reason; in CI (env CI set) a missing program is
    an installation bug, so the test fails instead of hiding behind a skip.
    """
    import shutil

    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        message = f"{name} is not installed ({package})"
        if os.environ.get("CI"):
            pytest.fail(message + " but CI must have it")
        pytest.skip(message)
    return found


@pytest.fixture
def listener():
    """A TCP listener on 127.0.0.1; the list holds what each connection sent."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    accepted: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                connection.settimeout(1)
                try:
                    accepted.append(connection.recv(1024) or b"(connected)")
                except OSError:
                    accepted.append(b"(connected)")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join(2)
    server.close()


class LoopbackServer:
    """kzld's server on a free 127.0.0.1 port, in a background thread; `stop()` ends it."""

    def __init__(self, graph, publication=None, **limits):
        # Imported here: most tests never start a server.
        from kzld.web.server import KzldServer, Limits

        self.httpd = KzldServer(
            graph, "127.0.0.1", 0, Limits(**limits), quiet=True, publication=publication
        )
        self.host, self.port = self.httpd.server_address[:2]
        self.httpd.start()

    def stop(self):
        self.httpd.shutdown()

    def connection(self, timeout=30):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, target, body=None, headers=None):
        """One request on a connection of its own: (status, headers, body)."""
        conn = self.connection()
        try:
            conn.request(method, target, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def get(self, target, accept=None):
        return self.request("GET", target, headers={"Accept": accept} if accept else {})

    def sparql(self, query, accept=None, method="GET", extra=""):
        """The query by GET (`extra` appended to the target) or as a POSTed form."""
        if method == "GET":
            return self.get("/sparql?" + urlencode({"query": query}) + extra, accept)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if accept:
            headers["Accept"] = accept
        return self.request("POST", "/sparql", urlencode({"query": query}), headers)
