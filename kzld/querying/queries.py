"""The canned-query catalogue, parameter binding, name resolution and the two query engines.

A canned query is a ``.rq`` file in ``queries/`` whose ``#+ key: value`` header (in the
style of grlc and BASIL) names it, describes it, types its parameters and orders its
columns. Parameter values are RDF terms, given to both engines in a ``VALUES`` block
written by pyoxigraph from the terms; no user text is ever pasted into query text.
(pyoxigraph's ``substitutions=`` gives the same rows but is not pushed into the query
plan: successors for one post takes 1.7 s instead of 0.01 s on a million triples.)
"""

from __future__ import annotations

import difflib
import os
import re
import signal
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from kzld import dates
from kzld.errors import QueryTimeout, UsageError
from kzld.sparql_text import check_read_only, query_form, tokens
from kzld.vocabulary import ID, KZ, XSD

# What each parameter type names, and the class its candidates belong to.
_NAMED_KINDS = {
    "post": KZ + "Post",
    "person": KZ + "Person",
    "org": KZ + "Organisation",
    "type": KZ + "Event",
}
PARAM_TYPES = frozenset(_NAMED_KINDS) | {"date"}
_ID_PATHS = {"post": "post", "person": "person", "org": "organisation"}


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    example: str = ""
    description: str = ""


@dataclass(frozen=True)
class CannedQuery:
    name: str
    summary: str
    description: str
    params: tuple[Param, ...]
    columns: tuple[str, ...]
    lists: tuple[str, ...]  # columns holding a GROUP_CONCAT list, sorted for stable output
    separator: str  # the GROUP_CONCAT separator of those lists
    order: tuple[str, ...]  # variables the rows are sorted by, then every shown column
    text: str
    path: Path

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


@dataclass
class Results:
    """Rows of a SELECT query, as RDF terms (None where a variable is unbound)."""

    columns: list[str]
    rows: list[tuple[ox.NamedNode | ox.BlankNode | ox.Literal | None, ...]] = field(
        default_factory=list
    )


class Rows(list):
    """A SELECT query's answer as the Python API gives it: one dict a row (column ->
    pyoxigraph term, None where unbound), in the query's order. ``columns`` names the
    columns even when no row came back; ``results`` is the same answer as a table."""

    def __init__(self, results: Results):
        super().__init__(dict(zip(results.columns, row, strict=True)) for row in results.rows)
        self.columns = list(results.columns)
        self.results = results


# --------------------------------------------------------------------------- catalogue


def catalogue(folder: Path | None = None) -> dict[str, CannedQuery]:
    """Every canned query in the queries folder (bundled by default), by name."""
    from kzld.loading.resources import bundled

    folder = folder or bundled("queries")
    found: dict[str, CannedQuery] = {}
    for path in sorted(folder.glob("*.rq")):
        query = read_query(path)
        found[query.name] = query
    return found


def canned(name: str) -> CannedQuery:
    """The bundled canned query of that name; an unknown name is a usage error that names
    the closest ones."""
    found = catalogue()
    if name not in found:
        close = difflib.get_close_matches(name, list(found), n=3)
        raise UsageError(
            f"no canned query named {name!r}",
            hint=("did you mean: " + ", ".join(close) + "? " if close else "")
            + "list them with: kzld query",
        )
    return found[name]


def read_query(path: Path) -> CannedQuery:
    """Read one .rq file and its header."""
    text = path.read_text(encoding="utf-8")
    header: dict[str, str] = {}
    params: list[Param] = []
    for line in text.splitlines():
        if not line.startswith("#+"):
            continue
        key, _, value = line[2:].strip().partition(":")
        key, value = key.strip(), value.strip()
        if key == "param":
            params.append(_read_param(value, path))
        else:
            header[key] = value
    for required in ("name", "summary", "columns"):
        if required not in header:
            raise UsageError(f"{path}: the header has no '#+ {required}:' line")
    return CannedQuery(
        name=header["name"],
        summary=header["summary"],
        description=header.get("description", ""),
        params=tuple(params),
        columns=tuple(header["columns"].split()),
        lists=tuple(header.get("lists", "").split()),
        separator=header.get("separator", ",").strip() + " ",
        order=tuple(header.get("order", "").split()),
        text=text,
        path=path,
    )


