"""The buckets: where an account's files live, and presigned URLs to move them.

Every object key names its account, as every table key does. In the photos bucket (the
default of every function here):

    uploads/<account>/<photo id:010>   what a client PUT with the upload URL; unchecked, it
                                       triggers the photos function and expires after a day
    photos/<account>/<photo id:010>    a checked image, served only through download URLs

The imports bucket's keys are crm.imports.jobs'.

The image never passes through Lambda (but for the small ones sent inline): clients PUT to
and GET from S3 with URLs signed for one object, one method and a few minutes.
"""

from __future__ import annotations

from functools import cache
from typing import IO, Any

from botocore.config import Config
from botocore.exceptions import ClientError

from crm import config
from crm.storage.items import ID_WIDTH

UPLOADS, PHOTOS = "uploads/", "photos/"
UPLOAD_SECONDS = 900  # an upload URL's life: long enough for 10 MB on a slow link
DOWNLOAD_SECONDS = 300  # a download URL's: to be used now, not stored


@cache
def _client(endpoint: str | None, region: str) -> Any:
    # Off AWS (an embedded S3 on loopback) bucket names cannot be host names: path style.
    style = "path" if endpoint else "virtual"
    import boto3  # here: most requests sign no URL, and a cold start need not load it

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        config=Config(signature_version="s3v4", s3={"addressing_style": style}),
    )


def client() -> Any:
    settings = config.settings
    return _client(settings.s3_endpoint, settings.region)


def bucket() -> str:
    return config.settings.photos_bucket


def _in(name: str | None) -> str:
    return name or bucket()


def upload_key(account_id: str, photo_id: int) -> str:
    return f"{UPLOADS}{account_id}/{photo_id:0{ID_WIDTH}d}"


def photo_key(account_id: str, photo_id: int) -> str:
    return f"{PHOTOS}{account_id}/{photo_id:0{ID_WIDTH}d}"


def parse_upload_key(key: str) -> tuple[str, int] | None:
    """(account id, photo id) of an upload's key (already URL-decoded); None if it is not one."""
    parts = key.split("/")
    if len(parts) != 3 or parts[0] + "/" != UPLOADS or not parts[1] or not (parts[2].isascii() and parts[2].isdigit()):
        return None
    return parts[1], int(parts[2])


def upload_url(key: str, content_type: str, in_bucket: str | None = None) -> str:
    """A URL that PUTs this one object, with this Content-Type (signed: another is refused)."""
    params = {"Bucket": _in(in_bucket), "Key": key, "ContentType": content_type}
    return client().generate_presigned_url("put_object", Params=params, ExpiresIn=UPLOAD_SECONDS)


def download_url(key: str, in_bucket: str | None = None, seconds: int = DOWNLOAD_SECONDS, filename: str = "") -> str:
    """A URL that GETs this one object for a few minutes; with ``filename``, a browser saves it so."""
    params = {"Bucket": _in(in_bucket), "Key": key}
    if filename:
        params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
    return client().generate_presigned_url("get_object", Params=params, ExpiresIn=seconds)


def put(key: str, data: bytes | IO[bytes], content_type: str, in_bucket: str | None = None) -> None:
    """Store an object: bytes, or a file read from its current position (one request, up to 5 GB)."""
    client().put_object(Bucket=_in(in_bucket), Key=key, Body=data, ContentType=content_type)


PART_BYTES = 8 * 1024 * 1024  # a multipart upload's part (S3 takes 5 MB to 5 GB, but the last)


class Upload:
    """An object written as a stream: the bytes are sent a part at a time as they come, so memory
    holds one part whatever the object's size. Nothing is visible under the key until ``finish``
    (an object that fits one part is one PUT); ``abort`` lets go of the parts sent, and the bucket's
    lifecycle rule removes those of a writer that died."""

    def __init__(self, key: str, content_type: str, in_bucket: str | None = None) -> None:
        self.key, self.content_type, self.bucket = key, content_type, _in(in_bucket)
        self.buffer = bytearray()
        self.parts: list[dict[str, Any]] = []
        self.upload_id: str | None = None
        self.size = 0

    def write(self, data: bytes) -> None:
        self.buffer += data
        self.size += len(data)
        if len(self.buffer) >= PART_BYTES:
            self._send_part()

    def _send_part(self) -> None:
        if self.upload_id is None:
            started = client().create_multipart_upload(Bucket=self.bucket, Key=self.key, ContentType=self.content_type)
            self.upload_id = started["UploadId"]
        number = len(self.parts) + 1
        sent = client().upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=bytes(self.buffer)
        )
        self.parts.append({"PartNumber": number, "ETag": sent["ETag"]})
        self.buffer.clear()

    def finish(self) -> None:
        if self.upload_id is None:
            put(self.key, bytes(self.buffer), self.content_type, self.bucket)
            return
        if self.buffer:
            self._send_part()
        client().complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
        )

    def abort(self) -> None:
        if self.upload_id is not None:
            client().abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)


def stream(key: str, in_bucket: str | None = None, version: str | None = None) -> tuple[IO[bytes], int] | None:
    """The object (this version of it) as a stream read as it is consumed, and its size; None if
    there is no such object."""
    versioned = {"VersionId": version} if version else {}
    try:
        answer = client().get_object(Bucket=_in(in_bucket), Key=key, **versioned)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "NoSuchVersion", "404"):
            return None
        raise
    return answer["Body"], int(answer["ContentLength"])


def head(key: str, count: int) -> tuple[bytes, int] | None:
    """The object's first ``count`` bytes and its whole size, from one ranged GET (the rest is
    never read); None if there is no such object."""
    try:
        answer = client().get_object(Bucket=bucket(), Key=key, Range=f"bytes=0-{count - 1}")
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code == "InvalidRange":  # an empty object: no byte is in range
            return b"", 0
        if code in ("NoSuchKey", "404"):
            return None
        raise
    total = (answer.get("ContentRange") or "").rpartition("/")[2]  # "bytes 0-11/52034"
    return answer["Body"].read(), int(total) if total.isdigit() else int(answer["ContentLength"])


def copy(source: str, target: str, content_type: str) -> None:
    """Copy within the bucket (server-side), with this Content-Type."""
    client().copy_object(
        Bucket=bucket(),
        Key=target,
        CopySource={"Bucket": bucket(), "Key": source},
        ContentType=content_type,
        MetadataDirective="REPLACE",
    )


def delete(*keys: str, in_bucket: str | None = None) -> None:
    """Delete these objects; deleting one that is not there is no error."""
    objects = [{"Key": key} for key in keys]
    for start in range(0, len(objects), 1000):  # DeleteObjects' limit
        batch = {"Objects": objects[start : start + 1000], "Quiet": True}
        client().delete_objects(Bucket=_in(in_bucket), Delete=batch)
