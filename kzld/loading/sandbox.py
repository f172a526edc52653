"""An OS-level guard against outbound network access, for processes that run user SPARQL.

pyoxigraph evaluates SERVICE from Rust, out of reach of Python's audit hook
(kzld.network); a lexer bug alone must never reach the network, so the process that
executes a user's query also asks the kernel to refuse it:
- seccomp (through pyseccomp and libseccomp2): ``socket()`` fails for every family but
  AF_UNIX, so no TCP, UDP (DNS), raw or packet socket can be made; io_uring, which could
  make one without the syscall, is refused too;
- Landlock (ABI 4 and later, Linux 6.7+): TCP connect and bind are refused, for a socket
  made before the guard.
Both are irreversible for the process and the children it starts.
"""

from __future__ import annotations

import ctypes
import errno
import sys

_applied: str | None = None


def forbid_outbound_network() -> str | None:
    """Refuse, from now on and for good, every network socket in this process.

    Returns the mechanisms applied ("seccomp+landlock", "seccomp", "landlock") or None
    where the platform offers none; the audit hook of kzld.network is then the only guard."""
    global _applied
    if _applied is not None:
        return _applied
    if not sys.platform.startswith("linux"):
        return None
    used = [name for name, apply in (("seccomp", _seccomp), ("landlock", _landlock)) if apply()]
    _applied = "+".join(used) or None
    return _applied


def _seccomp() -> bool:
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError):  # not installed, or no libseccomp2 on the system
        return False
    import socket

    try:
        rules = seccomp.SyscallFilter(seccomp.ALLOW)
        refuse = seccomp.ERRNO(errno.EACCES)
        rules.add_rule(refuse, "socket", seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
        for call in ("io_uring_setup", "io_uring_enter", "io_uring_register"):
            rules.add_rule(seccomp.ERRNO(errno.ENOSYS), call)
        rules.load()  # sets no_new_privs first (libseccomp's default)
    except OSError:
        return False
    return True


# Landlock's interface (linux/landlock.h); the syscall numbers are the same on every
# architecture since Linux 5.13.
_CREATE_RULESET, _RESTRICT_SELF = 444, 446
_VERSION = 1  # LANDLOCK_CREATE_RULESET_VERSION
_BIND_TCP, _CONNECT_TCP = 1, 2  # LANDLOCK_ACCESS_NET_*
_NO_NEW_PRIVS = 38  # PR_SET_NO_NEW_PRIVS


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
    ]


def _landlock() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syscall = libc.syscall
        syscall.restype = ctypes.c_long
        abi = syscall(ctypes.c_long(_CREATE_RULESET), None, ctypes.c_size_t(0), _VERSION)
        if abi < 4:  # network rules came with ABI 4
            return False
        attr = _RulesetAttr(0, _BIND_TCP | _CONNECT_TCP)  # no rule: every port refused
        ruleset = syscall(
            ctypes.c_long(_CREATE_RULESET), ctypes.byref(attr), ctypes.sizeof(attr), 0
        )
        if ruleset < 0:
            return False
        try:
            if libc.prctl(_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
                return False
            return syscall(ctypes.c_long(_RESTRICT_SELF), ruleset, 0) == 0
        finally:
            import os

            os.close(ruleset)
    except (OSError, AttributeError):
        return False


def confine_memory(extra: int) -> None:
    """Cap this process's address space at what it maps now plus ``extra`` bytes: an
    allocation past it fails (pyoxigraph then aborts the process, which is the point)."""
    import resource

    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            mapped = int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):  # no /proc: no cap, the timeout still holds
        return
    limit = mapped + extra
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