def _read_param(value: str, path: Path) -> Param:
    # "#+ param: post; type: post; example: minister-of-defence; description: ..."
    name, *rest = (part.strip() for part in value.split(";"))
    fields = dict(part.partition(":")[::2] for part in rest)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    kind = fields.get("type", "")
    if "default" in fields:  # a default only kzld knew would make the raw file differ
        raise UsageError(
            f"{path}: parameter {name!r} has a default in its header",
            hint="write the default into the query, e.g. BIND (COALESCE(?type, kz:Event) AS ?t)",
        )
    if kind not in PARAM_TYPES:
        raise UsageError(f"{path}: parameter {name!r} has unknown type {kind!r}")
    return Param(
        name=name,
        type=kind,
        example=fields.get("example", ""),
        description=fields.get("description", ""),
    )


def lookup_text(name: str) -> str:
    """A helper query kzld itself runs (queries/lookup/NAME.rq)."""
    from kzld.loading.resources import bundled

    return (bundled("queries") / "lookup" / f"{name}.rq").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- engines


class LocalEngine:
    """The embedded pyoxigraph store; queries run in a thread abandoned at the timeout."""

    def __init__(self, store: ox.Store, timeout: float = 30.0, memory: int | None = None):
        self.store = store
        self.timeout = timeout
        self.memory = memory if memory is not None else query_memory()

    def select(self, text: str, bindings: dict[str, ox.NamedNode | ox.Literal]) -> Results:
        query = with_values(text, bindings)
        outcome: list[Results | BaseException] = []

        def work() -> None:
            try:
                solutions = self.store.query(query)
                if not isinstance(solutions, ox.QuerySolutions):
                    raise UsageError("only SELECT queries can be shown as a table")
                names = [v.value for v in solutions.variables]
                # tuple(solution) is in the variables' order, and half the cost of s[name].
                outcome.append(Results(names, [tuple(s) for s in solutions]))
            except BaseException as err:  # handed to the waiting thread
                outcome.append(err)

        # A daemon thread: pyoxigraph releases the GIL while it evaluates, so a runaway
        # query can be abandoned here and dies with the process.
        worker = threading.Thread(target=work, name="kzld-query", daemon=True)
        worker.start()
        worker.join(self.timeout)
        if worker.is_alive():
            raise QueryTimeout(
                f"the query ran longer than {self.timeout:g} s and was stopped",
                hint="narrow it with parameters, or raise --timeout",
            )
        result = outcome[0]
        if isinstance(result, SyntaxError):
            raise UsageError(f"the query is not valid SPARQL: {result}") from None
        if isinstance(result, BaseException):
            raise result
        return result

    def select_isolated(self, text: str) -> Results:
        """Run a user's query in a forked child with a memory cap and the OS network guard,
        killed at the timeout: a runaway query costs the child, never this process."""
        import warnings

        from kzld.loading import sandbox

        reader, writer = os.pipe()
        with warnings.catch_warnings():
            # Python 3.12 warns of fork with threads; the child runs only pyoxigraph's
            # query, in Rust, and never touches a lock another thread may hold.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: the store is its copy of the parent's
            os.close(reader)
            code = 0
            try:
                # Rust's own report of a failed allocation is the parent's to put in words.
                os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
                sandbox.confine_memory(self.memory)
                sandbox.forbid_outbound_network()
                payload = _answer(self.store, text)
                with os.fdopen(writer, "wb") as out:
                    out.write(payload)
            except BaseException:  # noqa: BLE001 - whatever happens, the child ends here
                code = 1
            finally:
                os._exit(code)
        os.close(writer)
        try:
            payload, finished = _read_until(reader, time.monotonic() + self.timeout)
        except BaseException:  # Ctrl-C and the like: the query must not run on, orphaned
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
        finally:
            os.close(reader)
        if not finished:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        if not finished:
            raise QueryTimeout(
                f"the query ran longer than {self.timeout:g} s and was stopped",
                hint="narrow it with parameters, or raise --timeout",
            )
        kind, body = payload[:1], payload[1:]
        if kind == b"R":
            answer = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
            return Results([v.value for v in answer.variables], [tuple(s) for s in answer])
        if kind in (b"S", b"U"):
            message = body.decode("utf-8", "replace")
            raise UsageError(
                f"the query is not valid SPARQL: {message}" if kind == b"S" else message
            )
        if kind == b"E":
            raise UsageError(f"the query failed: {body.decode('utf-8', 'replace')}")
        # No answer: the child died, in practice at the memory cap (Rust aborts on it).
        raise QueryTimeout(
            f"the query needed more than {self.memory // 2**20} MiB of memory and was stopped",
            hint="narrow it (LIMIT, fewer joins), or raise KZLD_QUERY_MEMORY_MB",
        )


