"""Signing of webhook bodies (HMAC-SHA256) and the headers every delivery carries."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Registry-Signature"


EVENT_HEADER = "X-Registry-Event"


DELIVERY_HEADER = "X-Registry-Delivery"


ATTEMPT_HEADER = "X-Registry-Attempt"


USER_AGENT = "AI-CX-Portfolio-Registry-Webhooks/1.0"


def sign(body: bytes, secret: str) -> str:
    """The `X-Registry-Signature` value: HMAC-SHA256 of the raw body, `sha256=<hex>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, secret: str, header: str) -> bool:
    """What a receiver does (and the tests do): constant-time compare of the signature."""
    return hmac.compare_digest(sign(body, secret), header or "")
