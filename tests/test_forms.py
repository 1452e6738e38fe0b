"""The web form: POST /forms/contacts with a form key, form-encoded or multipart (Redmine's form).

Each test runs on moto and on DynamoDB Local (the rate limit is a conditional write).
"""

from __future__ import annotations

import base64
import time
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest

from crm import forms
from crm import keys as crm_keys
from tests.conftest import ORIGIN, THANKS, Client, Keys, all_at_once
from tests.helpers import FORM_TYPE, errors, fields, form_key, listing, post_form

BOUNDARY = "----formboundary0123456789"


def multipart(pairs: list[tuple[str, str]]) -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n' for n, v in pairs]
    return ("".join(parts) + f"--{BOUNDARY}--\r\n").encode()


def contacts_of(client: Client) -> list[dict[str, Any]]:
    return listing(client, limit=100)["contacts"]


def test_a_form_post_creates_the_contact_in_the_keys_project(admin: Client) -> None:
    reply = post_form(fields(form_key()))
    assert reply.status == 201, reply.text
    assert reply.json() == {"submission": {"status": "received", "message": "Thank you: your details were received."}}
    assert "location" not in reply.headers  # the sender learns nothing of the account's ids
    (made,) = contacts_of(admin)
    assert (made["first_name"], made["last_name"], made["company"]) == ("Katherine", "Johnson", "NACA")
    assert (made["email_address"], made["business_phone"]) == ("katherine@example.com", "+1 757 555 0100")
    assert (made["tags"], made["project_ids"], made["user_id"]) == (["web", "lead"], ["support"], 1)


def test_multipart_with_the_documents_custom_field_rows(admin: Client) -> None:
    defined = admin.post("/custom_fields", {"custom_field": {"name": "License", "field_format": "string"}})
    assert defined.status == 201, defined.text
    field_id = str(defined.json()["custom_field"]["id"])
    pairs = fields(form_key(), **{"contact[custom_fields][][id]": field_id})
    pairs.append(("contact[custom_fields][][value]", "GPL"))
    reply = Client().request(
        "POST", "/forms/contacts", body=multipart(pairs), content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )
    assert reply.status == 201, reply.text
    (made,) = contacts_of(admin)
    assert [(f["id"], f["value"]) for f in made["custom_fields"]] == [(int(field_id), "GPL")]


def test_a_listed_redirect_is_a_303_there_and_an_unlisted_one_is_refused(admin: Client) -> None:
    key = form_key()
    reply = post_form(fields(key, redirect_on_success=THANKS))
    assert (reply.status, reply.headers["location"], reply.text) == (303, THANKS, "")
    refused = post_form(fields(key, redirect_on_success="https://evil.example/phish"))
    assert refused.status == 422
    assert errors(refused) == ["redirect_on_success is not one of this account's redirect URLs"]
    forms.allow("acme", [], ["https://www.example.com/done/"])
    injected = post_form(fields(key, redirect_on_success="https://www.example.com/done/\r\nSet-Cookie: a=b"))
    assert injected.status == 422
    assert errors(injected) == ["redirect_on_success must be an http(s) URL"]
    assert len(contacts_of(admin)) == 1


def test_a_listed_origin_may_read_the_answer_another_is_refused(admin: Client) -> None:
    key = form_key()
    reply = post_form(fields(key), {"Origin": ORIGIN})
    assert reply.status == 201
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    assert "Origin" in reply.headers["vary"]
    refused = post_form(fields(key), {"Origin": "https://copycat.example"})
    assert refused.status == 403
    assert "access-control-allow-origin" not in refused.headers
    assert errors(refused) == ["This account's forms are not accepted from https://copycat.example"]
    invalid = post_form([("key", key), ("contact[last_name]", "No first name")], {"Origin": ORIGIN})
    assert invalid.status == 422
    assert invalid.headers["access-control-allow-origin"] == ORIGIN  # the page can show why
    assert len(contacts_of(admin)) == 1


def test_a_filled_honeypot_is_answered_alike_and_stores_nothing(admin: Client) -> None:
    key = form_key()
    bot = post_form(fields(key, homepage="http://spam.example", redirect_on_success=THANKS))
    assert (bot.status, bot.headers["location"]) == (303, THANKS)
    bot = post_form(fields(key, homepage="http://spam.example"))
    assert bot.status == 201
    assert bot.json()["submission"]["status"] == "received"
    assert contacts_of(admin) == []
    assert post_form(fields(key, homepage="")).status == 201  # left empty, as people leave it
    assert len(contacts_of(admin)) == 1


