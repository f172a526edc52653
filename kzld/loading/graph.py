"""The one load path: RDF files and folders in, one checked, deterministic graph out.

Triples are kept exactly as parsed (authored literals are never normalised) and are
what every dump is written from; a pyoxigraph store of the same triples is built for
queries, on demand or, for a caller that will query, on a second thread while the files are
parsed. Blank nodes get content-derived IRIs so that dumps are byte-identical.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import os
import re
import stat
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from kzld.errors import InputError
from kzld.loading.formats import (
    JSONLD,
    NTRIPLES,
    RdfFormat,
    accepted_extensions,
    format_for_path,
)
from kzld.vocabulary import GENID

_GENID_BYTES = b"/.well-known/genid/"
# In N-Triples: a genid subject's IRI, any predicate, an object IRI with genid in it. Each
# [^>\r\n]* stays inside one IRI, so a genid object in a line fails after a few bytes.
_GENID_LINK = re.compile(
    rb"/\.well-known/genid/[^>\r\n]*>[ \t]*<[^>\r\n]*>[ \t]*<[^>\r\n]*/\.well-known/genid/"
)

# Files with these extensions inside a data folder are RDF kzld does not read: refuse them
# rather than skip them, so that nothing a user meant to publish disappears silently.
_FOREIGN_RDF = {".rdf", ".owl", ".xml", ".n3", ".trig", ".nq", ".json", ".jsonl", ".hdt"}

# "at line 3 column 4", "at line 3 between columns 4 and 9", "between line 3 column 11
# and line 4 column 1": the position is said once, by kzld, as file:line:column.
_POSITION = re.compile(
    r"^Parser error (?:at|between) line (\d+) (?:between columns (\d+) and \d+|column (\d+))"
    r"(?: and line \d+ column \d+)?"
)
_NO_BASE = "x-kzld-no-base:/"
_ALLOWED_SCHEMES = re.compile(r"^(https?|urn|mailto|tag):", re.IGNORECASE)
# An IRI written in Turtle or N-Triples text without an allowed scheme: a "<" followed by
# anything else (a "<" inside a literal is a false alarm, which costs time, not safety).
_SUSPECT_IRI = re.compile(rb"<(?!(?:https?|urn|mailto|tag):)", re.IGNORECASE)


class StoreSources:
    """What a graph's SPARQL store is loaded from: each file's bytes (or, for a file whose
    triples are not exactly what its bytes parse to, their N-Triples), loaded into one
    store in Rust. In the background, each file is loaded on another thread as soon as it
    is read, while the main thread parses it: pyoxigraph releases the GIL while loading."""

    def __init__(self, background: bool = False):
        self._store = ox.Store()
        self._pending: list[tuple[bytes, ox.RdfFormat]] = []
        self._loads: list[Future] = []
        self._pool = ThreadPoolExecutor(1, "kzld-store") if background else None

    def add(self, data: bytes, fmt: ox.RdfFormat) -> None:
        if self._pool is None:
            self._pending.append((data, fmt))
        else:
            self._loads.append(self._pool.submit(self._load, data, fmt))

    def store(self) -> ox.Store:
        for load in self._loads:
            load.result()  # re-raises what went wrong on the loading thread
        for data, fmt in self._pending:
            self._load(data, fmt)
        self._pending.clear()
        self.cancel()
        return self._store

    def cancel(self) -> None:
        """Drop what is not loaded yet (the load path failed, or the store is complete)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _load(self, data: bytes, fmt: ox.RdfFormat) -> None:
        # `load` beats `bulk_load` on an in-memory store (2.2 s against 3-4 s at 1M triples,
        # and 0.6 GB against 0.8 GB); lenient skips re-checking IRIs the parse checked.
        self._store.load(data, format=fmt, lenient=True)


@dataclass
class KGraph:
    """A loaded graph: its triples as authored, and where each subject was written."""

    triples: list[ox.Triple]
    origins: dict[ox.NamedNode, Path] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    _store: ox.Store | None = None
    # What the store is loaded from, when the graph came from load_graph: until the store
    # is built, or already being built in the background.
    _sources: StoreSources | None = None

    def __len__(self) -> int:
        return len(self.triples)

    def store(self) -> ox.Store:
        """An in-memory pyoxigraph store of these triples, for SPARQL."""
        if self._store is None:
            if self._sources is None:  # a graph put together in code, not loaded
                # One text for Rust to load: faster than a Quad per triple.
                self._sources = StoreSources()
                text = ox.serialize(self.triples, format=ox.RdfFormat.N_TRIPLES)
                self._sources.add(text, ox.RdfFormat.N_TRIPLES)
            self._store = self._sources.store()
            self._sources = None
        return self._store

    def sorted_triples(self) -> list[ox.Triple]:
        """The triples in one canonical order (by their N-Triples text)."""
        return sorted(self.triples, key=str)

    def origin_of(self, node: ox.NamedNode | ox.BlankNode) -> Path | None:
        return self.origins.get(node)  # type: ignore[arg-type]


