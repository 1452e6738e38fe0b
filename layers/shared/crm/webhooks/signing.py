"""Signatures as Standard Webhooks defines them (standardwebhooks.com): a secret is ``whsec_`` and
the base64 of random bytes; a delivery carries ``webhook-id``, ``webhook-timestamp`` (epoch
seconds) and ``webhook-signature``: ``v1,`` and the base64 of the HMAC-SHA256, keyed by the
secret's bytes, of ``id.timestamp.body``; several signatures (a rotated secret's too) are
separated by spaces."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(secrets_: list[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(secret, message_id, timestamp, body) for secret in secrets_),
    }
