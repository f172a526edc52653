"""The HTTP side of the Reconciliation Service API 0.2: /reconcile (the manifest, or a batch
of queries), /reconcile/preview, /reconcile/view and /reconcile/suggest/entity. The
matching itself is kzld/web/reconcile_api.py's."""

from __future__ import annotations

import asyncio
import json
from html import escape

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import Response

from kzld.web.http_basics import (
    HttpError,
    base_url,
    html_response,
    is_iri,
    json_response,
    one_param,
    unless_gone,
)
from kzld.web.linked_data import link
from kzld.web.reconcile_api import BadQuery, Reconciler
from kzld.web.site import ALT_LABEL, Index, is_entity, page


class ReconciliationService:
    """OpenRefine's questions about kzld's entities, each answered within bounded work."""

    def __init__(self, index: Index, batch: int):
        self.index = index
        self.reconciler = Reconciler(index)
        self.batch = batch  # queries in one request

    async def reconcile(self, request: Request, params: dict) -> Response:
        """The manifest, or the candidates for each query of a batch."""
        if "queries" not in params:
            return json_response(self.reconciler.manifest(base_url(request)))
        checked = self._checked_batch(one_param(params, "queries"))

        async def score() -> dict:
            # One query at a time on a thread: the loop stays free, and a client that
            # leaves stops the batch at the next query.
            answer = {}
            for key, query in checked.items():
                answer[key] = {"result": await asyncio.to_thread(self.reconciler.reconcile, query)}
            return answer

        return json_response(await unless_gone(request, score()))

    def _checked_batch(self, text: str) -> dict:
        """The batch's queries, each checked, or the refusal that says what is wrong."""
        try:
            batch = json.loads(text)
        except json.JSONDecodeError as err:
            raise HttpError(
                400, f"'queries' is not JSON: {err.msg} at character {err.pos}"
            ) from None
        except RecursionError:
            raise HttpError(400, "'queries' is nested too deeply") from None
        if not isinstance(batch, dict):
            raise HttpError(
                400,
                "'queries' must be an object of query objects",
                hint='{"q0": {"query": "Murat Bektanov"}}',
            )
        if len(batch) > self.batch:
            raise HttpError(413, f"at most {self.batch} queries per batch")
        try:
            return {key: self.reconciler.check(q) for key, q in batch.items()}
        except BadQuery as err:
            raise HttpError(400, err.message, hint=err.hint) from None

    def preview(self, iri: str) -> Response:
        """A small HTML card of one entity, for OpenRefine's preview pane."""
        node = ox.NamedNode(iri) if is_iri(iri) else None
        if node is None or not is_entity(node) or node not in self.index.outgoing:
            raise HttpError(404, "no such kzld entity")
        names = [v.value for v in self.index.values(node, ALT_LABEL)]
        kinds = ", ".join(self.index.label(t) for t in self.index.types(node))
        body = (
            f"<h1>{escape(self.index.label(node))}</h1><p>{escape(kinds)}</p>"
            + (f"<p>also: {escape('; '.join(names))}</p>" if names else "")
            + f'<p><a href="{escape(link(node) or "")}">{escape(iri)}</a></p>'
        )
        return html_response(page(self.index.label(node), body, "/"))

    def view(self, iri: str) -> Response:
        """A redirect to the entity's page on this server."""
        target = link(ox.NamedNode(iri)) if is_iri(iri) else None
        if target is None:
            raise HttpError(404, "no such kzld entity")
        return Response(b"", 303, {"Location": target})

    def suggest(self, prefix: str) -> Response:
        return json_response({"result": self.reconciler.suggest(prefix)})