def load_graph(paths: Sequence[Path | str], *, prepare_store: bool = False) -> KGraph:
    """Parse every RDF file under these paths into one graph; refuse anything doubtful.

    prepare_store: the caller will query the graph: build its store on another core while
    the files are parsed (about a third off loading a million triples).
    """
    files = _expand(paths)
    if not files:
        raise InputError(
            "no RDF files found in " + ", ".join(str(p) for p in paths),
            hint=f"give files or folders holding {accepted_extensions()} files",
        )
    seen: dict[ox.Triple, None] = {}
    origins: dict[ox.NamedNode, Path] = {}
    sources = StoreSources(background=prepare_store)
    authored_genids: list[Path] = []  # files that write genid IRIs themselves
    # Millions of tracked objects are created here, and every full collection rescans all
    # of them: with the collector on, loading 1M triples took 1.4x the time per triple of
    # 100k. Freezing what was loaded keeps later collections from rescanning it too.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for path in files:
            triples = _parse(path, sources, authored_genids)
            # Bulk dict operations: a per-triple Python loop costs seconds at 1M triples.
            seen.update(dict.fromkeys(triples))
            for subject in {t.subject for t in triples}.difference(origins):
                origins[subject] = path
    except BaseException:
        sources.cancel()
        raise
    finally:
        if collecting:
            gc.freeze()
            gc.enable()
    if not seen:
        sources.cancel()
        raise InputError("the data holds no triples", hint="an empty graph is never published")
    if authored_genids:
        _refuse_genid_cycles(seen, origins)
    return KGraph(triples=list(seen), origins=origins, files=files, _sources=sources)


def _refuse_genid_cycles(triples: Iterable[ox.Triple], origins: dict) -> None:
    """A genid IRI stands for a blank node, and blank nodes may not describe themselves:
    a cycle of them has no content-derived name and no page that ends."""
    below: dict[ox.NamedNode, list[ox.NamedNode]] = {}
    for t in triples:
        s, o = t.subject, t.object
        if isinstance(o, ox.NamedNode) and o.value.startswith(GENID):
            if isinstance(s, ox.NamedNode) and s.value.startswith(GENID):
                below.setdefault(s, []).append(o)
    done: set[ox.NamedNode] = set()
    for root in sorted(below, key=lambda n: n.value):
        if root in done:
            continue
        stack, on_path = [(root, 0)], {root}
        while stack:  # depth first, iterative: chains of any length
            node, at = stack[-1]
            targets = below.get(node, [])
            if at < len(targets):
                stack[-1] = (node, at + 1)
                target = targets[at]
                if target in on_path:
                    path = origins.get(target)
                    raise InputError(
                        f"genid node {target.value} refers back to itself"
                        + ("" if target == node else " through other genid nodes"),
                        path=str(path) if path else None,
                        hint="a genid IRI stands for a blank node: give the node an IRI of its own",
                    )
                if target not in done:
                    stack.append((target, 0))
                    on_path.add(target)
            else:
                done.add(node)
                on_path.discard(node)
                stack.pop()


def merge_graphs(graph: KGraph, extra: KGraph) -> KGraph:
    """Both graphs' triples, each once; where a subject comes from, as graph has it first.

    If graph's store is not built yet, what it is being loaded from passes to the merged
    graph, with extra's triples added, so a million triples are not loaded twice; graph
    loads its own store again if it is ever queried.
    """
    seen = dict.fromkeys(graph.triples)
    seen.update(dict.fromkeys(extra.triples))
    origins = dict(extra.origins)
    origins.update(graph.origins)
    merged = KGraph(triples=list(seen), origins=origins, files=graph.files + extra.files)
    if graph._sources is not None:
        merged._sources, graph._sources = graph._sources, None
        text = ox.serialize(extra.triples, format=ox.RdfFormat.N_TRIPLES)
        merged._sources.add(text, ox.RdfFormat.N_TRIPLES)
    return merged


def parse_file(path: Path) -> list[ox.Triple]:
    """Parse one file, with errors located by file, line and column."""
    return _parse(path, None)


