"""The dumps `kzld serve` hands out: the files of a `kzld build`, held open and checked
against their SHA256SUMS at start, and the responses that serve their exact bytes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from kzld.loading.formats import FORMATS, JSONLD
from kzld.loading.graph import KGraph
from kzld.web.http_basics import HttpError, typed
from kzld.web.site import serialize

_PIECE = 1 << 20  # files up to this size go out in one response body; larger ones streamed


@dataclass(frozen=True)
class Published:
    """One published file, held open: a later build that swaps the folder changes nothing
    served, and every byte served is the byte whose digest SHA256SUMS gives."""

    name: str
    media: str
    size: int
    sha256: str
    fd: int | None = None
    data: bytes | None = None  # for dumps made in memory

    def read(self, size: int, offset: int) -> bytes:
        if self.data is not None:
            return self.data[offset : offset + size]
        return os.pread(self.fd, size, offset)


class Publication:
    """The files of a `kzld build` output, checked against its SHA256SUMS at start."""

    files: dict[str, Published]
    note: str | None = None  # why these are not a build's files, when they are not

    @classmethod
    def in_memory(cls, contents: dict[str, bytes], note: str) -> Publication:
        made = cls.__new__(cls)
        made.files = {
            name: Published(
                name, _media_of(name), len(data), hashlib.sha256(data).hexdigest(), data=data
            )
            for name, data in contents.items()
        }
        made.note = note
        return made

    def __init__(self, folder: Path):
        from kzld.errors import InputError
        from kzld.publishing.publication import CHECKSUMS, verify

        sums = folder / CHECKSUMS
        if not sums.is_file():
            raise InputError(
                f"{folder}: no {CHECKSUMS}: not the output of `kzld build`",
                hint="give the folder `kzld build --out` wrote",
            )
        problems = verify(folder)
        if problems:
            first = problems[0]
            raise InputError(
                f"{folder}: the publication does not match its checksums: {first}",
                hint="rebuild it with `kzld build`, or check `kzld verify`",
            )
        self.folder = folder
        self.files: dict[str, Published] = {}
        listed = [line.split("  ", 1) for line in sums.read_text("ascii").splitlines() if line]
        for digest, name in [*listed, (None, CHECKSUMS)]:
            path = folder / name
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            size = os.fstat(fd).st_size
            if digest is None:
                digest = hashlib.sha256(os.pread(fd, size, 0)).hexdigest()
            self.files[name] = Published(name, _media_of(name), size, digest, fd)

    def close(self) -> None:
        for published in self.files.values():
            if published.fd is not None:
                with contextlib.suppress(OSError):
                    os.close(published.fd)


def _media_of(name: str) -> str:
    if name.endswith(".jsonld"):
        return JSONLD.media_type
    for fmt in FORMATS:
        if name.endswith(fmt.extension):
            return fmt.media_type
    return "text/plain"


def build_publication(graph: KGraph, out: Path) -> Publication:
    """Publish the served graph into out as `kzld build` would, byte for byte; for data a
    build cannot publish, the whole graph in each format, and a note saying so."""
    from kzld.errors import KzldError
    from kzld.loading.graph import load_graph
    from kzld.loading.resources import bundled
    from kzld.publishing.publication import publish_loaded

    try:
        publish_loaded(graph, load_graph([bundled("ontology")]), out)
    except KzldError as err:
        contents = {f"kzld{f.extension}": serialize(graph.triples, f.oxigraph) for f in FORMATS}
        return Publication.in_memory(
            contents,
            f"the dumps are not a build ({err.message}): only /kzld.ttl, /kzld.nt and "
            "/kzld.jsonld are served",
        )
    return Publication(out)


class Downloads:
    """GET of a published file: its exact bytes, with its digest as the entity tag, so a
    client that has them already gets a 304."""

    def __init__(self, publication: Publication):
        self.publication = publication

    def __contains__(self, name: str) -> bool:
        return name in self.publication.files

    async def response(self, request: Request, name: str) -> Response:
        file = self.publication.files.get(name)
        if file is None:
            raise HttpError(404, f"{name} is not in this publication")
        tag = f'"{file.sha256}"'
        headers = {"ETag": tag, "Cache-Control": "no-cache", "Content-Length": str(file.size)}
        if tag in request.headers.get("if-none-match", ""):
            del headers["Content-Length"]
            return Response(b"", 304, headers)
        if file.size <= _PIECE:
            data = (
                file.read(file.size, 0)
                if file.data
                else await asyncio.to_thread(file.read, file.size, 0)
            )
            return Response(data, 200, headers, media_type=typed(file.media))
        return StreamingResponse(_pieces(file), 200, headers, media_type=typed(file.media))


async def _pieces(file: Published) -> AsyncIterator[bytes]:
    """A large file read a piece at a time on a thread: the event loop never waits on disk."""
    offset = 0
    while offset < file.size:
        size = min(_PIECE, file.size - offset)
        data = await asyncio.to_thread(file.read, size, offset)
        if not data:
            return
        offset += len(data)
        yield data
