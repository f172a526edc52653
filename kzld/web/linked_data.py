"""Dereferenceable kzld IRIs: every entity (/id/..., and the citations' /.well-known/genid/...)
and the ontology with its version IRIs answer in HTML for people and in each RDF format
for machines, by content negotiation or by a file suffix; plus the landing page and the
timeline. Pages that never change are made once, at start."""

from __future__ import annotations

from urllib.parse import quote

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import Response

from kzld.loading.formats import FORMATS
from kzld.loading.graph import GENID, KGraph
from kzld.vocabulary import OWL
from kzld.web.downloads import Downloads
from kzld.web.http_basics import (
    HTML,
    HttpError,
    html_response,
    is_iri,
    negotiate,
    not_acceptable,
    typed,
)
from kzld.web.site import (
    ID_BASE,
    KZ,
    ONTOLOGY_IRI,
    Index,
    entity_html,
    is_entity,
    landing_html,
    ontology_html,
    serialize,
)

OWL_VERSION_IRI = ox.NamedNode(OWL + "versionIRI")
ENTITY_TYPES = [HTML, *(f.media_type for f in FORMATS)]  # what an IRI can be answered in
_BY_MEDIA_TYPE = {f.media_type: f for f in FORMATS}
_BY_SUFFIX = {f.extension: f.media_type for f in FORMATS} | {".html": HTML}


def link(node: ox.NamedNode) -> str | None:
    """Where this server answers a kzld IRI (None for IRIs of others)."""
    if is_entity(node):
        return "/id/" + quote(node.value[len(ID_BASE) :])
    if node.value.startswith(KZ):
        return "/ontology#" + quote(node.value[len(KZ) :])
    return None


class LinkedDataPages:
    """The landing page, the timeline, the ontology and every entity of the served graph."""

    def __init__(self, graph: KGraph, index: Index, downloads: Downloads):
        from kzld.web.timeline import timeline_svg

        self.index = index
        self.downloads = downloads  # the ontology's RDF is its published dump
        self.versions = {
            t.object.value
            for t in graph.triples
            if t.predicate == OWL_VERSION_IRI and t.subject.value == ONTOLOGY_IRI
        }
        svg = timeline_svg(index, link, standalone=False)
        dumps = [f"/kzld{f.extension}" for f in FORMATS]
        self.landing_page = landing_html(index, link, dumps, svg, "/ontology", "/")
        self.ontology_page = ontology_html(index, "/")
        self.timeline = timeline_svg(index, link)

    def landing(self) -> Response:
        return html_response(self.landing_page)

    def timeline_svg(self) -> Response:
        return Response(self.timeline, media_type="image/svg+xml; charset=utf-8")

    async def ontology(self, request: Request, path: str, accept: str | None) -> Response:
        """The ontology (and its version IRIs): documentation, or the published dump."""
        forced = None
        if path.startswith("/ontology/"):
            version = ONTOLOGY_IRI + path[len("/ontology") :]
            for suffix, media in _BY_SUFFIX.items():
                if version.endswith(suffix) and version[: -len(suffix)] in self.versions:
                    version, forced = version[: -len(suffix)], media
            if version not in self.versions:
                known = ", ".join(sorted(self.versions)) or "none"
                raise HttpError(404, f"no such ontology version; this server has {known}")
        elif path == "/ontology.html":
            forced = HTML
        media = forced or negotiate(accept, ENTITY_TYPES)
        if media is None:
            raise not_acceptable(ENTITY_TYPES)
        if media == HTML:
            return html_response(self.ontology_page, {"Vary": "Accept"})
        extension = _BY_MEDIA_TYPE[media].extension
        response = await self.downloads.response(request, "kzld-ontology" + extension)
        response.headers["Vary"] = "Accept"
        return response

    def entity(self, iri: str, accept: str | None) -> Response:
        """One entity's description: a suffix (.ttl, .html, ...) forces the format."""
        forced = None
        for suffix, media in _BY_SUFFIX.items():
            if iri.endswith(suffix):
                iri, forced = iri[: -len(suffix)], media
                break
        node = ox.NamedNode(iri) if is_iri(iri) else None
        if node is None or node not in self.index.outgoing:
            raise HttpError(404, f"no such kzld entity: {iri}")
        media = forced or negotiate(accept, ENTITY_TYPES)
        if media is None:
            raise not_acceptable(ENTITY_TYPES)
        headers = {"Vary": "Accept"}
        if media == HTML:
            return html_response(entity_html(self.index, node, link, "/"), headers)
        data = serialize(self.index.description(node), _BY_MEDIA_TYPE[media].oxigraph)
        return Response(data, 200, headers, media_type=typed(media))

    def entity_at(self, path: str, accept: str | None) -> Response | None:
        """The entity a server path names (/id/... or /.well-known/genid/...), if it names one."""
        if path.startswith("/id/"):
            return self.entity(ID_BASE + path[len("/id/") :], accept)
        if path.startswith("/.well-known/genid/"):
            return self.entity(GENID + path[len("/.well-known/genid/") :], accept)
        return None
