"""Settings read from the environment once per container."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    table_name: str
    # Set only off AWS (DynamoDB Local, the embedded store of `make run`, `sam local`).
    dynamodb_endpoint: str | None
    region: str
    cursor_secret: bytes
    max_body_bytes: int
    max_xml_depth: int
    photos_bucket: str
    # Set only off AWS (the embedded S3 of `make run` and the tests).
    s3_endpoint: str | None
    imports_bucket: str
    import_max_bytes: int
    # Set only off AWS: where the import worker invokes itself to go on (the local runner).
    lambda_endpoint: str | None
    feed_retention_days: int  # how long the change feed keeps an entry (the FeedRetentionDays parameter)
    webhook_queue_url: str  # the deliveries' FIFO queue
    # Set only off AWS: the embedded SQS of `make run` and the tests.
    sqs_endpoint: str | None
    # Off AWS only: webhooks may be posted to http(s)://127.0.0.1, where tests receive them.
    webhook_loopback: bool
    webhook_retry_base: float  # seconds before a failed delivery's first retry; each doubles it


def _settings() -> Settings:
    env = os.environ
    return Settings(
        table_name=env.get("TABLE_NAME", "contacts-api"),
        dynamodb_endpoint=env.get("DYNAMODB_ENDPOINT") or None,
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        cursor_secret=env.get("CURSOR_SECRET", "").encode(),
        max_body_bytes=int(env.get("MAX_BODY_BYTES", str(128 * 1024))),
        max_xml_depth=int(env.get("MAX_XML_DEPTH", "8")),
        photos_bucket=env.get("PHOTOS_BUCKET", ""),
        s3_endpoint=env.get("S3_ENDPOINT") or None,
        imports_bucket=env.get("IMPORTS_BUCKET", ""),
        import_max_bytes=int(env.get("IMPORT_MAX_BYTES") or str(100 * 1024 * 1024)),
        lambda_endpoint=env.get("LAMBDA_ENDPOINT") or None,
        feed_retention_days=int(env.get("FEED_RETENTION_DAYS") or "30"),
        webhook_queue_url=env.get("WEBHOOK_QUEUE_URL", ""),
        sqs_endpoint=env.get("SQS_ENDPOINT") or None,
        webhook_loopback=env.get("WEBHOOK_LOOPBACK") == "allow",
        webhook_retry_base=float(env.get("WEBHOOK_RETRY_BASE_SECONDS") or "5"),
    )


settings = _settings()


def reload() -> Settings:
    """Re-read the environment (tests and the local runner change it between runs)."""
    global settings
    settings = _settings()
    return settings
