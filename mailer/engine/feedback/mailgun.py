"""Mailgun webhooks: one JSON event per request, ``{"signature": {...}, "event-data": {...}}``.

``verify`` checks the request's HMAC signature and freshness; ``parse`` turns the event into a
:class:`FeedbackEvent`.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from mailer.engine.feedback.base import (
    ChannelConfig,
    FeedbackEvent,
    Incoming,
    Malformed,
    Rejected,
    bracket_variants,
    check_age,
    compact,
    digest,
    first_use,
    from_epoch,
    text,
    token_of,
)
from mailer.models import EventType, SuppressionReason

NAME = "mailgun"
KEY_SETTING = "webhook_signing_key"

SIMPLE = {
    "delivered": EventType.DELIVERY.value,
    "complained": EventType.COMPLAINT.value,
    "unsubscribed": EventType.UNSUBSCRIBE.value,
    "opened": EventType.OPEN.value,
    "clicked": EventType.CLICK.value,
    "rejected": EventType.REJECT.value,
}
SUPPRESSED = {
    "suppress-bounce": SuppressionReason.HARD_BOUNCE.value,
    "suppress-complaint": SuppressionReason.COMPLAINT.value,
    "suppress-unsubscribe": SuppressionReason.UNSUBSCRIBED.value,
}


def signature_of(key: str, timestamp: str, token: str) -> str:
    return hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()


def verify(incoming: Incoming, config: ChannelConfig, *, now: float | None = None) -> dict:
    """The signature is HMAC-SHA256 of ``timestamp + token`` with the domain's HTTP webhook
    signing key (configured on the channel), in hex. A timestamp more than
    ``MAILER_FEEDBACK_SIGNATURE_MAX_AGE`` away from now is refused, and so is a token seen
    before (kept in Redis for twice that long): a captured request can not be replayed."""
    doc = incoming.doc
    if not isinstance(doc, dict) or not isinstance(doc.get("event-data"), dict):
        raise Malformed("a Mailgun webhook posts {signature, event-data}")
    block = doc.get("signature")
    if not isinstance(block, dict):
        raise Rejected("no signature block")
    key = config.get(KEY_SETTING)
    if not key:
        raise Rejected("no webhook signing key configured on the channel")
    timestamp, token, signature = (
        str(block.get(k) or "") for k in ("timestamp", "token", "signature")
    )
    if not (timestamp and token and signature) or len(token) > 200:
        raise Rejected("incomplete signature block")
    if not hmac.compare_digest(signature_of(key, timestamp, token), signature.lower()):
        raise Rejected("signature does not verify")
    check_age(timestamp, now)
    return {"replay_key": first_use(config.channel_id, NAME, token)}


def parse(doc: Any) -> list[FeedbackEvent]:
    """``event-data.user-variables`` holds our ``v:`` variables (the send token);
    ``message.headers.message-id`` the id the send stored (without the angle brackets Mailgun's
    send API answered with). ``failed`` with severity "temporary" is a deferral (Mailgun
    retries); "permanent" is a bounce, hard unless the delivery status says soft or Mailgun
    gave up retrying ("old"); a "suppress-*" reason means the address is on Mailgun's own
    suppression lists."""
    if not isinstance(doc, dict) or not isinstance(doc.get("event-data"), dict):
        raise Malformed("a Mailgun webhook posts {signature, event-data}")
    e = doc["event-data"]
    name = str(e.get("event") or "")
    kind: str | None = SIMPLE.get(name)
    bounce = suppress = None
    status = e.get("delivery-status") if isinstance(e.get("delivery-status"), dict) else {}
    reason = str(e.get("reason") or "")
    if name == "failed":
        if e.get("severity") == "temporary":
            kind = EventType.DEFERRED.value
        elif reason in SUPPRESSED:
            kind, suppress = EventType.REJECT.value, SUPPRESSED[reason]
        elif reason == "esp-block":
            kind = EventType.REJECT.value
        else:
            kind = EventType.BOUNCE.value
            bounce = _bounce_type(status, reason)
    message = e.get("message") if isinstance(e.get("message"), dict) else {}
    headers = message.get("headers") if isinstance(message.get("headers"), dict) else {}
    variables = e.get("user-variables") if isinstance(e.get("user-variables"), dict) else {}
    client = e.get("client-info") if isinstance(e.get("client-info"), dict) else {}
    return [
        FeedbackEvent(
            provider=NAME,
            kind=kind,
            # event-data.id is unique "within a day": with the event time it is unique.
            event_id=digest(e.get("id"), e.get("timestamp"), name, e.get("recipient")),
            occurred_at=from_epoch(e.get("timestamp")),
            email=e.get("recipient") if isinstance(e.get("recipient"), str) else None,
            message_ids=bracket_variants(headers.get("message-id")),
            token=token_of(variables.get("token")),
            bounce=bounce,
            suppress=suppress,
            data=compact(
                {
                    "mg_event": name,
                    "severity": text(e.get("severity"), 20),
                    "reason": text(reason, 50),
                    "status": text(status.get("code"), 10),
                    "detail": text(status.get("description") or status.get("message")),
                    "url": text(e.get("url"), 2000),
                    "ua": text(client.get("user-agent"), 255),
                    "ip": text(e.get("ip"), 64),
                }
            ),
        )
    ]


def _bounce_type(status: dict, reason: str) -> str:
    declared = str(status.get("bounce-type") or "").lower()
    if declared in ("hard", "soft"):
        return declared
    if reason == "old":  # Mailgun stopped retrying a temporary failure
        return "soft"
    code = str(status.get("code") or "")
    return "soft" if code.startswith("4") else "hard"
