"""Outbound webhook signing: endpoint secrets, the exact body posted, and the
``Mailer-Signature`` header that signs it.

``Mailer-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``; receivers
check it with :func:`verify_signature` (or the same few lines in their language).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets as pysecrets
import time
from collections.abc import Mapping
from typing import Any

from mailer.lib.crypto import decrypt_json
from mailer.models.webhooks import WebhookEndpoint

SIGNATURE_HEADER = "Mailer-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def new_secret() -> str:
    """A fresh signing secret, shown to the operator once."""
    return SECRET_PREFIX + pysecrets.token_urlsafe(32)


def body_bytes(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes posted (and signed): compact JSON, keys sorted, ASCII only."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("ascii")


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of "<timestamp>.<body>" under ``secret``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return mac.hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The Mailer-Signature value for ``body``, stamped now unless ``timestamp`` is given."""
    stamp = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={stamp},v1={signature(secret, body, stamp)}"


def verify_signature(
    secret: str, header: str | None, body: bytes, tolerance: int = 300, now: float | None = None
) -> bool:
    """True when ``header`` (the Mailer-Signature value) signs ``body`` (the raw request body,
    bytes as received) with ``secret`` and its timestamp is within ``tolerance`` seconds of
    now. Any ``v1`` entry may match (several appear while a secret is being replaced)."""
    if not header or not secret:
        return False
    stamp: int | None = None
    candidates = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                stamp = int(value)
            except ValueError:
                return False
        elif name == "v1":
            candidates.append(value)
    if stamp is None or not candidates:
        return False
    now = time.time() if now is None else now
    if abs(now - stamp) > tolerance:
        return False
    expected = signature(secret, body, stamp)
    return any(hmac.compare_digest(expected, c) for c in candidates)


def endpoint_secret(endpoint: WebhookEndpoint) -> str:
    """The endpoint's signing secret (raises SecretsUnreadable when the key changed)."""
    return str(decrypt_json(endpoint.secret_encrypted).get("secret") or "")
