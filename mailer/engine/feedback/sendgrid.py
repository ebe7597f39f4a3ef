"""Twilio SendGrid Event Webhook: ECDSA-signed JSON arrays of events.

``verify`` checks the request's signature and freshness; ``parse`` turns each event into a
:class:`FeedbackEvent`.
"""

from __future__ import annotations

import base64
import binascii
import functools
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mailer.engine.feedback.base import (
    ChannelConfig,
    FeedbackEvent,
    Incoming,
    Malformed,
    Rejected,
    check_age,
    compact,
    digest,
    first_use,
    from_epoch,
    text,
    token_of,
)
from mailer.models import EventType, SuppressionReason

NAME = "sendgrid"
KEY_SETTING = "webhook_public_key"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

SIMPLE = {
    "delivered": EventType.DELIVERY.value,
    "deferred": EventType.DEFERRED.value,
    "spamreport": EventType.COMPLAINT.value,
    "unsubscribe": EventType.UNSUBSCRIBE.value,
    "group_unsubscribe": EventType.UNSUBSCRIBE.value,
    "open": EventType.OPEN.value,
    "click": EventType.CLICK.value,
}
# A dropped message names why SendGrid would not send it; some reasons mean the address is bad.
DROPPED = {
    "bounced address": SuppressionReason.HARD_BOUNCE.value,
    "invalid": SuppressionReason.HARD_BOUNCE.value,
    "spam reporting address": SuppressionReason.COMPLAINT.value,
    "unsubscribed address": SuppressionReason.UNSUBSCRIBED.value,
}


@functools.lru_cache(maxsize=64)
def _public_key(value: str) -> ec.EllipticCurvePublicKey:
    value = value.strip()
    if value.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(value.encode())
    else:
        key = serialization.load_der_public_key(base64.b64decode("".join(value.split())))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("not an elliptic curve key")
    return key


def verify(incoming: Incoming, config: ChannelConfig, *, now: float | None = None) -> dict:
    """With "Signed Event Webhook Requests" on, SendGrid signs ``timestamp + raw body`` with
    ECDSA P-256 / SHA-256 and sends the base64 DER signature in ``SIGNATURE_HEADER`` and the
    timestamp in ``TIMESTAMP_HEADER``; the verification key (base64 DER SubjectPublicKeyInfo,
    shown in SendGrid's Mail Settings) is configured on the channel. A timestamp more than
    ``MAILER_FEEDBACK_SIGNATURE_MAX_AGE`` from now is refused, and so is a signature seen
    before (a captured request replayed while its timestamp is still fresh)."""
    configured = config.get(KEY_SETTING)
    if not configured:
        raise Rejected("no Event Webhook verification key configured on the channel")
    signature = incoming.headers.get(SIGNATURE_HEADER)
    stamp = incoming.headers.get(TIMESTAMP_HEADER)
    if not signature or not stamp:
        raise Rejected("signature headers missing")
    try:
        key = _public_key(configured)
    except (ValueError, binascii.Error, UnsupportedAlgorithm):
        raise Rejected("the configured verification key is not a valid EC public key") from None
    check_age(stamp, now)
    try:
        der = base64.b64decode(signature, validate=True)
        key.verify(der, stamp.encode() + incoming.raw, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, ValueError, InvalidSignature):
        raise Rejected("signature does not verify") from None
    if not isinstance(incoming.doc, list):
        raise Malformed("the Event Webhook posts a JSON array")
    # ECDSA signatures are randomised: a retry of SendGrid's is signed anew, a replay is not.
    return {"events": len(incoming.doc), "replay_key": first_use(config.channel_id, NAME, der)}


def message_ids(sg_message_id: Any) -> tuple[str, ...]:
    """The stored X-Message-Id is a prefix of sg_message_id."""
    if not isinstance(sg_message_id, str) or not sg_message_id:
        return ()
    out = [sg_message_id]
    for marker in (".filter", ".recvd", ".ismtpd"):
        if marker in sg_message_id:
            out.append(sg_message_id.split(marker, 1)[0])
    out.append(sg_message_id.split(".", 1)[0])
    return tuple(dict.fromkeys(out))


def parse(doc: Any) -> list[FeedbackEvent]:
    """Events carry our ``custom_args`` at the top level (the send token), ``sg_event_id``
    (unique, the idempotency key) and ``sg_message_id``: the ``X-Message-Id`` the send stored,
    followed by ".filter…"/".recvd…" and more."""
    if not isinstance(doc, list):
        raise Malformed("the Event Webhook posts a JSON array")
    return [_event(e) for e in doc if isinstance(e, dict)]


def _event(e: dict) -> FeedbackEvent:
    name = str(e.get("event") or "")
    kind: str | None = SIMPLE.get(name)
    bounce = suppress = None
    if name == "bounce":
        kind = EventType.BOUNCE.value
        # "blocked" (the receiver refused for now, e.g. reputation) is soft; "bounce" is hard.
        bounce = "soft" if str(e.get("type") or "").lower() == "blocked" else "hard"
    elif name == "dropped":
        kind = EventType.REJECT.value
        suppress = DROPPED.get(str(e.get("reason") or "").strip().lower())
    ua = text(e.get("useragent"), 255)
    return FeedbackEvent(
        provider=NAME,
        kind=kind,
        event_id=str(
            e.get("sg_event_id")
            or digest(
                e.get("sg_message_id"), name, e.get("timestamp"), e.get("email"), e.get("url")
            )
        ),
        occurred_at=from_epoch(e.get("timestamp")),
        email=e.get("email") if isinstance(e.get("email"), str) else None,
        message_ids=message_ids(e.get("sg_message_id")),
        token=token_of(e.get("token")),
        bounce=bounce,
        suppress=suppress,
        data=compact(
            {
                "sg_event": name,
                "bounce_class": text(e.get("bounce_classification"), 50),
                "status": text(e.get("status"), 20),
                "detail": text(e.get("reason") or e.get("response")),
                "attempt": text(e.get("attempt"), 10),
                "url": text(e.get("url"), 2000),
                "ua": ua,
                "ip": text(e.get("ip"), 64),
            }
        ),
    )
