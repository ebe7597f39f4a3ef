"""Amazon SES feedback: event publishing (``eventType``) and identity notifications
(``notificationType``), delivered by SNS to the webhook or read from SQS, SNS-wrapped or raw.

Both formats share the ``mail`` object (``messageId`` is the id SendEmail returned, which the
send row stores); event publishing adds ``mail.tags`` (our EmailTags: the send token). Bounce
types: Permanent is a hard bounce, Transient and Undetermined are soft. SES gives events no id,
so one is derived from what identifies the report (feedback id, event time, recipient): the
same event delivered twice, by the webhook and by SQS, or replayed, gets the same id.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mailer.engine.feedback import sns
from mailer.engine.feedback.base import (
    ChannelConfig,
    FeedbackEvent,
    Incoming,
    Malformed,
    compact,
    digest,
    from_iso,
    text,
    token_of,
)
from mailer.models import EventType

NAME = "ses"
VALIDATION_TEXT = "Successfully validated SNS topic for Amazon SES event publishing."
_UNSUBSCRIBE_TOKEN = re.compile(r"/u/([A-Za-z0-9._-]{3,64})>?")


def verify(incoming: Incoming, config: ChannelConfig) -> dict:
    return sns.verify(incoming, config)


def parse(doc: Any) -> list[FeedbackEvent]:
    """Events of one stored payload: an SNS envelope (webhook, SQS) or a raw SES event (SQS
    with raw message delivery). Confirmations carry no events (the job confirms them)."""
    kind, inner = sns.unwrap(doc)
    if kind is not None and kind != "Notification":
        return []
    if isinstance(inner, str):
        if inner.strip() == VALIDATION_TEXT:
            return []
        try:
            inner = json.loads(inner)
        except ValueError:
            raise Malformed("SNS Message is not an SES event (not JSON)") from None
    if not isinstance(inner, dict):
        raise Malformed("an SES event is a JSON object")
    return ses_events(inner)


def ses_events(event: dict) -> list[FeedbackEvent]:
    name = event.get("eventType") or event.get("notificationType")
    mail = event.get("mail") if isinstance(event.get("mail"), dict) else {}
    mid = mail.get("messageId")
    if not name or not mid:
        raise Malformed("an SES event names its type and its mail.messageId")
    token = _token(mail)
    destination = [d for d in mail.get("destination") or [] if isinstance(d, str)]

    def make(kind: str | None, email: str | None, when: Any, *extra: Any, **data: Any):
        return FeedbackEvent(
            provider=NAME,
            kind=kind,
            event_id=digest(mid, name, when, email, *extra),
            occurred_at=from_iso(when),
            email=email,
            message_ids=(mid,),
            token=token,
            data=compact({"ses_type": name, **data}),
        )

    if name == "Bounce":
        b = _obj(event, "bounce")
        bounce_type = b.get("bounceType")
        hard = bounce_type == "Permanent"
        out = []
        for r in _list(b, "bouncedRecipients"):
            e = make(
                EventType.BOUNCE.value,
                r.get("emailAddress"),
                b.get("timestamp"),
                b.get("feedbackId"),
                ses_bounce=text(f"{bounce_type}/{b.get('bounceSubType')}", 100),
                status=text(r.get("status"), 20),
                detail=text(r.get("diagnosticCode")),
            )
            e.bounce = "hard" if hard else "soft"
            out.append(e)
        return out
    if name == "Complaint":
        c = _obj(event, "complaint")
        return [
            make(
                EventType.COMPLAINT.value,
                r.get("emailAddress"),
                c.get("timestamp"),
                c.get("feedbackId"),
                feedback_type=text(c.get("complaintFeedbackType"), 50),
                subtype=text(c.get("complaintSubType"), 50),
                ua=text(c.get("userAgent"), 255),
            )
            for r in _list(c, "complainedRecipients")
        ]
    if name == "Delivery":
        d = _obj(event, "delivery")
        return [
            make(
                EventType.DELIVERY.value,
                r,
                d.get("timestamp"),
                detail=text(d.get("smtpResponse")),
            )
            for r in d.get("recipients") or []
            if isinstance(r, str)
        ]
    if name == "DeliveryDelay":
        d = _obj(event, "deliveryDelay")
        return [
            make(
                EventType.DEFERRED.value,
                r.get("emailAddress"),
                d.get("timestamp"),
                delay_type=text(d.get("delayType"), 50),
                status=text(r.get("status"), 20),
                detail=text(r.get("diagnosticCode")),
            )
            for r in _list(d, "delayedRecipients")
        ]
    if name == "Reject":
        r = _obj(event, "reject")
        return [
            make(
                EventType.REJECT.value,
                to,
                mail.get("timestamp"),
                detail=text(f"SES rejected it: {r.get('reason') or 'no reason given'}"),
            )
            for to in destination
        ]
    if name == "Rendering Failure":
        f = _obj(event, "failure")
        return [
            make(
                EventType.REJECT.value,
                to,
                mail.get("timestamp"),
                detail=text(f"SES could not render it: {f.get('errorMessage') or 'no reason'}"),
                template=text(f.get("templateName"), 200),
            )
            for to in destination
        ]
    if name in ("Open", "Click"):
        o = _obj(event, name.lower())
        kind = EventType.OPEN.value if name == "Open" else EventType.CLICK.value
        return [
            make(
                kind,
                to,
                o.get("timestamp"),
                o.get("link"),
                url=text(o.get("link"), 2000),
                ua=text(o.get("userAgent"), 255),
                ip=text(o.get("ipAddress"), 64),
            )
            for to in destination[:1]  # SES does not say which recipient: we send to one
        ]
    # Send, Subscription and types SES may add later change nothing here.
    return [make(None, to, mail.get("timestamp")) for to in destination[:1]]


def _obj(event: dict, name: str) -> dict:
    value = event.get(name)
    if not isinstance(value, dict):
        raise Malformed(
            f"an SES {event.get('eventType') or event.get('notificationType')} "
            f"event has a '{name}' object"
        )
    return value


def _list(obj: dict, name: str) -> list[dict]:
    return [r for r in obj.get(name) or [] if isinstance(r, dict)]


def _token(mail: dict) -> str | None:
    """The send token: our EmailTags (event publishing), else the List-Unsubscribe header
    (identity notifications with original headers included)."""
    tags = mail.get("tags")
    if isinstance(tags, dict):
        values = tags.get("token")
        if isinstance(values, list) and values:
            return token_of(values[0])
    for header in mail.get("headers") or []:
        if isinstance(header, dict) and str(header.get("name", "")).lower() == "list-unsubscribe":
            found = _UNSUBSCRIBE_TOKEN.search(str(header.get("value", "")))
            if found:
                return found.group(1)
    return None
