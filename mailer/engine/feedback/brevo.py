"""Brevo transactional webhooks: one event object per request (an array when batched).

Brevo does not sign webhooks; the webhook is created with a bearer token or basic-auth
credentials, which must match the channel's. Events carry ``message-id`` (the messageId the
send stored, in angle brackets) and ``X-Mailin-custom``, the header our sends set with the tags
(the send token). ``ts_epoch`` (milliseconds) is the only timestamp reliably in UTC.
"""

from __future__ import annotations

from typing import Any

from mailer.engine.feedback import auth
from mailer.engine.feedback.base import (
    ChannelConfig,
    FeedbackEvent,
    Incoming,
    bracket_variants,
    compact,
    digest,
    event_objects,
    from_epoch,
    json_object,
    text,
    token_of,
)
from mailer.models import EventType

NAME = "brevo"
SIMPLE = {
    "delivered": EventType.DELIVERY.value,
    "deferred": EventType.DEFERRED.value,
    "spam": EventType.COMPLAINT.value,
    "complaint": EventType.COMPLAINT.value,
    "blocked": EventType.REJECT.value,
    "error": EventType.REJECT.value,
    "opened": EventType.OPEN.value,
    "unique_opened": EventType.OPEN.value,
    "proxy_open": EventType.OPEN.value,
    "unique_proxy_open": EventType.OPEN.value,
    "click": EventType.CLICK.value,
    "unsubscribed": EventType.UNSUBSCRIBE.value,
    "unsubscribe": EventType.UNSUBSCRIBE.value,
}
BOUNCES = {"hard_bounce": "hard", "invalid_email": "hard", "soft_bounce": "soft"}
# Brevo reports a first open twice ("opened" and "unique_opened"): one event id for both.
SAME_AS = {"unique_opened": "opened", "unique_proxy_open": "proxy_open"}


def verify(incoming: Incoming, config: ChannelConfig) -> dict:
    auth.check(incoming.headers, config, bearer=True)
    event_objects(incoming.doc, "Brevo")
    return {}


def parse(doc: Any) -> list[FeedbackEvent]:
    return [_event(e) for e in event_objects(doc, "Brevo")]


def _event(e: dict) -> FeedbackEvent:
    name = str(e.get("event") or "")
    kind: str | None = SIMPLE.get(name)
    bounce = BOUNCES.get(name)
    if bounce:
        kind = EventType.BOUNCE.value
    when = e.get("ts_epoch") if e.get("ts_epoch") is not None else e.get("ts_event", e.get("ts"))
    return FeedbackEvent(
        provider=NAME,
        kind=kind,
        event_id=digest(
            e.get("message-id"), SAME_AS.get(name, name), when, e.get("email"), e.get("link")
        ),
        occurred_at=from_epoch(when),
        email=e.get("email") if isinstance(e.get("email"), str) else None,
        message_ids=bracket_variants(e.get("message-id")),
        token=token_of(json_object(e.get("X-Mailin-custom")).get("token")),
        bounce=bounce,
        machine=name in ("proxy_open", "unique_proxy_open"),
        data=compact(
            {
                "brevo_event": name,
                "detail": text(e.get("reason")),
                "url": text(e.get("link"), 2000),
                "ua": text(e.get("user_agent"), 255),
                "sending_ip": text(e.get("sending_ip"), 64),
            }
        ),
    )
