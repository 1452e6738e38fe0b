"""Photos as a client sees them: the record, the upload straight to S3, the check of what arrived,
the download URL, and the contact's ``photo_url``.

Uploads and downloads go over HTTP to moto's S3 server on loopback with the presigned URLs the API
hands out, and each upload reaches the photos function as S3's event (local_api.buckets), as in
`make run`. Every test runs on moto and on DynamoDB Local.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlsplit

import pytest

from crm.storage.items import Item, account_pk
from tests.conftest import BUCKET_EVENTS, GATEWAY, PHOTOS_BUCKET, S3_ENDPOINT, Client, Keys, s3_client
from tests.helpers import XML_TYPE, download, errors, history, send, text_of
from tests.helpers import upload_to as upload

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
IMAGES = {
    "image/png": PNG,
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9",
    "image/gif": b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,;",
    "image/webp": b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00",
}
PHOTO_KEYS = [
    "caption",
    "contact_id",
    "content_type",
    "created_at",
    "error",
    "id",
    "size",
    "status",
    "updated_at",
    "upload_headers",
    "upload_method",
    "upload_url",
    "url",
    "user_id",
    "version",
]
MB = 1024 * 1024


def make(client: Client, contact_id: int, content_type: str = "image/png", **fields: Any) -> dict[str, Any]:
    reply = client.post("/photos", {"photo": {"contact_id": contact_id, "content_type": content_type, **fields}})
    assert reply.status == 201, reply.text
    return reply.json()["photo"]


def shown(client: Client, photo_id: int, **kwargs: Any) -> dict[str, Any]:
    reply = client.get(f"/photos/{photo_id}", **kwargs)
    assert reply.status == 200, reply.text
    return reply.json()["photo"]


def objects() -> list[str]:
    """Every key in the photos bucket."""
    return sorted(o["Key"] for o in s3_client(S3_ENDPOINT).list_objects_v2(Bucket=PHOTOS_BUCKET).get("Contents", []))


def stored_photos() -> list[str]:
    return sorted(i.sk for i in Item.query(account_pk("acme"), consistent_read=True) if "P" in i.sk.split("#")[0:3])


def contact_of(client: Client, contact_id: int, **query: Any) -> dict[str, Any]:
    reply = client.get(f"/contacts/{contact_id}", query=query)
    assert reply.status == 200, reply.text
    return reply.json()["contact"]


@pytest.fixture
def ada(api: Client) -> int:
    return api.create(first_name="Ada")["id"]


# --- the upload flow ---------------------------------------------------------------------------


def test_create_answers_201_with_an_upload_url_and_the_photo_waits(api: Client, ada: int) -> None:
    reply = api.post("/photos", {"photo": {"contact_id": ada, "content_type": "image/png", "caption": "At work"}})
    assert reply.status == 201, reply.text
    assert (reply.headers["location"], reply.headers["etag"]) == ("/photos/1", '"1"')
    photo = reply.json()["photo"]
    assert list(photo) == PHOTO_KEYS
    assert (photo["status"], photo["caption"], photo["content_type"], photo["size"]) == (
        "waiting_for_upload",
        "At work",
        "image/png",
        None,
    )
    assert (photo["upload_method"], photo["upload_headers"], photo["url"]) == (
        "PUT",
        {"Content-Type": "image/png"},
        None,
    )
    url = urlsplit(photo["upload_url"])
    assert url.path == f"/{PHOTOS_BUCKET}/uploads/acme/0000000001"
    assert "X-Amz-Signature=" in url.query
    assert "X-Amz-Expires=900" in url.query
    assert objects() == []  # nothing is stored until the client uploads
    assert "photo_url" not in contact_of(api, ada)


@pytest.mark.parametrize("content_type", sorted(IMAGES))
def test_an_uploaded_image_is_checked_kept_and_downloadable(api: Client, ada: int, content_type: str) -> None:
    photo = make(api, ada, content_type)
    assert upload(photo, IMAGES[content_type]) == 200
    ready = shown(api, photo["id"])
    assert (ready["status"], ready["size"], ready["content_type"], ready["error"]) == (
        "ready",
        len(IMAGES[content_type]),
        content_type,
        None,
    )
    assert (ready["upload_url"], ready["upload_method"], ready["upload_headers"]) == (None, None, None)
    assert ready["version"] == 2
    assert download(ready["url"]) == IMAGES[content_type]
    assert "X-Amz-Expires=300" in ready["url"]
    assert objects() == ["photos/acme/0000000001"]  # the upload itself is gone
    assert download(contact_of(api, ada)["photo_url"]) == IMAGES[content_type]


def test_the_first_bytes_decide_the_type_not_the_declared_one(api: Client, ada: int) -> None:
    photo = make(api, ada, "image/jpeg")
    upload(photo, PNG)
    ready = shown(api, photo["id"])
    assert (ready["status"], ready["content_type"]) == ("ready", "image/png")
    head = s3_client(S3_ENDPOINT).head_object(Bucket=PHOTOS_BUCKET, Key="photos/acme/0000000001")
    assert head["ContentType"] == "image/png"  # and it is served as one


def test_a_text_file_renamed_png_is_refused_and_deleted(api: Client, ada: int) -> None:
    photo = make(api, ada, "image/png", caption="holiday.png")
    upload(photo, b"Dear Ada,\nthese are not the pixels you are looking for.\n")
    refused = shown(api, photo["id"])
    assert (refused["status"], refused["error"], refused["url"]) == (
        "rejected",
        "The file is not a JPEG, PNG, GIF or WebP image",
        None,
    )
    assert objects() == []
    assert "photo_url" not in contact_of(api, ada)


def test_a_file_over_10_mb_is_refused_and_deleted(api: Client, ada: int) -> None:
    photo = make(api, ada)
    upload(photo, PNG + b"\x00" * (10 * MB + 1 - len(PNG)))
    refused = shown(api, photo["id"])
    assert (refused["status"], refused["error"], refused["size"], refused["url"]) == (
        "rejected",
        "The file is larger than 10 MB",
        10 * MB + 1,
        None,
    )
    assert objects() == []


def test_an_image_of_exactly_10_mb_is_kept(api: Client, ada: int) -> None:
    photo = make(api, ada)
    upload(photo, PNG + b"\x00" * (10 * MB - len(PNG)))
    assert (shown(api, photo["id"])["status"], shown(api, photo["id"])["size"]) == ("ready", 10 * MB)


def test_an_event_delivered_twice_changes_the_photo_once(api: Client, ada: int) -> None:
    photo = make(api, ada)
    event = BUCKET_EVENTS.event(PHOTOS_BUCKET, "uploads/acme/0000000001")  # before the file
    upload(photo, PNG)
    assert GATEWAY.invoke("PhotosFunction", event) == {"outcomes": ["done"]}
    ready = shown(api, photo["id"])
    assert (ready["status"], ready["version"]) == ("ready", 2)
    entries = [(e["action"], e.get("photo_id")) for e in history(api, ada)["history"] if "photo_id" in e]
    assert entries == [("updated", 1), ("created", 1)]


def test_an_upload_for_a_deleted_photo_is_removed(api: Client, ada: int) -> None:
    photo = make(api, ada)
    assert api.delete(f"/photos/{photo['id']}").status == 204
    upload(photo, PNG)  # the URL was issued before: S3 takes the file, the check removes it
    assert objects() == []


def test_an_upload_url_names_its_account_and_photo_only(api: Client, keys: Keys, ada: int) -> None:
    globex = Client(keys.stranger)
    theirs = globex.create(first_name="Grace")["id"]
    mine, other = make(api, ada), make(globex, theirs)
    assert "/uploads/acme/0000000001?" in mine["upload_url"]
    assert "/uploads/globex/0000000001?" in other["upload_url"]
    upload(mine, PNG)
    upload(other, IMAGES["image/gif"])
    assert download(shown(api, 1)["url"]) == PNG
    assert download(shown(globex, 1)["url"]) == IMAGES["image/gif"]


# --- inline images -----------------------------------------------------------------------------


def test_a_small_image_inline_is_stored_at_once(api: Client, ada: int) -> None:
    data = base64.b64encode(IMAGES["image/jpeg"]).decode()
    reply = api.post("/photos", {"photo": {"contact_id": ada, "data": data, "caption": "Badge"}})
    assert reply.status == 201, reply.text
    photo = reply.json()["photo"]
    assert (photo["status"], photo["content_type"], photo["size"], photo["upload_url"]) == (
        "ready",
        "image/jpeg",
        len(IMAGES["image/jpeg"]),
        None,
    )
    assert download(photo["url"]) == IMAGES["image/jpeg"]
    assert download(contact_of(api, ada)["photo_url"]) == IMAGES["image/jpeg"]
    assert objects() == ["photos/acme/0000000001"]


def test_inline_in_xml_with_line_breaks(api: Client, ada: int) -> None:
    data = base64.encodebytes(IMAGES["image/webp"]).decode()  # wrapped at 76 characters
    body = f"<photo><contact-id type='integer'>{ada}</contact-id><data>{data}</data></photo>"
    reply = send(api, "POST", "/photos.xml", body, XML_TYPE)
    assert reply.status == 201, reply.text
    photo = reply.xml()
    assert (text_of(photo, "status"), text_of(photo, "content-type")) == ("ready", "image/webp")
    assert photo.find("upload-url").get("nil") == "true"
    assert download(text_of(photo, "url")) == IMAGES["image/webp"]


def test_inline_data_over_4_mb_is_413_and_stores_nothing(api: Client, ada: int) -> None:
    data = base64.b64encode(PNG + b"\x00" * (4 * MB + 1 - len(PNG))).decode()
    reply = api.post("/photos", {"photo": {"contact_id": ada, "data": data}})
    assert reply.status == 413, reply.text
    assert errors(reply) == ["Inline data is at most 4 MB; upload larger images"]
    assert (objects(), stored_photos()) == ([], [])


def test_inline_data_that_is_not_an_image_is_422_and_stores_nothing(api: Client, ada: int) -> None:
    text = base64.b64encode(b"just some words").decode()
    for data, message in (
        (text, "The file is not a JPEG, PNG, GIF or WebP image"),
        ("@@@", "Data must be the image as base64 text"),
    ):
        reply = api.post("/photos", {"photo": {"contact_id": ada, "data": data}})
        assert (reply.status, errors(reply)) == (422, [message])
    assert (objects(), stored_photos()) == ([], [])


def test_an_inline_image_whose_record_cannot_be_written_leaves_no_file(api: Client, ada: int) -> None:
    data = base64.b64encode(PNG).decode()
    reply = api.post("/photos", {"photo": {"contact_id": ada, "data": data, "caption": "x" * 256}})
    assert reply.status == 422
    assert (objects(), stored_photos()) == ([], [])


# --- bad input, field by field -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"content_type": "image/png"}, "Contact id cannot be blank"),
        ({"contact_id": 99, "content_type": "image/png"}, "Contact 99 does not exist"),
        ({"contact_id": "abc", "content_type": "image/png"}, "Contact id must be a whole number from 0"),
        ({"contact_id": 1}, "Content type cannot be blank: one of image/jpeg, image/png, image/gif, image/webp"),
        (
            {"contact_id": 1, "content_type": "text/plain"},
            "Content type must be one of image/jpeg, image/png, image/gif, image/webp",
        ),
        (
            {"contact_id": 1, "content_type": "image/png", "caption": "x" * 256},
            "Caption is too long (at most 255 characters)",
        ),
        ({"contact_id": 1, "content_type": "image/png", "status": "ready"}, "Status is read-only"),
        ({"contact_id": 1, "content_type": "image/png", "size": 5}, "Size is read-only"),
        ({"contact_id": 1, "content_type": "image/png", "error": "no"}, "Error is read-only"),
        ({"contact_id": 1, "content_type": "image/png", "filename": "a.png"}, "Unknown fields: filename"),
        ({"contact_id": 1, "data": 5}, "Data must be the image as base64 text"),
    ],
)
def test_bad_fields_are_422_and_change_nothing(api: Client, ada: int, fields: dict[str, Any], message: str) -> None:
    reply = api.post("/photos", {"photo": fields})
    assert (reply.status, errors(reply)) == (422, [message]), reply.text
    assert stored_photos() == []


def test_update_changes_the_caption_only(api: Client, ada: int) -> None:
    photo = make(api, ada)
    upload(photo, PNG)
    reply = api.patch("/photos/1", {"photo": {"caption": "Ada at the bench"}})
    assert reply.status == 200, reply.text
    assert (reply.json()["photo"]["caption"], reply.json()["photo"]["version"]) == ("Ada at the bench", 3)
    reply = api.put("/photos/1", {"photo": {"content_type": "image/gif"}})
    assert (reply.status, errors(reply)) == (422, ["Content type is read-only"])
    reply = api.put("/photos/1", {"photo": {"contact_id": api.create()["id"]}})
    assert (reply.status, errors(reply)) == (422, ["Contact id cannot be changed: create a new photo"])
    echoed = {**shown(api, 1), "caption": "Echoed"}  # what it read, URLs and all, sent back
    reply = api.put("/photos/1", {"photo": echoed}, headers={"If-Match": '"3"'})
    assert (reply.status, reply.json()["photo"]["caption"]) == (200, "Echoed"), reply.text


def test_list_filters_by_contact_and_status(api: Client, ada: int) -> None:
    grace = api.create(first_name="Grace")["id"]
    upload(make(api, ada), PNG)
    upload(make(api, ada), b"not an image")
    make(api, grace)
    page = api.get("/photos").json()
    assert ([p["id"] for p in page["photos"]], page["total_count"]) == ([1, 2, 3], 3)
    assert [p["id"] for p in api.get("/photos", query={"contact_id": ada}).json()["photos"]] == [1, 2]
    ready = api.get("/photos", query={"status": "ready"}).json()
    assert ([p["id"] for p in ready["photos"]], ready["total_count"]) == ([1], 1)
    assert [p["id"] for p in api.get("/photos", query={"status": "waiting_for_upload"}).json()["photos"]] == [3]
    reply = api.get("/photos", query={"status": "lost"})
    assert reply.status == 400
    xml = api.get("/photos.xml").xml()
    assert (xml.tag, xml.get("type"), xml.get("total_count")) == ("photos", "array", "3")


# --- the contact's photo ----------------------------------------------------------------------------


def test_the_last_ready_photo_is_the_contacts_and_the_previous_one_returns(api: Client, ada: int) -> None:
    first, second = make(api, ada), make(api, ada)
    upload(first, PNG)
    upload(second, IMAGES["image/gif"])
    assert download(contact_of(api, ada)["photo_url"]) == IMAGES["image/gif"]
    assert api.delete(f"/photos/{second['id']}").status == 204
    assert download(contact_of(api, ada)["photo_url"]) == PNG
    assert objects() == ["photos/acme/0000000001"]
    assert api.delete(f"/photos/{first['id']}").status == 204
    assert "photo_url" not in contact_of(api, ada)
    assert objects() == []


def test_contact_shows_photo_url_in_lists_and_xml_and_ignores_it_sent_back(api: Client, ada: int) -> None:
    upload(make(api, ada), PNG)
    listed = api.get("/contacts").json()["contacts"][0]
    assert download(listed["photo_url"]) == PNG
    xml = api.get(f"/contacts/{ada}.xml").xml()
    assert download(text_of(xml, "photo-url")) == PNG
    contact = contact_of(api, ada)
    reply = api.put(f"/contacts/{ada}", {"contact": {**contact, "last_name": "Lovelace"}})
    assert reply.status == 200, reply.text


def test_include_photos_on_the_contact(api: Client, ada: int) -> None:
    upload(make(api, ada, caption="one"), PNG)
    make(api, ada, caption="two")
    photos = contact_of(api, ada, include="photos")["photos"]
    assert [(p["caption"], p["status"]) for p in photos] == [("one", "ready"), ("two", "waiting_for_upload")]
    assert download(photos[0]["url"]) == PNG
    assert photos[1]["upload_url"] is None  # uploads are signed by the photos routes only


def test_deleting_the_contact_takes_its_photos_and_their_files(api: Client, ada: int) -> None:
    upload(make(api, ada), PNG)
    make(api, ada)
    inline = base64.b64encode(PNG).decode()
    assert api.post("/photos", {"photo": {"contact_id": ada, "data": inline}}).status == 201
    assert len(objects()) == 2
    assert api.delete(f"/contacts/{ada}").status == 204
    assert (objects(), stored_photos()) == ([], [])
    assert api.get("/photos/1").status == 404


# --- tenancy ------------------------------------------------------------------------------------------


def test_another_account_never_gets_a_photo_or_its_url(api: Client, keys: Keys, ada: int) -> None:
    upload(make(api, ada), PNG)
    stranger = Client(keys.stranger)
    assert stranger.get("/photos/1").status == 404
    assert stranger.get("/photos").json()["photos"] == []
    assert stranger.get(f"/contacts/{ada}").status == 404
    assert stranger.patch("/photos/1", {"photo": {"caption": "mine"}}).status == 404
    assert stranger.delete("/photos/1").status == 404
    reply = stranger.post("/photos", {"photo": {"contact_id": ada, "content_type": "image/png"}})
    assert (reply.status, errors(reply)) == (422, [f"Contact {ada} does not exist"])
    assert objects() == ["photos/acme/0000000001"]
    assert shown(api, 1)["caption"] is None


def test_photos_of_a_private_contact_are_its_owners(api: Client, keys: Keys) -> None:
    private = api.create(first_name="Secret", is_private=True)["id"]
    upload(make(api, private), PNG)
    colleague = Client(keys.colleague)
    assert colleague.get("/photos/1").status == 404
    assert colleague.get("/photos").json()["total_count"] == 0
    assert download(shown(Client(keys.admin), 1)["url"]) == PNG


def test_a_reader_sees_but_cannot_add(api: Client, keys: Keys, ada: int) -> None:
    upload(make(api, ada), PNG)
    reader = Client(keys.reader)
    assert download(shown(reader, 1)["url"]) == PNG
    assert reader.post("/photos", {"photo": {"contact_id": ada, "content_type": "image/png"}}).status == 403
