"""Outbound webhook signing: endpoint secrets, the exact body posted, and the headers that
sign it.

Deliveries are signed as Standard Webhooks (https://www.standardwebhooks.com) with the
``standardwebhooks`` package: ``webhook-id`` (the event id), ``webhook-timestamp`` (unix
seconds) and ``webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>``,
where the key is the base64 after ``whsec_`` in the secret. Receivers verify with any Standard
Webhooks library. The older ``Mailer-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret,
"<t>.<body>")>`` is still sent (deprecated) so receivers written for it keep working.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets as pysecrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

from mailer.lib.crypto import decrypt_json
from mailer.models.webhooks import WebhookEndpoint

SIGNATURE_HEADER = "Mailer-Signature"  # deprecated: Standard Webhooks' headers replace it
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret, shown to the operator once: ``whsec_`` and 32 random bytes in
    standard base64, as Standard Webhooks libraries read it."""
    return SECRET_PREFIX + base64.b64encode(pysecrets.token_bytes(SECRET_BYTES)).decode()


def signing_key(secret: str) -> bytes:
    """The key bytes a secret stands for. Secrets made before Standard Webhooks signing are
    URL-safe base64 ("-" and "_"); both alphabets decode to the same 32 random bytes."""
    raw = secret.removeprefix(SECRET_PREFIX)
    text = raw.replace("+", "-").replace("/", "_").rstrip("=")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return raw.encode()  # not base64 at all (never made by Mailer): the text itself


def body_bytes(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes posted (and signed): compact JSON, keys sorted, ASCII only."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("ascii")


def signed_headers(
    secret: str, event_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The signature headers of one attempt: Standard Webhooks' three and the deprecated
    Mailer-Signature, stamped now unless ``timestamp`` is given."""
    stamp = int(time.time()) if timestamp is None else int(timestamp)
    when = datetime.fromtimestamp(stamp, UTC)
    standard = Webhook(signing_key(secret)).sign(event_id, when, body.decode("ascii"))
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": standard,
        SIGNATURE_HEADER: signature_header(secret, body, stamp),
    }


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of "<timestamp>.<body>" under ``secret`` (Mailer-Signature)."""
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
