"""Storage faults and bugs: the client gets a clear answer in its format, and nothing partial is stored."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import GetError

from crm.storage.items import ContactItem
from tests.conftest import Client


def _throttled(*_args: object, **_kwargs: object) -> None:
    error = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "GetItem"
    )
    raise GetError("Failed to get item", error)


def test_throttled_storage_is_503_with_retry_after_in_the_request_format(
    api: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    contact = api.create(last_name="Busy")
    monkeypatch.setattr(ContactItem, "get", classmethod(_throttled))

    reply = api.get(f"/contacts/{contact['id']}.xml")
    assert reply.status == 503
    assert reply.headers["retry-after"] == "1"
    assert reply.xml().findtext("error") == "Storage is busy; retry shortly"

    reply = api.patch(f"/contacts/{contact['id']}", {"last_name": "Changed"})
    assert reply.status == 503
    assert reply.json() == {"errors": ["Storage is busy; retry shortly"]}

    monkeypatch.undo()
    stored = api.get(f"/contacts/{contact['id']}").json()["contact"]
    assert (stored["last_name"], stored["version"]) == ("Busy", 1)


def test_a_bug_is_a_500_with_the_request_id_and_no_traceback(api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise KeyError("secret internals")

    monkeypatch.setattr(ContactItem, "get", classmethod(broken))
    reply = api.get("/contacts/1")
    assert reply.status == 500
    (message,) = reply.json()["errors"]
    assert message.startswith("Internal server error (request id ")
    assert "secret internals" not in reply.text
    assert "Traceback" not in reply.text