def _parse(
    path: Path, sources: StoreSources | None, authored_genids: list[Path] | None = None
) -> list[ox.Triple]:
    """The file's triples; what the store loads for them is added to sources, if given."""
    fmt = format_for_path(path)
    raw = _read_regular(path)
    if raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark is accepted and dropped
        raw = raw[3:]
    text = _decode(raw, path)
    if not text or text.isspace():  # stops at the first other character; strip() copies
        raise InputError("the file is empty", path=str(path), hint="remove it or add triples")
    blank_nodes = _may_hold_blank_nodes(raw)
    if authored_genids is not None and _may_link_genids(raw, fmt, blank_nodes):
        authored_genids.append(path)
    # Bytes that can hold no blank node parse to exactly these triples: the store may load
    # them now, while they are parsed here (a file refused below is never queried).
    exact = fmt is not JSONLD and not blank_nodes
    if exact and sources is not None:
        sources.add(raw, fmt.oxigraph)
    # JSON-LD silently drops a relative IRI it cannot resolve, and the triple with it; a base
    # no published IRI can have turns that loss into an error (a JSON-LD @base still wins).
    base = _NO_BASE if fmt is JSONLD else None
    if fmt is JSONLD:
        _check_jsonld(text, path)
    try:
        quads = ox.parse(raw, format=fmt.oxigraph, base_iri=base)
        # The parser yields default-graph quads; the graph is a set of triples.
        triples = [quad.triple for quad in quads]
    except SyntaxError as err:
        raise _located(err, path, fmt) from None
    except MemoryError:  # pyoxigraph's parser holds no term over 16 MiB
        raise InputError(
            "a term (IRI or literal) is longer than the parser's limit of 16 MiB",
            path=str(path),
            hint="shorten it, or publish the text as a file of its own",
        ) from None
    except (ValueError, OSError) as err:
        raise InputError(str(err), path=str(path)) from None
    # Scanning the bytes is ten times cheaper than the terms of a million triples; only
    # a file that may hold a problem has its terms checked one by one.
    if fmt is JSONLD or _may_hold_bad_terms(raw):
        _check_iris(triples, text, path)
    if exact:
        return triples
    renamed = any(_has_blank(t) for t in triples)
    if renamed:
        triples = _skolemise(triples, path)
    if sources is not None:
        if renamed or fmt is JSONLD:  # the store loads the triples kzld keeps
            ntriples = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
            sources.add(ntriples, ox.RdfFormat.N_TRIPLES)
        else:
            sources.add(raw, fmt.oxigraph)
    return triples


def _expand(paths: Sequence[Path | str]) -> list[Path]:
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        try:
            info = path.stat()
        except OSError as err:
            raise _unreadable(path, err) from None
        if stat.S_ISDIR(info.st_mode):
            files.extend(_data_files(path))
        else:
            format_for_path(path)
            files.append(path)
    unique: dict[Path, None] = {}
    for f in files:
        unique.setdefault(f, None)
    return list(unique)


def _unreadable(path: Path, err: OSError) -> InputError:
    if err.errno == errno.ENOENT and not path.is_symlink():
        return InputError("no such file or folder", path=str(path))
    if err.errno == errno.ELOOP:
        return InputError("symbolic link loop", path=str(path), hint="remove the link")
    what = "cannot be read" if err.errno in (errno.EACCES, errno.EPERM) else "cannot be opened"
    return InputError(
        f"{what} ({err.strerror or err})",
        path=str(path),
        hint="make it readable, or leave it out of --data",
    )


def _data_files(root: Path) -> list[Path]:
    """The RDF files in a data folder and its subfolders, in a stable order. Every folder
    must be readable and every link lead inside: nothing is skipped silently."""
    top = Path(os.path.realpath(root))
    found: list[Path] = []
    folders = [root]
    while folders:  # iterative: a folder tree of any depth
        folder = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as err:
            raise _unreadable(folder, err) from None
        below: list[Path] = []
        for entry in entries:
            child = Path(entry.path)
            try:
                linked = entry.is_symlink()
                if linked:
                    target = Path(os.path.realpath(child, strict=True))
                    if not target.is_relative_to(top):
                        raise InputError(
                            "symbolic link points outside the data folder",
                            path=str(child),
                            hint="copy the file or folder into the data folder instead",
                        )
                is_dir = entry.is_dir()
            except OSError as err:  # a dangling link or a loop of links
                raise _unreadable(child, err) from None
            if is_dir:
                if not linked:  # a link inside the folder names what is read anyway
                    below.append(child)
                continue
            suffix = child.suffix.lower()
            if suffix in _FOREIGN_RDF:
                format_for_path(child)  # raises the usage error naming accepted formats
            if suffix in {".ttl", ".nt", ".jsonld"}:
                found.append(child)  # READMEs, licences and the like are left alone
        folders.extend(reversed(below))
    return sorted(found)


