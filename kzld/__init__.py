"""kzld: a linked-data publication toolkit for the reshuffle of Kazakhstan's military leadership.

The Python API is the front door the command line itself goes through: ``load`` the
bundled or given data, ``validate`` it, ``publish`` the dumps, run a canned ``query`` or
your own ``select``, ``export_wikidata``. Each imports its stage only when called, so
``import kzld`` stays as cheap as the command line's cold start needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pathlib and the stages load only when a function runs
    from collections.abc import Sequence
    from pathlib import Path

    import rdflib

    from kzld.loading.graph import KGraph
    from kzld.publishing.publication import Progress, Publication
    from kzld.querying.queries import Rows
    from kzld.validating.validation import Report

    Paths = Sequence[Path | str] | None

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "export_wikidata",
    "load",
    "load_rdflib",
    "publish",
    "query",
    "select",
    "validate",
]


def load(paths: Paths = None, *, prepare_store: bool = False) -> KGraph:
    """The bundled ontology and data, or the given files and folders, read and checked by
    the one load path. ``.triples`` holds the triples as authored; ``.store()`` is a
    pyoxigraph Store of them for SPARQL (``prepare_store`` starts building it at once)."""
    from kzld.loading.graph import load_graph
    from kzld.loading.resources import default_data_paths

    chosen = list(paths) if paths else default_data_paths()
    return load_graph(chosen, prepare_store=prepare_store)


def load_rdflib(paths: Paths = None) -> rdflib.Graph:
    """The same graph as ``load`` (same files, same checks) as an rdflib Graph, backed by
    its pyoxigraph Store through oxrdflib: nothing is copied, and ``graph.query()`` runs
    on Oxigraph. Literals are the store's, as in kzld's SPARQL answers: a number in
    canonical form ("01"^^xsd:integer reads as 1; ``load().triples`` keep the authored
    form). Blank nodes are kzld's skolem IRIs."""
    from oxrdflib.store import OxigraphStore
    from rdflib import Graph
    from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

    store = OxigraphStore(store=load(paths, prepare_store=True).store())
    return Graph(store=store, identifier=DATASET_DEFAULT_GRAPH_ID)


def validate(
    graph: KGraph | None = None,
    shapes: Paths = None,
    *,
    engine: str = "native",
    fail_on: str = "violation",
) -> Report:
    """Validate a loaded graph (default: the bundled data) against the shapes (default:
    the bundled ones). The report's ``findings`` list every result; ``conforms`` says
    whether any reaches ``fail_on``. Never raises for findings: only for unusable input."""
    from kzld.validating.validation import load_shapes
    from kzld.validating.validation import validate as run

    data = graph if graph is not None else load(prepare_store=engine == "native")
    return run(data, load_shapes(shapes), engine=engine, fail_on=fail_on)


def publish(
    out: Path | str,
    data: Paths = None,
    *,
    lock_wait: float = 10.0,
    progress: Progress | None = None,
) -> Publication:
    """Validate, then write every dump, the description and SHA256SUMS into ``out``
    (swapped into place when complete). Raises CheckFailed when the data does not conform."""
    from pathlib import Path

    from kzld.publishing.publication import publish as build

    return build([Path(p) for p in data] if data else None, Path(out), lock_wait, progress)


def query(
    name: str,
    graph: KGraph | None = None,
    *,
    endpoint: str | None = None,
    named_graph: str | None = None,
    timeout: float = 30.0,
    **params: str | None,
) -> Rows:
    """Run the canned query ``name`` (``queries/<name>.rq``) on a loaded graph (default:
    the bundled data) or on a SPARQL 1.1 ``endpoint`` (``named_graph`` is sent as its
    default-graph-uri), its parameters given by name (``from_`` for ``from``). One dict a
    row, column -> pyoxigraph term (None where unbound), sorted as the query's header says."""
    from kzld.querying import queries

    canned = queries.canned(name)  # an unknown name fails before any data is read
    given = {key.rstrip("_"): value for key, value in params.items()}
    engine = _engine(graph, endpoint, named_graph, timeout)
    return queries.Rows(queries.run_canned(canned, engine, given))


def select(
    text: str,
    graph: KGraph | None = None,
    *,
    endpoint: str | None = None,
    named_graph: str | None = None,
    timeout: float = 30.0,
    origin: str = "the query",
) -> Rows:
    """Run your own read-only SELECT query on a loaded graph (default: the bundled data)
    or on a SPARQL 1.1 ``endpoint``; refused before anything runs if it could update,
    load or reach a service. ``origin`` names the query in error messages."""
    from kzld.querying import queries

    queries.check_read_only(text, origin)  # before any data is read or host reached
    engine = _engine(graph, endpoint, named_graph, timeout)
    return queries.Rows(queries.run_text(text, engine, origin))


def _engine(graph: KGraph | None, endpoint: str | None, named_graph: str | None, timeout: float):
    from kzld.errors import UsageError
    from kzld.querying import queries

    if named_graph is not None:
        queries.check_graph_iri(named_graph)
    if endpoint is not None:
        if graph is not None:
            raise UsageError("a graph and an endpoint exclude each other", hint="choose one")
        return queries.RemoteEngine(endpoint, timeout, named_graph)
    # The embedded store holds one graph, the loaded one: a named graph changes nothing.
    loaded = graph if graph is not None else load(prepare_store=True)
    return queries.LocalEngine(loaded.store(), timeout)


def export_wikidata(graph: KGraph | None = None, notes: list[str] | None = None) -> bytes:
    """The graph (default: the bundled data) in the Wikibase RDF dump shape, as Turtle
    bytes; what cannot be exported is appended to ``notes``."""
    from kzld.wikidata.export import export_wikidata as export

    return export(graph if graph is not None else load(), notes)
