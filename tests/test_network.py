"""The network guard: local commands refuse every connection, whichever library tries."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from kzld.errors import NetworkRefused
from kzld.loading.network import allow_hosts, deny_network, lift_network_guard, network_denied


@pytest.fixture
def guarded():
    deny_network()
    yield
    lift_network_guard()


@pytest.fixture
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    yield server.getsockname()[1]
    server.close()


def test_guard_refuses_even_loopback_connections(guarded, listener):
    with pytest.raises(NetworkRefused, match="works offline"):
        socket.create_connection(("127.0.0.1", listener), timeout=1)


def test_guard_refuses_a_udp_datagram_without_connect(guarded):
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(0.3)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with pytest.raises(NetworkRefused, match="works offline"):
            sender.sendto(b"query", receiver.getsockname())
        with pytest.raises(TimeoutError):
            receiver.recv(16)  # nothing arrived
    finally:
        sender.close()
        receiver.close()


def test_guard_refuses_name_lookups(guarded):
    with pytest.raises(NetworkRefused):
        socket.getaddrinfo("localhost", 80)


def test_guard_refuses_urllib_before_any_socket(guarded):
    with pytest.raises(NetworkRefused):
        urllib.request.urlopen("http://127.0.0.1:9/never", timeout=1)


def test_rdflib_remote_parse_is_refused(guarded):
    rdflib = pytest.importorskip("rdflib")
    with pytest.raises(NetworkRefused):
        rdflib.Graph().parse("http://127.0.0.1:9/data.ttl", format="turtle")


def test_allow_hosts_opens_exactly_the_named_host(guarded, listener):
    with allow_hosts("127.0.0.1"):
        socket.create_connection(("127.0.0.1", listener), timeout=1).close()
    with pytest.raises(NetworkRefused):
        socket.create_connection(("127.0.0.1", listener), timeout=1)


def test_cli_commands_lift_the_guard_after(kzld):
    result = kzld("query", "conflicts", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert "Zhambyl" in result.stdout
    assert not network_denied()


def test_guard_is_on_while_a_command_runs():
    from kzld.cli import app, run

    states = []

    @app.command("probe-network-state", hidden=True)
    def probe() -> None:
        states.append(network_denied())

    try:
        assert run(["probe-network-state"]) == 0
    finally:
        app.registered_commands = [
            c for c in app.registered_commands if c.name != "probe-network-state"
        ]
    assert states == [True]
    assert not network_denied()