def _answer(store: ox.Store, text: str) -> bytes:
    """The child's reply: R + SPARQL JSON results, or S/U/E + a message; M at the cap."""
    try:
        solutions = store.query(text)
        if not isinstance(solutions, ox.QuerySolutions):
            return b"Uonly SELECT queries can be shown as a table"
        return b"R" + solutions.serialize(format=ox.QueryResultsFormat.JSON)
    except SyntaxError as err:
        return b"S" + str(err).encode()
    except MemoryError:
        return b""
    except Exception as err:  # noqa: BLE001 - an evaluation error: reported, not raised
        return b"E" + f"{err}".encode()


def _read_until(fd: int, deadline: float) -> tuple[bytes, bool]:
    """Everything written to fd before the writer closes it, unless the deadline passes."""
    import select

    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"", False
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)


class RemoteEngine:
    """A SPARQL 1.1 endpoint reached through kzld.querying.endpoints."""

    def __init__(self, endpoint: str, timeout: float = 30.0, graph: str | None = None):
        self.endpoint = endpoint
        self.timeout = timeout
        self.graph = graph  # sent as default-graph-uri: data loaded into a named graph
        self.sent: list[str] = []  # every query text sent, for inspection

    def select(self, text: str, bindings: dict[str, ox.NamedNode | ox.Literal]) -> Results:
        from kzld.querying.endpoints import select

        query = with_values(text, bindings)
        self.sent.append(query)
        answer = select(self.endpoint, query, timeout=self.timeout, graph=self.graph)
        if "boolean" in answer:
            raise UsageError("only SELECT queries can be shown as a table")
        try:
            names = list(answer["head"]["vars"])
            bindings = answer["results"]["bindings"]
            rows = [tuple(_term(b.get(n)) for n in names) for b in bindings]
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            from kzld.errors import EndpointBadResponse

            raise EndpointBadResponse(
                f"{self.endpoint} sent SPARQL results with a malformed binding ({err!r})"
            ) from None
        return Results(names, rows)


def _term(value: dict | None):
    if value is None:
        return None
    kind = value.get("type")
    if kind == "uri":
        return ox.NamedNode(value["value"])
    if kind == "bnode":
        return ox.BlankNode(value["value"])
    if "xml:lang" in value:
        return ox.Literal(value["value"], language=value["xml:lang"])
    if "datatype" in value:
        return ox.Literal(value["value"], datatype=ox.NamedNode(value["datatype"]))
    return ox.Literal(value["value"])


# --------------------------------------------------------------------------- binding


def with_values(text: str, bindings: dict[str, ox.NamedNode | ox.Literal]) -> str:
    """The query with a VALUES block of these terms opening its WHERE clause.

    Each term is written by pyoxigraph (which escapes it), so a value can never end the
    block early; variable names come from the query header, never from the user."""
    if not bindings:
        return text
    names = sorted(bindings)
    for name in names:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise UsageError(f"not a SPARQL variable name: {name!r}")
    row = " ".join(str(bindings[n]) for n in names)
    block = f" VALUES ({' '.join('?' + n for n in names)}) {{ ({row}) }}"
    opening = where_opening(text)
    return text[: opening + 1] + block + text[opening + 1 :]


