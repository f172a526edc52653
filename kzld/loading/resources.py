"""Where the bundled ontology, shapes, queries and data live, in a wheel or in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]
# A wheel carries the folders under kzld/_bundled; a checkout has them beside the package.
_ROOT = _PACKAGE / "_bundled" if (_PACKAGE / "_bundled").is_dir() else _PACKAGE.parent


def bundled(name: str) -> Path:
    """Path of a bundled folder: 'ontology', 'shapes', 'queries' or 'data'."""
    if name not in {"ontology", "shapes", "queries", "data"}:
        raise ValueError(name)
    return _ROOT / name


def default_data_paths() -> list[Path]:
    """What commands read when no --data is given: the ontology and the instance data."""
    return [bundled("ontology"), bundled("data")]


def read_regular(path: Path, limit: int = 64 * 2**20) -> bytes:
    """A regular file's bytes, at most ``limit`` of them: a FIFO, a device (a symlink to
    /dev/zero) or a folder is refused at once instead of blocking or reading forever."""
    import errno
    import os
    import stat

    from kzld.errors import InputError

    try:
        # O_NONBLOCK: opening a FIFO with no writer must not wait for one.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        if err.errno == errno.ENOENT:
            raise InputError("no such file", path=str(path), hint="check the path") from None
        raise InputError((err.strerror or str(err)).lower(), path=str(path)) from None
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
            raise InputError(f"{kind}: only regular files are read", path=str(path))
        os.set_blocking(fd, True)
        body = f.read(limit + 1)
    if len(body) > limit:
        raise InputError(f"larger than {limit // 2**20} MiB: not read", path=str(path))
    return body
