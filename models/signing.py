"""Webhook signatures, both ways: `Baton-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Baton-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """The request is not signed by who it claims to be, or is too old to trust."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(
    secret: str, header: str | None, body: bytes, now: float, tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS
) -> None:
    """Raise SignatureError unless `header` signs `body` with `secret` within the tolerance window."""
    if not header:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    raw_timestamp = parts.get("t", [""])[0]
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit() and len(raw_timestamp) <= 12):
        raise SignatureError("signature has no valid timestamp t=")
    timestamp = int(raw_timestamp)
    if abs(now - timestamp) > tolerance_seconds:
        raise SignatureError(f"signature timestamp is more than {tolerance_seconds} seconds from now")
    expected = sign(secret, body, timestamp).rpartition("v1=")[2]
    candidates = [c.encode("ascii", "replace") for c in parts.get("v1", [])]
    if not any(hmac.compare_digest(expected.encode(), candidate) for candidate in candidates):
        raise SignatureError("signature does not match")
