"""The errors kzld raises, each tied to one documented exit code."""

from __future__ import annotations

# Exit codes, documented in the README; every command uses the same table.
OK = 0
CHECK_FAILED = 1  # data does not conform, verify found altered files
USAGE = 2  # bad option or parameter, unknown name, refused query
BAD_INPUT = 3  # a file cannot be read or parsed
REMOTE = 4  # an endpoint failed or answered badly
OUTPUT = 5  # output cannot be written, another build holds the lock
TIMEOUT = 6  # a local query ran past its time limit
INTERRUPTED = 130

# What each code means: shown by every command's --help and in the README's table.
EXIT_CODES = {
    OK: "success",
    CHECK_FAILED: "a check failed: the data does not conform, verify found altered files",
    USAGE: "usage error: bad option or parameter, unknown name, refused query",
    BAD_INPUT: "bad input: a data, shapes or query file cannot be read or parsed",
    REMOTE: "remote error: an endpoint failed, timed out or answered badly",
    OUTPUT: "output error: cannot write the output, another build holds the lock",
    TIMEOUT: "a local query ran past its time limit",
    INTERRUPTED: "interrupted (Ctrl-C)",
}


class KzldError(Exception):
    """Base of every error kzld reports to a user: one line, a hint, an exit code."""

    exit_code = USAGE

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(KzldError):
    exit_code = USAGE


class CheckFailed(KzldError):
    exit_code = CHECK_FAILED


class InputError(KzldError):
    """A file that cannot be read or parsed; names the file, line and column."""

    exit_code = BAD_INPUT

    def __init__(
        self,
        message: str,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ):
        location = ""
        if path is not None:
            location = str(path)
            if line is not None:
                location += f":{line}"
                if column is not None:
                    location += f":{column}"
            location += ": "
        super().__init__(location + message, hint)
        self.path = path
        self.line = line
        self.column = column


class RemoteError(KzldError):
    """An endpoint failed; subclasses say how, so callers never mistake it for 'no results'."""

    exit_code = REMOTE


class OutputError(KzldError):
    exit_code = OUTPUT


class QueryTimeout(KzldError):
    exit_code = TIMEOUT


class NetworkRefused(KzldError):
    """Raised by the network guard when a local command tries to open a connection."""

    exit_code = REMOTE


# Remote faults: one subclass per way an endpoint can fail, each with its own message.
class EndpointTimeout(RemoteError):
    """The endpoint did not answer within the time limit."""


class EndpointUnreachable(RemoteError):
    """The endpoint's host name does not resolve or its port refuses connections."""


class EndpointThrottled(RemoteError):
    """The endpoint kept answering 429 Too Many Requests after the bounded retries."""


class EndpointForbidden(RemoteError):
    """The endpoint answered 403 Forbidden (blocked user agent, banned address)."""


class EndpointServerError(RemoteError):
    """The endpoint kept answering 500, 502, 503 or 504 after the bounded retries."""


class EndpointRejected(RemoteError):
    """The endpoint refused the request itself (400, 404, 405, 413, 414 ...)."""


class EndpointBadResponse(RemoteError):
    """The endpoint answered 200 with something that is not what was asked for:
    an HTML page, truncated or invalid JSON, a wrong content type."""
