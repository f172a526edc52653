"""Publishing the dumps: deterministic writers, checksums, and atomic, locked output.

A build writes every file into a fresh folder beside the output folder, syncs it to
disk, then swaps it into place in one rename; a build that fails or is killed at any
point leaves the previous publication as it was. One lock file beside the output
folder keeps two builds from ever writing the same folder at once.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import gc
import hashlib
import os
import re
import secrets
import shutil
import stat
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kzld.errors import CheckFailed, InputError, OutputError
from kzld.loading.formats import FORMATS, JSONLD, NTRIPLES, TURTLE, RdfFormat
from kzld.loading.graph import KGraph, load_graph
from kzld.loading.resources import bundled
from kzld.publishing.description import DOWNLOAD, PublishedFile, describe, statistics
from kzld.publishing.jsonld import (
    VOCABULARIES,
    build_context,
    jsonld_document,
    jsonld_nodes,
    write_context,
)
from kzld.vocabulary import DATASET, DCAT, GENID, ID, SPDX, XSD

CHECKSUMS = "SHA256SUMS"
# kzld's own record of what it wrote into a publication: only a folder that holds it, and
# nothing it does not list, is ever replaced (a SHA256SUMS alone proves nothing).
MARKER = ".kzld-publication"
_MARKER_HEADER = "kzld publication 1"
DESCRIPTION = "dataset.ttl"
CONTEXT = "context.jsonld"
# The three parts of the graph and the stem of their dump files.
PARTS = (("all", "kzld"), ("ontology", "kzld-ontology"), ("data", "kzld-data"))

_DATA_KINDS = (
    "person organisation post tenure event source place rank conflict award law programme figure"
)
# The Turtle prefix table: fixed, so output never depends on the input's own prefixes.
TURTLE_PREFIXES: tuple[tuple[str, str], ...] = (
    VOCABULARIES
    + tuple((kind, f"{ID}{kind}/") for kind in _DATA_KINDS.split())
    + (("genid", GENID), ("dataset", DATASET + "#"), ("dump", DOWNLOAD))
)
# A statement whose object is a number pyoxigraph writes bare, and the canonical forms
# that every parser reads back as written (a double has none: rdflib rewrites 1.0E3).
_NUMBER_ENDINGS = tuple(f'"^^<{XSD}{kind}> .'.encode() for kind in ("integer", "decimal", "double"))
_CANONICAL = {
    b"integer": re.compile(rb"-?(?:0|[1-9][0-9]*)"),
    b"decimal": re.compile(rb"-?(?:0|[1-9][0-9]*)\.[0-9]+"),
    b"double": re.compile(rb"(?!)"),
}
# A reserved character escaped in a local name (Turtle's PN_LOCAL_ESC), and the prefix
# a local name follows.
_LOCAL_ESCAPE = re.compile(rb"\\[-_~.!$&'()*+,;=/?#@%]")
_PREFIXED_NAME = re.compile(rb"([A-Za-z][A-Za-z0-9_-]*):")
_RDF_TYPE_REF = b"<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
_RDF_TYPE_INFIX = b" " + _RDF_TYPE_REF + b" "

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Publication:
    """What a build published."""

    out: Path
    files: list[PublishedFile]
    triples: int


def ntriples_lines(triples: Iterable[ox.Triple]) -> list[bytes]:
    """The triples as canonical N-Triples statements, sorted: the text every dump is
    written from, and its one canonical order (that of the statements without their " .":
    a space sorts before any character that can follow a term)."""
    # One serialisation in Rust and a sort of bytes: a million triples take a second. UTF-8
    # sorts as its characters do; bytes, unlike str, stay one byte per ASCII character.
    lines = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).split(b"\n")
    lines.pop()  # the empty line after the last newline
    lines.sort()
    return lines


def dump_order(lines: Sequence[bytes]) -> list[bytes]:
    """Sorted statements with each subject's rdf:type statements moved to the front: the
    order the Turtle dumps are written in."""
    ordered: list[bytes] = []
    types: list[bytes] = []
    rest: list[bytes] = []
    subject = b""
    for line in lines:
        cut = line.find(b" ")
        if line[:cut] != subject:
            ordered += types
            ordered += rest
            types, rest, subject = [], [], line[:cut]
        (types if line.startswith(_RDF_TYPE_INFIX, cut) else rest).append(line)
    ordered += types
    ordered += rest
    return ordered


def write_ntriples(lines: Sequence[bytes]) -> bytes:
    """N-Triples: the statements, one a line."""
    return b"\n".join([*lines, b""])


def write_turtle(lines: Sequence[bytes], ntriples: bytes | None = None) -> bytes:
    """Turtle from statements in dump order, by pyoxigraph's serializer: the prefixes of
    the fixed table that the statements use, one block per subject, rdf:type first as "a".

    Two forms of valid Turtle that common parsers misread are avoided. A namespace that
    would need an escaped local name (post:a\\. for <…/post/a.>) gets no prefix: rdflib 7
    (and serd and Oxigraph before their fixes) cannot read those, so its IRIs are written
    whole. A number whose authored form is not canonical (01, +1, .5, any double) would be
    written bare, and rdflib rewrites a bare number (01 reads as 1): such statements
    follow the blocks as N-Triples lines, which keep the form as authored.

    ntriples: the statements already joined (write_ntriples(lines)), not joined again."""
    ntriples = ntriples if ntriples is not None else write_ntriples(lines)
    if any(ending + b"\n" in ntriples for ending in _NUMBER_ENDINGS):
        blocks, authored_numbers = _split_authored_numbers(lines)
        if authored_numbers:
            ntriples = write_ntriples(blocks)
    else:
        authored_numbers = []
    # A namespace occurs only after "<" in N-Triples; a literal that quotes one merely
    # declares a prefix the document does not need.
    prefixes = {name: iri for name, iri in TURTLE_PREFIXES if b"<" + iri.encode() in ntriples}
    while True:
        # The serializer writes statements in the order given: each subject's stay together.
        turtle = ox.serialize(
            ox.parse(ntriples, format=ox.RdfFormat.N_TRIPLES),
            format=ox.RdfFormat.TURTLE,
            prefixes=prefixes,
        )
        escaped = _escaped_prefixes(turtle) & prefixes.keys()
        if not escaped:
            break
        for name in escaped:
            del prefixes[name]
    if authored_numbers:
        turtle += b"\n# Numbers as authored, in full: a bare number may be rewritten.\n"
        turtle += write_ntriples(authored_numbers)
    return turtle


def _split_authored_numbers(lines: Sequence[bytes]) -> tuple[Sequence[bytes], list[bytes]]:
    """The statements for the blocks, and those whose number is not in canonical form."""
    blocks: list[bytes] = []
    numbers: list[bytes] = []
    for line in lines:
        if line.endswith(_NUMBER_ENDINGS) and not _canonical_number(line):
            numbers.append(line)
        else:
            blocks.append(line)
    return (blocks, numbers) if numbers else (lines, [])


def _canonical_number(line: bytes) -> bool:
    kind = line[line.rfind(b"#") + 1 : -3]
    lexical = line[line.rfind(b'"', 0, line.rfind(b'"^^')) + 1 : line.rfind(b'"^^')]
    return _CANONICAL[kind].fullmatch(lexical) is not None


def _escaped_prefixes(turtle: bytes) -> set[str]:
    """The prefixes written before an escaped local name. A backslash is rare (a literal's
    own escapes), so the search is a fast scan; a literal that happens to hold "kz:a\\."
    costs the document a prefix, never a wrong triple."""
    found: set[str] = set()
    for escape in _LOCAL_ESCAPE.finditer(turtle):
        at = escape.start()
        start = max(turtle.rfind(space, 0, at) for space in (b" ", b"\t", b"\n")) + 1
        name = _PREFIXED_NAME.match(turtle, start)
        if name:
            found.add(name[1].decode())
    return found


def publish(
    data: Sequence[Path] | None,
    out: Path,
    lock_wait: float = 10.0,
    progress: Progress | None = None,
) -> Publication:
    """Load, validate, write every dump, the description and SHA256SUMS, swap into out.

    The ontology part is always the bundled ontology; the data part is what the user gave
    (default: the bundled data) minus any triple already in the ontology.
    """
    step = progress or (lambda _label: None)
    _check_writable(Path(os.path.realpath(out)), Path(out))  # fail before the slow part
    step("loading")
    ontology_path = bundled("ontology")
    ontology = load_graph([ontology_path])
    graph = load_graph([ontology_path, *(data or [bundled("data")])], prepare_store=True)
    step("validating")
    _require_valid(graph)
    return publish_loaded(graph, ontology, out, lock_wait, progress)


def publish_loaded(
    graph: KGraph,
    ontology: KGraph,
    out: Path,
    lock_wait: float = 10.0,
    progress: Progress | None = None,
) -> Publication:
    """Write every dump of a loaded, validated graph, the description and SHA256SUMS, and
    swap them into out: what publish() does after validation.

    graph holds every triple of ontology; the data part is the rest.
    """
    # Millions of short-lived objects and no cycles: collections find nothing to free,
    # and cost about a tenth of the writers' time at a million triples.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _publish_loaded(graph, ontology, out, lock_wait, progress)
    finally:
        if collecting:
            gc.enable()


def _publish_loaded(
    graph: KGraph,
    ontology: KGraph,
    out: Path,
    lock_wait: float,
    progress: Progress | None,
) -> Publication:
    step = progress or (lambda _label: None)
    everything = ntriples_lines(graph.triples)
    ontology_lines = ntriples_lines(ontology.triples)
    in_ontology = set(ontology_lines)
    stats = statistics(everything)  # now, while memory holds no dump yet
    parts = {
        "all": everything,
        "ontology": ontology_lines,
        "data": [line for line in everything if line not in in_ontology],
    }
    context = build_context(ontology.triples)
    step("writing the dumps")
    ordered = {"all": dump_order(everything), "ontology": dump_order(ontology_lines)}
    # Dropping the ontology's statements leaves the rest in dump order.
    ordered["data"] = [line for line in ordered["all"] if line not in in_ontology]
    bodies = _jsonld_dumps(parts, context)
    contents: dict[str, bytes] = {}
    files: list[PublishedFile] = []
    for part, stem in PARTS:
        lines = parts[part]
        ntriples = write_ntriples(lines)
        # What the Turtle and JSON-LD dumps read back as when read in the order written,
        # and the text the Turtle is written from.
        in_dump_order = write_ntriples(ordered[part])
        bodies[(part, TURTLE)] = write_turtle(ordered.pop(part), in_dump_order)
        for fmt in FORMATS:
            name = stem + fmt.extension
            step(f"reading back {name}")
            body = bodies.pop((part, fmt)) if fmt is not NTRIPLES else ntriples
            in_order = ntriples if fmt is NTRIPLES else in_dump_order
            _require_same_graph(name, body, fmt, lines, in_order)
            contents[name] = body
            files.append(_published(name, part, fmt.name, fmt.media_type, body))
    contents[CONTEXT] = write_context(context)
    files.append(_published(CONTEXT, "", "jsonld", JSONLD.media_type, contents[CONTEXT]))
    step("describing")
    description = write_turtle(
        dump_order(ntriples_lines(describe(stats, len(ontology_lines), len(parts["data"]), files)))
    )
    contents[DESCRIPTION] = description
    files.append(_published(DESCRIPTION, "", "turtle", TURTLE.media_type, description))
    files.sort(key=lambda f: f.name)
    contents[CHECKSUMS] = "".join(f"{f.sha256}  {f.name}\n" for f in files).encode("ascii")
    step("publishing")
    _write_atomically(out, contents, lock_wait)
    return Publication(out=out, files=files, triples=len(everything))


def _jsonld_dumps(
    parts: dict[str, list[bytes]], context: dict
) -> dict[tuple[str, RdfFormat], bytes]:
    """The JSON-LD dump of each part. The whole graph's is the data and ontology parts'
    nodes side by side: only a subject both parts describe is written again, from all its
    statements."""
    bodies: dict[tuple[str, RdfFormat], bytes] = {}
    everything = parts["all"]

    def about(subject: bytes) -> list[bytes]:
        start = bisect_left(everything, subject + b" ")
        end = start
        while end < len(everything) and everything[end].startswith(subject + b" "):
            end += 1
        return everything[start:end]

    data = jsonld_nodes(parts["data"], context)
    ontology = jsonld_nodes(parts["ontology"], context)
    nodes = dict(data)
    for subject, node in ontology:
        nodes[subject] = jsonld_nodes(about(subject), context)[0][1] if subject in nodes else node
    bodies[("data", JSONLD)] = jsonld_document(data, context)
    bodies[("ontology", JSONLD)] = jsonld_document(ontology, context)
    bodies[("all", JSONLD)] = jsonld_document(sorted(nodes.items()), context)
    return bodies


def _published(name: str, part: str, fmt: str, media: str, body: bytes) -> PublishedFile:
    return PublishedFile(name, part, fmt, media, len(body), hashlib.sha256(body).hexdigest())


def _require_same_graph(
    name: str, body: bytes, fmt: RdfFormat, statements: list[bytes], in_order: bytes
) -> None:
    """A dump that does not read back as what it was written from is never published.

    statements: the sorted N-Triples statements it was written from; in_order: the same
    as N-Triples text, in the order the dump holds them.
    """
    # The JSON-LD dumps follow the streaming profile: its parser does not hold a whole
    # "@graph" in memory, and refuses a document that breaks the profile.
    reading = ox.RdfFormat.STREAMING_JSON_LD if fmt is JSONLD else fmt.oxigraph
    try:
        read = ox.serialize(ox.parse(body, format=reading), format=ox.RdfFormat.N_QUADS)
    except SyntaxError:
        raise _unreadable(name) from None
    if read == in_order:
        return
    # A parser may give a subject's statements in another order (pyoxigraph's JSON-LD
    # parsers sort @type values): then the sorted statements must be the same.
    read_statements = read.split(b"\n")
    read_statements.pop()  # the empty line after the last newline
    read_statements.sort()
    if read_statements != statements:
        raise _unreadable(name)


def _unreadable(name: str) -> OutputError:
    return OutputError(
        f"{name} does not read back as the graph it was written from; nothing was published",
        hint="this is a bug in kzld's writers: please report it with the data",
    )


def _require_valid(graph: KGraph) -> None:
    from kzld.validating.validation import validate

    # The native engine scales to millions of triples; tests hold it to pySHACL's findings.
    report = validate(graph, engine="native")
    if not report.conforms:
        violations = [f for f in report.findings if f.severity == "Violation"]
        first = violations[0] if violations else None
        detail = f"; first: {first.focus}: {first.message}" if first else ""
        raise CheckFailed(
            f"the data does not conform to the shapes ({len(violations)} "
            f"violation{'' if len(violations) == 1 else 's'}{detail}); "
            "nothing was published",
            hint="run 'kzld validate' with the same --data to see every finding",
        )


# --- Atomic, locked output --------------------------------------------------------------


def _write_atomically(out: Path, contents: dict[str, bytes], lock_wait: float) -> None:
    # The real folder: a symbolic link named by --out keeps pointing at the publication.
    given, out = out, Path(os.path.realpath(out))
    parent = out.parent
    _check_writable(out, given)
    with _locked(parent / f".{out.name}.lock", out, lock_wait):
        _recover(out)
        fresh = parent / f".{out.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            try:
                os.mkdir(fresh)
            except OSError as err:
                raise _output_error(err, parent) from None
            for name in sorted(contents):
                _write_file(fresh / name, contents[name])
            _write_file(fresh / MARKER, _marker(contents))
            _sync_dir(fresh)
            _swap(fresh, out)
        finally:
            if fresh.exists():
                shutil.rmtree(fresh, ignore_errors=True)


def _check_writable(out: Path, given: Path | None = None) -> None:
    """Refuse folders the user made read-only, or that are not a previous publication."""
    if out == out.parent:
        raise OutputError(f"{out} cannot be replaced", hint="give --out a folder of its own")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} exists and is not a folder", hint="choose another --out")
    for folder in (out, out.parent):
        if not folder.exists():
            continue
        # Mode bits, not only access(): root may write anywhere, but a folder made
        # read-only by its owner means "do not replace this".
        if not os.access(folder, os.W_OK) or not folder.stat().st_mode & 0o222:
            raise OutputError(
                f"{folder} is read-only; nothing was published",
                hint="choose a writable --out folder or make it writable",
            )
    if out.is_dir():
        _require_ours(out, given or out)
    if not out.parent.is_dir():
        # A nested --out (public/dumps) is common; make its parents as mkdir -p would.
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputError(
                f"{out.parent} cannot be created ({err.strerror or err})",
                hint="choose a writable --out folder",
            ) from None


def _marker(contents: dict[str, bytes]) -> bytes:
    """The marker: each file's SHA-256 and size (no times: builds stay byte-identical)."""
    lines = [_MARKER_HEADER]
    for name in sorted(contents):
        digest = hashlib.sha256(contents[name]).hexdigest()
        lines.append(f"{digest} {len(contents[name])} {name}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _require_ours(out: Path, shown: Path) -> None:
    """Refuse to replace a folder unless everything in it is a file kzld wrote there;
    messages name it as the user did (``shown``), not by its real path."""
    try:
        names = sorted(p.name for p in out.iterdir())
    except OSError as err:
        raise _output_error(err, out) from None
    if not names:
        return
    refuse = "; nothing was published or deleted"
    hint = "give --out a new or empty folder, or move those files away yourself"
    recorded = _read_marker(out)
    if recorded is None:
        recorded = _legacy_record(out, names)
    if recorded is None:
        raise OutputError(
            f"{shown} is not a kzld publication (it holds no {MARKER}) and a build "
            f"replaces the whole folder{refuse}",
            hint=hint,
        )
    foreign = [n for n in names if n != MARKER and n not in recorded]
    if foreign:
        listed = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        raise OutputError(f"{shown} holds what kzld did not write: {listed}{refuse}", hint=hint)
    for name in names:
        path = shown / name
        if name != MARKER and not stat.S_ISREG((out / name).lstat().st_mode):  # a dir, a link
            raise OutputError(f"{path} is not the file kzld wrote{refuse}", hint=hint)
    # A dump altered since is kzld's file all the same, restored by the build as verify's
    # hint says; SHA256SUMS must be the marker's own, or the marker is not this folder's.
    sums = out / CHECKSUMS
    if CHECKSUMS in names and recorded.get(CHECKSUMS) != (_sha256(sums), sums.stat().st_size):
        raise OutputError(
            f"{shown / CHECKSUMS} is not the one kzld wrote with {MARKER}{refuse}", hint=hint
        )


def _read_marker(out: Path) -> dict[str, tuple[str, int]] | None:
    path = out / MARKER
    if not path.is_file() or path.is_symlink():
        return None
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    if not lines or lines[0] != _MARKER_HEADER:
        return None
    recorded: dict[str, tuple[str, int]] = {}
    for line in lines[1:]:
        match = re.fullmatch(r"([0-9a-f]{64}) (\d+) ([^/\x00]+)", line)
        if not match:
            return None
        recorded[match.group(3)] = (match.group(1), int(match.group(2)))
    return recorded


def _legacy_record(out: Path, names: list[str]) -> dict[str, tuple[str, int]] | None:
    """What a build before the marker wrote: exactly kzld's own file names, listed in its
    SHA256SUMS. A folder of other files with a SHA256SUMS is no publication."""
    ours = {f"{stem}{fmt.extension}" for _, stem in PARTS for fmt in (NTRIPLES, TURTLE, JSONLD)}
    ours |= {DESCRIPTION, CONTEXT, CHECKSUMS}
    if not set(names) <= ours or CHECKSUMS not in names or DESCRIPTION not in names:
        return None
    sums = out / CHECKSUMS
    if sums.is_symlink() or not sums.is_file() or sums.stat().st_size > 2**20:
        return None
    recorded: dict[str, tuple[str, int]] = {}
    for line in sums.read_text("utf-8", "replace").splitlines():
        match = re.fullmatch(r"([0-9a-f]{64}) [ *](.+)", line)
        if match and match.group(2) in ours:
            path = out / match.group(2)
            size = path.lstat().st_size if path.exists() else -1
            recorded[match.group(2)] = (match.group(1), size)
    if CHECKSUMS in names:  # SHA256SUMS lists every file but itself
        recorded[CHECKSUMS] = (_sha256(sums), sums.stat().st_size)
    return recorded


class _locked:
    """An exclusive flock on a lock file beside out; the kernel drops it if we die."""

    def __init__(self, path: Path, out: Path, wait: float):
        self.path, self.out, self.wait = path, out, wait
        self.fd = -1

    def __enter__(self) -> None:
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise _output_error(err, self.path) from None
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(self.fd)
                    raise OutputError(
                        f"another kzld build is writing {self.out} (lock {self.path} held); "
                        "nothing was published",
                        hint="wait for it to finish, or raise --lock-wait",
                    ) from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _recover(out: Path) -> None:
    """Undo what a killed build left: restore a moved-aside publication, drop temp folders."""
    aside = out.parent / f".{out.name}.previous"
    if aside.is_dir():
        if out.exists():
            shutil.rmtree(aside)
        else:
            os.rename(aside, out)
    for stale in out.parent.glob(f".{out.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


def _write_file(path: Path, body: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            view = memoryview(body)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as err:
        raise _output_error(err, path) from None


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap(fresh: Path, out: Path) -> None:
    """Put fresh in out's place in one step; the old publication ends up in fresh."""
    try:
        if not out.exists():
            os.rename(fresh, out)
        elif not _exchange(fresh, out):
            # No atomic exchange on this file system: move aside, then rename. A build
            # killed between the two renames is undone by the next one (_recover).
            aside = out.parent / f".{out.name}.previous"
            os.rename(out, aside)
            os.rename(fresh, out)
            shutil.rmtree(aside)
        _sync_dir(out.parent)
    except OSError as err:
        raise _output_error(err, out) from None


def _exchange(a: Path, b: Path) -> bool:
    """renameat2(RENAME_EXCHANGE): swap two paths atomically; False where unsupported."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _output_error(err: OSError, path: Path) -> OutputError:
    hints = {
        errno.ENOSPC: "free some disk space and build again",
        errno.EFBIG: "the file system refused a file this large",
        errno.EROFS: "the file system is read-only: choose another --out",
        errno.EACCES: "choose a folder you may write to",
        errno.EPERM: "choose a folder you may write to",
    }
    return OutputError(
        f"cannot write {path}: {err.strerror or err}; the previous publication is unchanged",
        hint=hints.get(err.errno or 0, "check the output folder"),
    )


# --- Verification -----------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Discrepancy:
    """A published file that no longer matches what the build recorded."""

    name: str
    kind: str  # "altered" | "missing" | "added"
    detail: str


def verify(out: Path) -> list[Discrepancy]:
    """Compare a published folder with its SHA256SUMS and dataset description."""
    if not out.is_dir():
        raise InputError("no such folder", path=str(out), hint="give the --out of a kzld build")
    sums_path = out / CHECKSUMS
    if not sums_path.is_file():
        raise CheckFailed(
            f"{out} holds no {CHECKSUMS}: not a kzld publication, or the file was removed",
            hint="build it again with 'kzld build'",
        )
    recorded: dict[str, str] = {}
    found: list[Discrepancy] = []
    from kzld.loading.resources import read_regular

    sums = read_regular(sums_path, limit=16 * 2**20).decode("utf-8", "replace")
    for number, line in enumerate(sums.splitlines(), 1):
        match = re.fullmatch(r"([0-9a-f]{64}) [ *](.+)", line)
        if not match:
            found.append(Discrepancy(CHECKSUMS, "altered", f"line {number} is not a checksum"))
            continue
        recorded[match.group(2)] = match.group(1)
    present = {
        p.name: p for p in out.iterdir() if p.name != CHECKSUMS and not p.name.startswith(".")
    }
    for name, digest in sorted(recorded.items()):
        path = present.get(name)
        if path is None:
            found.append(Discrepancy(name, "missing", f"listed in {CHECKSUMS}"))
        elif not stat.S_ISREG(path.lstat().st_mode):  # never hash a FIFO or /dev/zero
            found.append(Discrepancy(name, "altered", "not a regular file"))
        elif _sha256(path) != digest:
            found.append(Discrepancy(name, "altered", f"SHA-256 differs from {CHECKSUMS}"))
    for name in sorted(set(present) - set(recorded)):
        found.append(Discrepancy(name, "added", f"not listed in {CHECKSUMS}"))
    if DESCRIPTION in recorded and not any(d.name == DESCRIPTION for d in found):
        found.extend(_against_description(out, present))
    merged: dict[tuple[str, str], list[str]] = {}
    for d in sorted(found):  # one line per file, however many records disagree with it
        merged.setdefault((d.name, d.kind), []).append(d.detail)
    return [Discrepancy(name, kind, "; ".join(details)) for (name, kind), details in merged.items()]


def _against_description(out: Path, present: dict[str, Path]) -> list[Discrepancy]:
    """Sizes and digests in dataset.ttl: catches a dump altered with SHA256SUMS to match."""
    triples = list(ox.parse(path=str(out / DESCRIPTION), format=ox.RdfFormat.TURTLE))
    values: dict[tuple[object, str], object] = {
        (t.subject, t.predicate.value): t.object for t in triples
    }
    found = []
    for t in triples:
        if t.predicate.value != DCAT + "downloadURL":
            continue
        name = t.object.value.rsplit("/", 1)[-1]
        checksum = values.get((t.subject, SPDX + "checksum"))
        digest = values.get((checksum, SPDX + "checksumValue"))
        size = values.get((t.subject, DCAT + "byteSize"))
        path = present.get(name)
        if path is None:
            found.append(Discrepancy(name, "missing", f"described in {DESCRIPTION}"))
        elif not stat.S_ISREG(path.lstat().st_mode):  # never hash a FIFO or /dev/zero
            found.append(Discrepancy(name, "altered", "not a regular file"))
        elif digest is None or size is None:
            found.append(Discrepancy(DESCRIPTION, "altered", f"no checksum or size for {name}"))
        elif _sha256(path) != digest.value or path.stat().st_size != int(size.value):
            found.append(Discrepancy(name, "altered", f"differs from {DESCRIPTION}"))
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
