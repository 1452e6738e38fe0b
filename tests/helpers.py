"""The helpers several test modules share: no test module imports another (shared fixtures are in conftest.py)."""

from __future__ import annotations

import csv
import io
import urllib.request
from typing import Any
from urllib.parse import urlencode, urlsplit

from crm import keys as crm_keys
from tests.conftest import BUCKET_EVENTS, S3_ENDPOINT, Client, Reply

# --- contacts (test_contacts_api) ----------------------------------------------------------

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"
FORM = "application/x-www-form-urlencoded"
MAX_BODY = 128 * 1024
XXE = (
    '<?xml version="1.0"?>\n<!DOCTYPE contact [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    "<contact><first-name>&xxe;</first-name></contact>"
)


def errors(reply: Reply) -> list[str]:
    """The messages of a JSON error body."""
    body = reply.json()
    assert set(body) == {"errors"}, body
    return body["errors"]


def xml_errors(reply: Reply) -> list[str]:
    """The messages of a Rails-style XML error body."""
    root = reply.xml()
    assert root.tag == "errors", reply.text
    assert [child.tag for child in root] == ["error"] * len(root)
    return [child.text for child in root]


def contact(client: Client, contact_id: int) -> dict[str, Any]:
    reply = client.get(f"/contacts/{contact_id}")
    assert reply.status == 200, reply.text
    return reply.json()["contact"]


def listing(client: Client, **query: Any) -> dict[str, Any]:
    reply = client.get("/contacts", query=query)
    assert reply.status == 200, reply.text
    return reply.json()


def history(client: Client, contact_id: int, **query: Any) -> dict[str, Any]:
    reply = client.get(f"/contacts/{contact_id}/history", query=query)
    assert reply.status == 200, reply.text
    return reply.json()


def send(client: Client, method: str, path: str, body: str | bytes, content_type: str, **kwargs: Any) -> Reply:
    return client.request(method, path, body=body, content_type=content_type, **kwargs)


def public_id(key: str) -> str:
    """``ck.<account>.<key id>.<secret>`` -> ``<account>.<key id>``."""
    _, account, key_id, _ = key.split(".")
    return f"{account}.{key_id}"


def text_of(element: Any, name: str) -> str | None:
    child = element.find(name)
    assert child is not None, f"<{name}> missing"
    return child.text


# --- photos (test_photos_api) --------------------------------------------------------------


def upload_to(photo: dict[str, Any], data: bytes) -> int:
    """PUT the file to the photo's upload URL, as a client would; wait for S3's event to be handled."""
    assert urlsplit(photo["upload_url"]).netloc == urlsplit(S3_ENDPOINT).netloc
    request = urllib.request.Request(photo["upload_url"], data=data, method=photo["upload_method"])  # noqa: S310
    for name, value in photo["upload_headers"].items():
        request.add_header(name, value)
    with urllib.request.urlopen(request) as answer:  # noqa: S310 (a loopback URL the API made)
        status = answer.status
    BUCKET_EVENTS.settle()
    return status


def download(url: str) -> bytes:
    with urllib.request.urlopen(url) as answer:  # noqa: S310 (a loopback URL the API made)
        return answer.read()


# --- imports (test_imports_api) ------------------------------------------------------------


def ask(client: Client, **fields: Any) -> dict[str, Any]:
    reply = client.post("/imports", {"import": fields})
    assert reply.status == 201, reply.text
    return reply.json()["import"]


def upload(job: dict[str, Any], data: bytes) -> None:
    """PUT the file to the import's upload URL, as a client would; wait for S3's event to be handled."""
    assert upload_to(job, data) == 200


def shown(client: Client, import_id: int) -> dict[str, Any]:
    reply = client.get(f"/imports/{import_id}")
    assert reply.status == 200, reply.text
    return reply.json()["import"]


def run_import(client: Client, data: bytes, **fields: Any) -> dict[str, Any]:
    job = ask(client, **fields)
    upload(job, data)
    return shown(client, job["id"])


def contacts_of(client: Client) -> list[dict[str, Any]]:
    reply = client.get("/contacts", query={"limit": 100})
    assert reply.status == 200
    return reply.json()["contacts"]


def csv_file(*rows: list[str]) -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode()


def counts(job: dict[str, Any]) -> tuple[int, ...]:
    return tuple(job[f"rows_{name}"] for name in ("total", "imported", "updated", "skipped", "failed"))


# --- the web form (test_forms) -------------------------------------------------------------

FORM_TYPE = "application/x-www-form-urlencoded"


def form_key(account: str = "acme", project: str = "support", per_minute: int | None = None) -> str:
    return crm_keys.create_key(account, 1, form_project=project, per_minute=per_minute)[1]


def fields(key: str, **extra: str) -> list[tuple[str, str]]:
    """The document's web form, filled in as a person would (its hidden project and key included)."""
    return [
        ("key", key),
        ("project_id", "support"),
        ("contact[first_name]", "Katherine"),
        ("contact[last_name]", "Johnson"),
        ("contact[company]", "NACA"),
        ("contact[phone]", "+1 757 555 0100"),
        ("contact[email]", "katherine@example.com"),
        ("contact[tag_list]", "web, lead"),
        ("commit", "Save"),
        *extra.items(),
    ]


def post_form(pairs: list[tuple[str, str]], headers: dict[str, str] | None = None) -> Reply:
    return Client().request("POST", "/forms/contacts", body=urlencode(pairs), content_type=FORM_TYPE, headers=headers)
