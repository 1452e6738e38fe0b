"""The routes every kind of crm.activities has: list, create, show, change, delete.

A handler module makes its Api, calls ``routes(app, KIND, ...)``, and adds what is its own (a
call's ``complete``); so calls and messages share every line of their plumbing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.event_handler import Response

from crm import activities
from crm.activities import Filter, Kind
from crm.auth import Principal
from crm.http import openapi, views
from crm.http.api import Api, Request, resource_id


def show(request: Request, kind: Kind, record: Any, status: int = 200) -> Response:
    location = f"/{kind.plural}/{int(record.id)}" if status == 201 else None
    view = views.record(kind, record)
    return request.one(kind.name, view, status=status, version=int(record.version), location=location)


def routes(
    app: Api,
    kind: Kind,
    list_filter: Callable[[Mapping[str, str]], Filter],
    filters: tuple[dict[str, Any], ...],
    order: str,
    create_with: Callable[[Principal, Mapping[str, Any]], Any] | None = None,
    shown: Mapping[str, Any] | None = None,
    create_body: Mapping[str, Any] | None = None,
    create_needs: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Declare the kind's routes on ``app``; returns its schema, for the routes a module adds.

    ``create_with(principal, body)`` stands in for crm.activities.create (a photo's, which stores
    an image or signs its upload); ``shown`` and ``create_body`` are the schema's properties that
    a view adds (``Kind.shown``) and that only a create takes; a create needs one of ``create_needs``.
    """
    schema = openapi.record(kind.fields, *(name for name in ("contact_id", kind.required) if name))
    written: dict[str, Any] = {**schema, "properties": {**schema["properties"], **(create_body or {})}}
    if create_needs:
        written = {"anyOf": [{**written, "required": [*written["required"], name]} for name in create_needs]}
    schema = {**schema, "properties": {**schema["properties"], **(shown or {})}}
    one = openapi.wrapped(kind.name, schema)
    collection, item = f"/{kind.plural}", f"/{kind.plural}/<{kind.name}_id>"

    def number(path: Mapping[str, str]) -> int:
        return resource_id(path[f"{kind.name}_id"], kind.label)

    def listing(request: Request) -> Response:
        page = activities.listing(request.principal, kind, list_filter(request.query), request.page())
        return request.many(kind.plural, kind.name, page, [views.record(kind, r) for r in page.items])

    def create(request: Request) -> Response:
        body = request.body(kind.name)
        record = (
            create_with(request.principal, body) if create_with else activities.create(request.principal, kind, body)
        )
        return show(request, kind, record, status=201)

    def read(request: Request, **path: str) -> Response:
        return show(request, kind, activities.get(request.principal, kind, number(path)))

    def update(request: Request, **path: str) -> Response:
        body = request.body(kind.name)
        return show(request, kind, activities.update(request.principal, kind, number(path), body, request.if_match()))

    def delete(request: Request, **path: str) -> Response:
        activities.delete(request.principal, kind, number(path), request.if_match())
        return request.empty()

    for func, name in ((listing, "list"), (create, "create"), (read, "show"), (update, "update"), (delete, "delete")):
        func.__name__ = f"{name}_{kind.name}"
    app.operation(
        "GET",
        collection,
        summary=f"{kind.label}s in {order} order",
        query=(*filters, *openapi.PAGING),
        returns=openapi.listing(kind.plural, schema),
    )(listing)
    app.operation("POST", collection, summary=f"Record a {kind.name}", status=201, body=written, returns=one)(create)
    app.operation("GET", item, summary=f"Show a {kind.name}", returns=one)(read)
    # Its contact is set once: sent back unchanged it is ignored, changed it is a 422.
    fixed = {**schema["properties"]["contact_id"], "readOnly": True}
    app.operation(
        ("PUT", "PATCH"),
        item,
        summary=f"Change a {kind.name} (PUT and PATCH alike); If-Match makes it conditional",
        body={**schema, "properties": {**schema["properties"], "contact_id": fixed}},
        returns=one,
    )(update)
    app.operation("DELETE", item, summary=f"Delete a {kind.name}", status=204)(delete)
    return schema
