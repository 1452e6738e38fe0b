"""The OpenAPI document and Swagger UI: served without a key, generated from the handlers' routes."""

from __future__ import annotations

import re

from tests.conftest import GATEWAY, Client


def _document_path(template_path: str) -> str:
    """/contacts.xml -> /contacts; parameters keep their names ({contact_id})."""
    return re.sub(r"\.(json|xml)$", "", template_path)


def test_openapi_documents_every_route_of_the_template(store: str) -> None:
    reply = Client().get("/openapi.json")
    assert reply.status == 200
    assert reply.headers["cache-control"] == "no-store"
    document = reply.json()
    assert document["openapi"].startswith("3.")
    assert set(document["components"]["securitySchemes"]) == {"apiKey", "basic", "queryKey"}
    documented = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    routed = {
        (route.method, _document_path(route.path))
        for route in GATEWAY.template.routes
        if route.function != "DocsFunction"  # the docs routes document the others
    }
    assert routed == documented


def test_the_web_form_is_documented_as_a_form_without_an_api_key(store: str) -> None:
    form = Client().get("/openapi.json").json()["paths"]["/forms/contacts"]["post"]
    assert form["security"] == []
    assert set(form["requestBody"]["content"]) == {"application/x-www-form-urlencoded", "multipart/form-data"}
    assert {"key", "contact", "redirect_on_success", "homepage"} <= set(
        form["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    )
    edit = Client().get("/openapi.json").json()["paths"]["/contacts"]["patch"]
    assert "security" not in edit  # the document's default: a key


def test_operations_describe_parameters_and_bodies(store: str) -> None:
    paths = Client().get("/openapi.json").json()["paths"]
    create = paths["/contacts"]["post"]
    schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["first_name"]
    # OpenAPI 3.1 has no "nullable": a field that may be null says so in its type.
    assert schema["properties"]["birthday"] == {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]}
    assert schema["properties"]["first_name"] == {"type": "string", "maxLength": 255}
    assert schema["properties"]["id"] == {"type": "integer", "minimum": 0, "readOnly": True}
    assert schema["properties"]["tags"]["type"] == "array"  # an empty list, never null
    document = Client().get("/openapi.json").text
    assert '"nullable"' not in document
    listing = {p["name"] for p in paths["/contacts"]["get"]["parameters"]}
    assert {"limit", "offset", "page", "cursor", "format"} <= listing
    assert "201" in create["responses"]


def test_swagger_ui_is_served_without_a_key(store: str) -> None:
    reply = Client().get("/docs")
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    assert "SwaggerUIBundle" in reply.text
    assert '"/contacts/{contact_id}"' in reply.text
