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
        and route.method != "ANY"  # any other method: a 405 naming those documented
    }
    assert routed == documented


def test_the_web_form_is_documented_as_a_form_without_an_api_key(store: str) -> None:
    form = Client().get("/openapi.json").json()["paths"]["/forms/contacts"]["post"]
    assert form["security"] == []
    assert set(form["requestBody"]["content"]) == {"application/x-www-form-urlencoded", "multipart/form-data"}
    fields = form["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert {"key", "contact[first_name]", "contact[tags]", "redirect_on_success", "homepage"} <= set(fields)
    edit = Client().get("/openapi.json").json()["paths"]["/contacts"]["patch"]
    assert "security" not in edit  # the document's default: a key


def test_operations_describe_parameters_and_bodies(store: str) -> None:
    paths = Client().get("/openapi.json").json()["paths"]
    create = paths["/contacts"]["post"]
    # A new contact, flat or in its root, named by first_name or (the minimal API) by name; or an edit.
    flat, wrapped = create["requestBody"]["content"]["application/json"]["schema"]["anyOf"]
    assert wrapped["properties"]["contact"] == flat
    assert wrapped["required"] == ["contact"]
    by_first_name, by_name, *edits = flat["anyOf"]
    assert (by_first_name["required"], by_name["required"], len(edits)) == (["first_name"], ["name"], 2)
    schema = by_first_name
    assert schema["additionalProperties"] is False  # an unknown field is a 422
    # OpenAPI 3.1 has no "nullable": a field that may be null says so in its type. A date sent
    # empty is no date, as a form or an XML element sends it.
    birthday = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0}, {"type": "null"}]}
    assert schema["properties"]["birthday"] == birthday
    # A text takes a whole number as its digits (the minimal API sends phones as numbers).
    first_name, as_number = schema["properties"]["first_name"]["anyOf"]
    assert first_name["maxLength"] == 255
    assert as_number == {"type": "integer", "minimum": -(10**15 - 1), "maximum": 10**15 - 1}
    assert re.fullmatch(first_name["pattern"], "Ada")
    assert not re.fullmatch(first_name["pattern"], " \t")  # blank
    assert not re.fullmatch(schema["properties"]["last_name"]["anyOf"][0]["pattern"], "A\u0007")
    assert re.fullmatch(schema["properties"]["last_name"]["anyOf"][0]["pattern"], "")
    assert schema["properties"]["id"] == {"type": "integer", "minimum": 0, "maximum": 2**53, "readOnly": True}
    # Sent as null, a field with a default goes back to it (tags to none); a list is also sent as
    # comma-separated text, or as a number; shown, tags are a list.
    tags = [option["type"] for option in schema["properties"]["tags"]["anyOf"]]
    assert tags == ["array", "string", "integer", "null"]
    assert schema["properties"]["name"]["writeOnly"] is True  # a dialect's name, never shown
    answer = create["responses"]["201"]["content"]["application/json"]["schema"]["properties"]["contact"]
    assert "name" not in answer["properties"]
    assert answer["properties"]["first_name"]["type"] == "string"  # an answer's texts are texts
    assert answer["properties"]["tags"]["type"] == "array"  # an empty list, never null
    assert answer["properties"]["birthday"] == {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]}
    assert "content" not in paths["/contacts/{contact_id}"]["delete"]["responses"]["204"]
    assert "content" not in paths["/contacts/{contact_id}"]["head"]["responses"]["200"]
    assert "422" in paths["/contacts/search"]["get"]["responses"]
    document = Client().get("/openapi.json").text
    assert '"nullable"' not in document
    assert '"x-takes' not in document  # the marks a body's schema is built from stay in the code
    assert '"x-empty' not in document
    listing = {p["name"] for p in paths["/contacts"]["get"]["parameters"]}
    assert {"limit", "offset", "page", "cursor", "format"} <= listing
    assert "201" in create["responses"]


def test_swagger_ui_is_served_without_a_key(store: str) -> None:
    reply = Client().get("/docs")
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    assert "SwaggerUIBundle" in reply.text
    assert '"/contacts/{contact_id}"' in reply.text


def test_a_batch_is_documented_in_xml_as_the_api_reads_it(store: str) -> None:
    import jsonschema

    from crm.errors import BadRequest
    from crm.http import xml

    document = Client().get("/openapi.json").json()
    content = document["paths"]["/contacts/batch"]["post"]["requestBody"]["content"]
    assert set(content) == {"application/json", "application/xml"}
    schema = {**content["application/xml"]["schema"], "components": document["components"]}
    assert schema["xml"] == {"name": "operations", "wrapped": True}
    body = (
        b'<operations type="array"><operation><op>create</op><contact><first_name>Ada</first_name>'
        b'<tags type="array"><tag>vip</tag></tags><birthday nil="true"/></contact></operation></operations>'
    )
    _, value = xml.loads(body, max_depth=8)
    jsonschema.validate(value, schema)  # what the API reads from XML, the document takes
    takes = jsonschema.Draft202012Validator(schema).is_valid
    for levels, read in ((6, True), (7, False)):  # the API reads 8 levels: root, item, 6 more
        nested = b"<a>" * levels + b"x" + b"</a>" * levels
        try:
            xml.loads(b'<operations type="array"><operation>' + nested + b"</operation></operations>", 8)
            api_reads = True
        except BadRequest:
            api_reads = False
        item: object = "x"
        for _ in range(levels):
            item = {"a": item}
        assert (api_reads, takes([item])) == (read, read)
    assert not takes(["A\u0007"])  # no character XML 1.0 cannot carry
    assert takes([{"a": {"b": [1, True, None, "é"]}}])
