"""Mailjet event API: one event object per request, or an array with "group events" on.

Mailjet does not sign callbacks; the URL carries basic-auth credentials
(``https://user:password@host/webhooks/mailjet/<token>``) that must match the channel's.
Events carry ``MessageID``, the numeric id the send stores (sends made before stored
``Message_GUID``, the MessageUUID: matched too), and ``Payload``, the EventPayload JSON holding
our tags (the send token). A bounce says ``hard_bounce``; ``blocked`` means Mailjet did not
even try, and its ``error`` says why.
"""

from __future__ import annotations

from typing import Any

from mailer.engine.feedback import auth
from mailer.engine.feedback.base import (
    ChannelConfig,
    FeedbackEvent,
    Incoming,
    compact,
    digest,
    event_objects,
    from_epoch,
    json_object,
    text,
    token_of,
)
from mailer.models import EventType, SuppressionReason

NAME = "mailjet"
SIMPLE = {
    "sent": EventType.DELIVERY.value,  # accepted by the receiving server
    "open": EventType.OPEN.value,
    "click": EventType.CLICK.value,
    "spam": EventType.COMPLAINT.value,
    "unsub": EventType.UNSUBSCRIBE.value,
}
# ``blocked`` errors that mean the address itself is bad.
BLOCKED = {
    "preblocked": SuppressionReason.HARD_BOUNCE.value,
    "spam reporter": SuppressionReason.COMPLAINT.value,
}


def verify(incoming: Incoming, config: ChannelConfig) -> dict:
    auth.check(incoming.headers, config)
    event_objects(incoming.doc, "Mailjet")
    return {}


def parse(doc: Any) -> list[FeedbackEvent]:
    return [_event(e) for e in event_objects(doc, "Mailjet")]


def _event(e: dict) -> FeedbackEvent:
    name = str(e.get("event") or "")
    kind: str | None = SIMPLE.get(name)
    bounce = suppress = None
    error = str(e.get("error") or "").strip().lower()
    if name == "bounce":
        if error == "greylisted" and not e.get("hard_bounce"):
            kind = EventType.DEFERRED.value  # Mailjet tries again
        else:
            kind = EventType.BOUNCE.value
            bounce = "hard" if e.get("hard_bounce") else "soft"
    elif name == "blocked":
        kind = EventType.REJECT.value
        suppress = BLOCKED.get(error)
    ids = tuple(str(v) for v in (e.get("Message_GUID"), e.get("MessageID")) if v not in (None, ""))
    return FeedbackEvent(
        provider=NAME,
        kind=kind,
        event_id=digest(e.get("MessageID"), name, e.get("time"), e.get("email"), e.get("url")),
        occurred_at=from_epoch(e.get("time")),
        email=e.get("email") if isinstance(e.get("email"), str) else None,
        message_ids=ids,
        token=token_of(json_object(e.get("Payload")).get("token")),
        bounce=bounce,
        suppress=suppress,
        data=compact(
            {
                "mj_event": name,
                "error": text(error, 100),
                "related_to": text(e.get("error_related_to"), 50),
                "detail": text(e.get("comment") or e.get("smtp_reply")),
                "source": text(e.get("source"), 50),
                "url": text(e.get("url"), 2000),
                "ua": text(e.get("agent"), 255),
                "ip": text(e.get("ip"), 64),
            }
        ),
    )