def _read_regular(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
    except OSError as err:
        raise InputError(err.strerror or str(err), path=str(path)) from None
    if not stat.S_ISREG(mode):
        raise InputError(
            "not a regular file (a FIFO, device or socket is never read)", path=str(path)
        )
    try:
        return path.read_bytes()
    except OSError as err:
        raise InputError(err.strerror or str(err), path=str(path)) from None


def _decode(raw: bytes, path: Path) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        raise InputError(
            f"not valid UTF-8 (byte 0x{raw[err.start]:02x})",
            path=str(path),
            line=line,
            column=column,
            hint="save the file as UTF-8",
        ) from None
    return text


def _check_jsonld(text: str, path: Path) -> None:
    """Refuse what the JSON-LD parser would drop silently (an undefined term, an invalid
    IRI, a bad language tag): a triple lost on the way is never published."""
    import json

    from kzld.loading.jsonld_check import Dropped, check_dropped

    try:
        document = json.loads(text)
    except RecursionError:
        raise InputError("JSON nested too deeply to read", path=str(path)) from None
    except ValueError as err:
        line, column = getattr(err, "lineno", None), getattr(err, "colno", None)
        message = getattr(err, "msg", str(err))
        raise InputError(
            f"JSON syntax error: {message}", path=str(path), line=line, column=column
        ) from None
    try:
        check_dropped(document)
    except Dropped as err:
        raise InputError(
            str(err),
            path=str(path),
            line=_line_of(text, err.needle),
            hint="define the term in the @context, or correct the value",
        ) from None


def _located(err: SyntaxError, path: Path, fmt: RdfFormat) -> InputError:
    message = str(err)
    line = getattr(err, "lineno", None)
    column = getattr(err, "offset", None)
    match = _POSITION.match(message)
    if match:
        line = int(match.group(1))
        column = int(match.group(2) or match.group(3))
        message = message[message.index(":", match.end()) + 1 :].strip()
        message = re.sub(r"\s*\(line \d+\)$", "", message)
    if "LoadDocumentCallback" in message:  # pyoxigraph's wording for a remote @context
        return InputError(
            "the JSON-LD @context is a URL, and kzld never fetches remote contexts",
            path=str(path),
            hint="put the context inline in the file (an object, not a URL)",
        )
    return InputError(
        f"{fmt.name} syntax error: {message}",
        path=str(path),
        line=line,
        column=column,
        hint="fix the file; nothing was written",
    )


def _may_hold_bad_terms(raw: bytes) -> bool:
    """Whether Turtle or N-Triples (valid UTF-8) may hold an IRI or literal `_check_iris`
    refuses. Every IRI's scheme is written after a "<" (a prefixed name's in its prefix);
    a NUL is written as itself or escaped; a surrogate can only be escaped. Searching the
    bytes is exact: in UTF-8, no byte of a multi-byte character is ASCII."""
    # One byte is searched 20 times faster than two: most files hold no backslash at all.
    escaped = b"\\" in raw and (b"\\u" in raw or b"\\U" in raw)
    return escaped or b"\x00" in raw or _SUSPECT_IRI.search(raw) is not None


def _may_link_genids(raw: bytes, fmt: RdfFormat, blank_nodes: bool) -> bool:
    """Whether the file may hold a triple from one genid node to another, the only kind a
    cycle of them is made of. Exact for N-Triples with no blank node and no \\u escape:
    there a triple is one line and an IRI is spelt as its bytes, so such a link is a line
    whose subject and object are genid IRIs (a literal naming one only costs the full check)."""
    if _GENID_BYTES not in raw:
        return False
    if fmt is not NTRIPLES or blank_nodes or b"\\u" in raw or b"\\U" in raw:
        return True
    return _GENID_LINK.search(raw) is not None


def _may_hold_blank_nodes(raw: bytes) -> bool:
    """Whether Turtle or N-Triples may hold a blank node: "_:", "[" or a list."""
    return b"_:" in raw or b"[" in raw or b"(" in raw


def _terms(triple: ox.Triple) -> Iterable[object]:
    return (triple.subject, triple.predicate, triple.object)


def _check_iris(triples: list[ox.Triple], text: str, path: Path) -> None:
    # Each distinct term is checked once; a million triples hold far fewer distinct terms.
    terms = {t.subject for t in triples} | {t.predicate for t in triples}
    terms |= {t.object for t in triples}
    bad = {term for term in terms if _term_problem(term, text, path) is not None}
    if not bad:
        return
    # Report the first bad term in file order, so the message is the same on every run.
    for triple in triples:
        for term in _terms(triple):
            if term in bad:
                raise _term_problem(term, text, path)


def _term_problem(term: object, text: str, path: Path) -> InputError | None:
    if isinstance(term, ox.NamedNode):
        if term.value.startswith(_NO_BASE):
            relative = term.value[len(_NO_BASE) :]
            return InputError(
                f"relative IRI <{relative}> and no base to resolve it against",
                path=str(path),
                line=_line_of(text, relative),
                hint="write the full IRI, or set @base in the @context",
            )
        if not _ALLOWED_SCHEMES.match(term.value):
            return InputError(
                f"IRI <{term.value}> uses a scheme kzld does not publish",
                path=str(path),
                line=_line_of(text, term.value),
                hint="use http(s):, urn:, mailto: or tag: IRIs",
            )
    if isinstance(term, ox.Literal):
        if "\x00" in term.value:
            # Valid RDF, but C-based tools (rapper, many stores) cut the string there.
            return InputError(
                "literal holds a NUL character (U+0000), which other RDF tools truncate",
                path=str(path),
                line=_line_of(text, term.value.split("\x00")[0][:20] or "\\u0000"),
                hint="remove the character",
            )
        if _has_lone_surrogate(term.value):
            return InputError(
                "literal holds a lone UTF-16 surrogate, which is not a character",
                path=str(path),
                line=_line_of(text, term.value[:20]),
            )
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(value: str) -> bool:
    return _SURROGATE.search(value) is not None


def _line_of(text: str, needle: str) -> int | None:
    index = text.find(needle)
    return None if index < 0 else text.count("\n", 0, index) + 1


def _has_blank(triple: ox.Triple) -> bool:
    return isinstance(triple.subject, ox.BlankNode) or isinstance(triple.object, ox.BlankNode)


def _skolemise(triples: list[ox.Triple], path: Path) -> list[ox.Triple]:
    """Replace each blank node by an IRI hashed from its description (like Wikibase's
    reference nodes): identical content gives the same IRI in every run."""
    outgoing: dict[ox.BlankNode, list[ox.Triple]] = {}
    incoming: dict[ox.BlankNode, list[ox.Triple]] = {}
    for t in triples:
        if isinstance(t.subject, ox.BlankNode):
            outgoing.setdefault(t.subject, []).append(t)
        if isinstance(t.object, ox.BlankNode):
            incoming.setdefault(t.object, []).append(t)
    names: dict[ox.BlankNode, ox.NamedNode] = {}

    def digest(parts: list[str]) -> ox.NamedNode:
        text = "\n".join(sorted(parts))
        return ox.NamedNode(GENID + hashlib.sha256(text.encode("utf-8")).hexdigest()[:24])

    def shown(term) -> str:
        # A node that says nothing of its own is "[]" to the node pointing at it: its parser
        # label is random, and its own name waits for that node's (below).
        if isinstance(term, ox.BlankNode) and term not in outgoing:
            return "[]"
        return str(names.get(term, term))

    def describe(node: ox.BlankNode) -> ox.NamedNode:
        return digest([f"{t.predicate} {shown(t.object)}" for t in outgoing[node]])

    # Depth first with a stack of its own, not recursion: a list of any length or blank
    # nodes nested to any depth are named, each after the nodes it points to.
    for root in outgoing:
        if root in names:
            continue
        stack: list[tuple[ox.BlankNode, int]] = [(root, 0)]
        on_path = {root}
        while stack:
            node, at = stack[-1]
            below = outgoing.get(node, [])
            while at < len(below):
                obj = below[at].object
                at += 1
                if isinstance(obj, ox.BlankNode) and obj in outgoing and obj not in names:
                    if obj in on_path:
                        raise InputError(
                            "blank nodes refer to each other in a cycle; give them IRIs",
                            path=str(path),
                        )
                    stack[-1] = (node, at)
                    stack.append((obj, 0))
                    on_path.add(obj)
                    break
            else:
                names[node] = describe(node)
                stack.pop()
                on_path.discard(node)
    # A node only pointed at: its context, now named, is all it has.
    for node, pointers in incoming.items():
        if node not in outgoing:
            names[node] = digest(
                [f"^{names.get(t.subject, t.subject)} {t.predicate}" for t in pointers]
            )
    result = []
    for t in triples:
        s = names.get(t.subject, t.subject) if isinstance(t.subject, ox.BlankNode) else t.subject
        o = names.get(t.object, t.object) if isinstance(t.object, ox.BlankNode) else t.object
        result.append(ox.Triple(s, t.predicate, o))
    return result