def where_opening(text: str) -> int:
    """Offset of the '{' that opens the outer WHERE clause."""
    after_where = False
    for token in tokens(text):
        if token.kind == "word" and token.text.upper() == "WHERE":
            after_where = True
        elif token.kind == "punct" and token.text == "{":
            return token.start  # the first group opens the WHERE clause, with or without WHERE
    raise UsageError("the query has no WHERE clause" if not after_where else "no '{' after WHERE")


# --------------------------------------------------------------------------- parameters


def parse_date(text: str) -> ox.Literal:
    """A date parameter at the precision given: 2022, 2022-03 or 2022-03-09."""
    given = dates.parse_date(text)
    datatype = {"day": "date", "month": "gYearMonth", "year": "gYear"}[given.precision]
    return ox.Literal(given.text, datatype=ox.NamedNode(XSD + datatype))


def normalise(name: str) -> str:
    """A name as compared: no accents, no case, words separated by one space."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[\W_]+", " ", plain.casefold()).split())


def local_name(iri: str) -> str:
    return re.split(r"[/#]", iri.rstrip("/"))[-1]


def _direct_iri(kind: str, wanted: str) -> ox.NamedNode | None:
    """The IRI a value names outright: an IRI, or a data slug of this kind."""
    if re.fullmatch(r"https?://\S+", wanted):
        try:
            return ox.NamedNode(wanted)
        except ValueError:
            return None
    if kind in _ID_PATHS and re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", wanted):
        return ox.NamedNode(f"{ID}{_ID_PATHS[kind]}/{wanted}")
    return None


def resolve(engine, kind: str, given: str) -> ox.NamedNode:
    """The one thing of this kind named by an IRI, a slug or any label or spelling."""
    lookup = lookup_text("types" if kind == "type" else "names")
    wanted = given.strip().strip("<>")
    direct = _direct_iri(kind, wanted)
    if direct is not None:  # an existing IRI or slug is taken as is, without listing names
        bound = {"class": ox.NamedNode(_NAMED_KINDS[kind]), "thing": direct}
        if engine.select(lookup, bound).rows:
            return direct
    names: dict[str, set[str]] = {}
    found = engine.select(lookup, {"class": ox.NamedNode(_NAMED_KINDS[kind])})
    thing_at, name_at = found.columns.index("thing"), found.columns.index("name")
    for row in found.rows:
        thing, name = row[thing_at], row[name_at]
        if isinstance(thing, ox.NamedNode):
            names.setdefault(thing.value, {local_name(thing.value)})
            if isinstance(name, ox.Literal):
                names[thing.value].add(name.value)
    if wanted in names:
        return ox.NamedNode(wanted)
    key = normalise(wanted)
    exact = sorted(iri for iri, spellings in names.items() if key in map(normalise, spellings))
    partial = sorted(
        iri
        for iri, spellings in names.items()
        if key and any(f" {key} " in f" {normalise(s)} " for s in spellings)
    )
    matches = exact or partial
    if len(matches) == 1:
        return ox.NamedNode(matches[0])
    label = {"org": "organisation", "type": "event type"}.get(kind, kind)
    if matches:
        raise UsageError(
            f"{given!r} names {len(matches)} {label}s: "
            + ", ".join(local_name(m) for m in matches[:8]),
            hint=f"give the slug or IRI of the {label} you mean",
        )
    every = {normalise(s): iri for iri, spellings in names.items() for s in spellings}
    close = difflib.get_close_matches(key, list(every), n=5, cutoff=0.6)
    suggestions = sorted({local_name(every[c]) for c in close})
    raise UsageError(
        f"no {label} is named {given!r}",
        hint=("did you mean: " + ", ".join(suggestions) + "?")
        if suggestions
        else f"name the {label} by IRI, slug or any of its labels",
    )


def bind(
    query: CannedQuery, engine, given: dict[str, str | None]
) -> dict[str, ox.NamedNode | ox.Literal]:
    """RDF terms for the parameters given: names resolved, dates parsed, the rest refused."""
    unknown = [name for name, value in given.items() if value and query.param(name) is None]
    if unknown:
        accepted = ", ".join("--" + p.name for p in query.params) or "none"
        raise UsageError(
            f"query {query.name!r} takes no --{unknown[0]}", hint=f"its parameters: {accepted}"
        )
    bindings: dict[str, ox.NamedNode | ox.Literal] = {}
    for param in query.params:
        value = given.get(param.name)
        if not value:
            continue
        if param.type == "date":
            bindings[param.name] = parse_date(value)
        else:
            bindings[param.name] = resolve(engine, param.type, value)
    return bindings


# --------------------------------------------------------------------------- running


def run_canned(query: CannedQuery, engine, given: dict[str, str | None]) -> Results:
    """Run a canned query with its parameters; columns in the header's order."""
    return tidy(query, engine.select(query.text, bind(query, engine, given)))