@pytest.fixture
def within_one_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    """The form's clock stays in the middle of one rate window, so that a test's posts are never
    split by a minute's end (a new window would count them afresh)."""
    start = int(time.time()) // forms.WINDOW_SECONDS * forms.WINDOW_SECONDS
    monkeypatch.setattr(forms, "time", SimpleNamespace(time=lambda: start + forms.WINDOW_SECONDS / 2))


@pytest.mark.usefixtures("within_one_minute")
def test_refused_posts_do_not_spend_the_rate(admin: Client) -> None:
    """Junk (422) is free; what passes every check, a filled honeypot included, is counted."""
    key = form_key(per_minute=2)
    for _ in range(5):
        assert post_form([("key", key), ("contact[last_name]", "No first name")]).status == 422
    assert post_form(fields(key, homepage="http://spam.example")).status == 201
    assert post_form(fields(key)).status == 201
    assert post_form(fields(key)).status == 429
    assert len(contacts_of(admin)) == 1


def test_a_visitor_cannot_choose_who_sees_or_handles_the_contact(admin: Client) -> None:
    key = form_key()
    for name, value in (("is_private", "true"), ("visibility", "2"), ("assigned_to_id", "9")):
        reply = post_form(fields(key, **{f"contact[{name}]": value}))
        assert reply.status == 422, reply.text
        assert errors(reply) == [f"A form cannot set: {name}"]
    assert contacts_of(admin) == []


def test_a_redirect_cannot_leave_a_listed_prefix(admin: Client) -> None:
    forms.allow("acme", [], ["https://www.example.com/done/"])
    key = form_key()
    for escape in ("https://www.example.com/done/../admin", "https://www.example.com/done/%2e%2e/admin"):
        reply = post_form(fields(key, redirect_on_success=escape))
        assert reply.status == 422, escape
    accented = post_form(fields(key, redirect_on_success="https://www.example.com/done/caf\u00e9"))
    assert errors(accented) == ["redirect_on_success must be an http(s) URL"]
    assert contacts_of(admin) == []


def test_an_idempotency_key_on_the_form_is_not_a_reason_to_refuse_it(admin: Client) -> None:
    reply = Client().request(
        "POST",
        "/forms/contacts",
        body=urlencode(fields(form_key())),
        content_type=FORM_TYPE,
        headers={"Idempotency-Key": "abc"},
    )
    assert reply.status == 201, reply.text
    assert len(contacts_of(admin)) == 1


def test_a_refused_key_is_readable_by_a_listed_page(admin: Client, keys: Keys) -> None:
    reply = post_form(fields(keys.writer), {"Origin": ORIGIN})
    assert reply.status == 403
    assert reply.headers["access-control-allow-origin"] == ORIGIN


def test_a_default_port_names_the_same_origin(admin: Client) -> None:
    forms.allow("acme", ["https://shop.example.com:443"], [])
    assert forms.settings_of("acme").origins == {ORIGIN, "https://shop.example.com"}
    assert post_form(fields(form_key()), {"Origin": "https://shop.example.com"}).status == 201


@pytest.mark.usefixtures("within_one_minute")
def test_the_rate_is_per_key_and_minute_then_429_with_retry_after(admin: Client) -> None:
    key, other = form_key(per_minute=3), form_key(per_minute=3)
    replies = all_at_once(5, lambda _: post_form(fields(key)))
    assert sorted(reply.status for reply in replies) == [201, 201, 201, 429, 429]
    throttled = next(reply for reply in replies if reply.status == 429)
    assert 1 <= int(throttled.headers["retry-after"]) <= 60
    assert errors(throttled) == ["This form takes at most 3 contacts a minute; retry shortly"]
    assert post_form(fields(other)).status == 201  # another key has its own count
    assert len(contacts_of(admin)) == 4


def test_keys_stay_in_their_lane(admin: Client, keys: Keys) -> None:
    key = form_key()
    regular = post_form(fields(keys.admin))
    assert regular.status == 403
    assert errors(regular) == ["This route takes a form key (contacts-admin keys create --form); an API key is refused"]
    assert post_form(fields("ck.acme.0000000000.unknownunknownunknown")).status == 401
    assert post_form([(n, v) for n, v in fields(key) if n != "key"]).status == 401
    basic = {"Authorization": "Basic " + base64.b64encode(f"{key}:API".encode()).decode()}
    for reply in (
        Client(key).get("/contacts"),
        Client(key).post("/contacts", {"first_name": "Sneaky"}),
        Client().get("/contacts", headers=basic),
        Client().get("/contacts", query={"key": key}),
    ):
        assert reply.status == 403, reply.text
    assert contacts_of(admin) == []


