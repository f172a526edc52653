"""A guard that refuses network access from commands that must work offline.

rdflib and friends open URLs on their own (SERVICE, FROM, remote JSON-LD contexts); an
audit hook sees every socket connection and name lookup, whichever library makes it.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
from collections.abc import Iterator

from kzld.errors import NetworkRefused

_allowed_hosts: contextvars.ContextVar[frozenset[str] | None] = contextvars.ContextVar(
    "kzld_allowed_hosts", default=None
)
_installed = False
_active = False

# sendto and sendmsg: a UDP datagram (a DNS query of its own) needs no connect.
_EVENTS = {
    "socket.connect",
    "socket.sendto",
    "socket.sendmsg",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "urllib.Request",
}


def _host_of(event: str, args: tuple) -> str | None:
    try:
        if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
            address = args[1]
            return str(address[0]) if isinstance(address, tuple) else None
        if event in ("socket.getaddrinfo", "socket.gethostbyname"):
            return str(args[0])
        if event == "urllib.Request":
            from urllib.parse import urlsplit

            return urlsplit(args[0]).hostname
    except (IndexError, TypeError):
        return None
    return None


def _hook(event: str, args: tuple) -> None:
    if not _active or event not in _EVENTS:
        return
    host = _host_of(event, args)
    if host is None:  # Unix sockets and the like: not network access
        return
    allowed = _allowed_hosts.get()
    if allowed is not None and host in allowed:
        return
    raise NetworkRefused(
        f"network access to {host!r} refused: this command works offline",
        hint="only --endpoint commands and 'kzld reconcile' may reach the network",
    )


def deny_network() -> None:
    """From now on, refuse every connection not explicitly allowed with allow_hosts()."""
    global _installed, _active
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True
    _active = True


def lift_network_guard() -> None:
    """Stop refusing connections (the hook stays installed but idle), e.g. after a command."""
    global _active
    _active = False


def network_denied() -> bool:
    return _active


@contextlib.contextmanager
def allow_hosts(*hosts: str) -> Iterator[None]:
    """Let the code in this block reach these hosts (and only these)."""
    import socket

    names: set[str] = set()
    for host in hosts:
        if not host:
            continue
        names.add(host)
        # A connection is made to the resolved address; allow it too.
        with contextlib.suppress(OSError):
            for info in _resolve(socket, host):
                names.add(info)
    token = _allowed_hosts.set(frozenset(names))
    try:
        yield
    finally:
        _allowed_hosts.reset(token)


def _resolve(socket_module, host: str) -> set[str]:
    token = _allowed_hosts.set(frozenset({host}))
    try:
        return {info[4][0] for info in socket_module.getaddrinfo(host, None)}
    finally:
        _allowed_hosts.reset(token)