def tidy(query: CannedQuery, raw: Results) -> Results:
    """The header's columns in its order, list items sorted, the rows sorted by the header's
    `order` variables and then every column: the same on every engine."""
    missing = [c for c in (*query.columns, *query.order) if c not in raw.columns]
    if missing:  # only an endpoint can answer with other variables than the query's
        from kzld.errors import EndpointBadResponse

        raise EndpointBadResponse(
            f"the results of {query.name!r} lack the column ?{missing[0]} "
            f"(they have: {', '.join('?' + c for c in raw.columns[:8]) or 'none'})",
            hint="the endpoint answered another query than the one sent",
        )
    index = [raw.columns.index(c) for c in query.columns]
    lists = {query.columns.index(c) for c in query.lists}
    keyed = []
    for row in raw.rows:
        picked = [row[i] for i in index]
        for i in lists:
            picked[i] = _sorted_list(picked[i], query.separator)
        named = dict(zip(raw.columns, row, strict=True)) | dict(
            zip(query.columns, picked, strict=True)
        )
        key = tuple(_order_key(named[c]) for c in (*query.order, *query.columns))
        keyed.append((key, tuple(picked)))
    keyed.sort(key=lambda pair: pair[0])
    return Results(list(query.columns), [row for _, row in keyed])


def _order_key(term) -> tuple[bool, str]:
    """Unbound last, else by the term's string, the code points in order: dates of every
    precision and language-tagged labels sort alike on every engine (SPARQL leaves the
    order of language-tagged literals to the engine)."""
    return (True, "") if term is None else (False, term.value)


def run_text(text: str, engine, origin: str = "the query") -> Results:
    """Run a user's read-only SELECT query."""
    check_read_only(text, origin)
    form = query_form(text)
    if form != "SELECT":
        raise UsageError(
            f"{origin}: only SELECT queries are supported, not {form}",
            hint="rewrite it as a SELECT",
        )
    try:  # on an empty store: a syntax error is reported before any data or host is used
        ox.Store().query(text)
    except SyntaxError as err:
        raise UsageError(f"{origin}: not valid SPARQL: {err}") from None
    if isinstance(engine, LocalEngine) and hasattr(os, "fork"):
        return engine.select_isolated(text)
    return engine.select(text, {})


def query_memory() -> int:
    """Bytes a user query may use beyond what the process holds: KZLD_QUERY_MEMORY_MB."""
    given = os.environ.get("KZLD_QUERY_MEMORY_MB", "2048")
    try:
        megabytes = int(given)
    except ValueError:
        megabytes = 0
    if megabytes <= 0:
        raise UsageError(f"KZLD_QUERY_MEMORY_MB is not a positive whole number: {given!r}")
    return megabytes * 2**20


# Every list column is shown joined the same way, whatever token its query splits on (a
# reason may hold commas; "; " reads as a list in every output format).
LIST_SEPARATOR = "; "


def _sorted_list(term, separator: str):
    # GROUP_CONCAT's order differs between engines and stores: sort the items.
    if not isinstance(term, ox.Literal) or not term.value:
        return term
    items = sorted({item.strip() for item in term.value.split(separator.strip())} - {""})
    return ox.Literal(LIST_SEPARATOR.join(items))


def check_graph_iri(graph: str, label: str = "the named graph") -> None:
    """A graph name must be an IRI before any store is asked about it."""
    try:
        ox.NamedNode(graph)
    except ValueError as err:
        raise UsageError(f"{label} is not an IRI: {err}") from None