def test_a_form_key_writes_only_into_its_own_project(admin: Client) -> None:
    key = form_key()
    for pairs in (
        [(n, "sales" if n == "project_id" else v) for n, v in fields(key)],
        fields(key, **{"contact[project_id]": "sales"}),
        fields(key, **{"contact[project_ids][]": "sales"}),
    ):
        reply = post_form(pairs)
        assert reply.status == 403, reply.text
        assert errors(reply) == ["This form key adds contacts to project support only"]
    assert contacts_of(admin) == []


def test_a_form_key_of_another_account_writes_there_only(admin: Client, keys: Keys) -> None:
    forms.allow("globex", [ORIGIN], [])
    assert post_form(fields(form_key("globex")), {"Origin": ORIGIN}).status == 201
    assert contacts_of(admin) == []
    assert len(contacts_of(Client(keys.stranger))) == 1


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ('{"key": "k", "contact": {"first_name": "A"}}', "application/json", 415),
        ("<contact><first_name>A</first_name></contact>", "application/xml", 415),
        ("key=" + "x" * 70_000, FORM_TYPE, 413),
    ],
)
def test_other_bodies_are_refused(admin: Client, body: str, content_type: str, status: int) -> None:
    reply = Client().request("POST", "/forms/contacts", body=body, content_type=content_type)
    assert reply.status == status, reply.text
    assert contacts_of(admin) == []


@pytest.mark.parametrize(
    "headers",
    [
        'Content-Disposition: form-data; name="contact[first_name]"\r\nContent-Transfer-Encoding: base64',
        'Content-Disposition: attachment; name="contact[first_name]"',
    ],
)
def test_a_part_that_is_no_plain_form_field_is_refused(admin: Client, headers: str) -> None:
    pairs = [(n, v) for n, v in fields(form_key()) if n != "contact[first_name]"]
    body = multipart(pairs).replace(
        f"--{BOUNDARY}--".encode(), f"--{BOUNDARY}\r\n{headers}\r\n\r\nS2F0\r\n--{BOUNDARY}--".encode()
    )
    reply = Client().request(
        "POST", "/forms/contacts", body=body, content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )
    assert reply.status == 400, reply.text
    assert contacts_of(admin) == []


def test_a_file_in_a_multipart_form_is_refused(admin: Client) -> None:
    body = multipart(fields(form_key())).replace(
        b'name="commit"', b'name="commit"; filename="x.exe"\r\nContent-Type: application/octet-stream'
    )
    reply = Client().request(
        "POST", "/forms/contacts", body=body, content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )
    assert reply.status == 415, reply.text
    assert contacts_of(admin) == []


def test_unknown_form_fields_are_named(admin: Client) -> None:
    reply = post_form(fields(form_key(), nickname="Kay", **{"contact[shoe_size]": "6"}))
    assert reply.status == 422
    assert errors(reply) == ["Unknown fields: nickname"]
    reply = post_form(fields(form_key(), **{"contact[shoe_size]": "6"}))
    assert reply.status == 422
    assert errors(reply) == ["Unknown fields: shoe_size"]
    assert contacts_of(admin) == []


def test_form_keys_are_made_for_one_project_with_a_bounded_rate() -> None:
    with pytest.raises(ValueError, match="form key's scope is write"):
        crm_keys.create_key("acme", 1, scope="admin", form_project="support")
    with pytest.raises(ValueError, match="rate is 1 to 10000"):
        crm_keys.create_key("acme", 1, form_project="support", per_minute=0)
    with pytest.raises(ValueError, match="only a form key has a rate"):
        crm_keys.create_key("acme", 1, per_minute=5)
    with pytest.raises(ValueError, match="not an origin"):
        forms.allow("acme", ["https://www.example.com/page"], [])
    with pytest.raises(ValueError, match="not an http"):
        forms.allow("acme", [], ["javascript:alert(1)"])


def test_an_origin_taken_off_the_list_is_refused_again(admin: Client) -> None:
    forms.allow("acme", ["https://shop.example.com:8443"], ["https://shop.example.com:8443/done/"])
    key = form_key()
    shop = {"Origin": "https://shop.example.com:8443"}
    reply = post_form(fields(key, redirect_on_success="https://shop.example.com:8443/done/?order=7"), shop)
    assert (reply.status, reply.headers["location"]) == (303, "https://shop.example.com:8443/done/?order=7")
    left = forms.disallow("acme", ["https://shop.example.com:8443"], [])
    assert left.origins == {ORIGIN}
    assert post_form(fields(key), shop).status == 403
    assert len(contacts_of(admin)) == 1
